/**
 * lint: every rule on a dangerous statement and on its safe form, tables made in the same migration, what earlier
 * migrations made (varchar widening, a validated NOT NULL check), `-- orchwf:lint-ignore` per file and per
 * statement, and `.orchwf-lint.json` (severities, postgresVersion, since).
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { Migration } from "../src/core/migration.ts";
import { readLintConfig } from "../src/lint/config.ts";
import { lintMigrations, type LintOptions } from "../src/lint/lint.ts";
import { RULES } from "../src/lint/rules.ts";
import { migrationDir } from "./fixtures/spawn-runner.ts";

/** An existing table, made by an earlier migration. */
const BASE: Migration = {
  version: "1",
  description: "base",
  up: "CREATE TABLE users (id bigint PRIMARY KEY, email varchar(100), name text, status text);\nCREATE TYPE mood AS ENUM ('ok');",
};

async function rulesOf(up: string, options: LintOptions & { transaction?: boolean } = {}): Promise<string[]> {
  const m: Migration = { version: "2", description: "x", up, transaction: options.transaction };
  const report = await lintMigrations([BASE, m], { ...options, only: new Set(["2"]) });
  return report.findings.map((f) => f.rule);
}

interface Case {
  rule: string;
  bad: string;
  safe: string;
  transaction?: boolean;
}

const SET = "SET lock_timeout = '5s';\n";

const CASES: Case[] = [
  { rule: "index-not-concurrent", bad: `${SET}CREATE INDEX users_email ON users (email);`, safe: "CREATE INDEX CONCURRENTLY IF NOT EXISTS users_email ON users (email);", transaction: false },
  { rule: "drop-index-not-concurrent", bad: `${SET}DROP INDEX users_email;`, safe: "DROP INDEX CONCURRENTLY IF EXISTS users_email;", transaction: false },
  { rule: "constraint-not-valid", bad: `${SET}ALTER TABLE users ADD CONSTRAINT users_self FOREIGN KEY (id) REFERENCES users (id);`, safe: `${SET}ALTER TABLE users ADD CONSTRAINT users_self FOREIGN KEY (id) REFERENCES users (id) NOT VALID;` },
  { rule: "constraint-not-valid", bad: `${SET}ALTER TABLE users ADD CONSTRAINT c CHECK (id > 0);`, safe: `${SET}ALTER TABLE users ADD CONSTRAINT c CHECK (id > 0) NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT c;` },
  { rule: "add-unique-constraint", bad: `${SET}ALTER TABLE users ADD CONSTRAINT u UNIQUE (email);`, safe: `${SET}ALTER TABLE users ADD CONSTRAINT u UNIQUE USING INDEX users_email_key;` },
  { rule: "set-not-null", bad: `${SET}ALTER TABLE users ALTER COLUMN name SET NOT NULL;`, safe: `${SET}ALTER TABLE users ADD CONSTRAINT nn CHECK (name IS NOT NULL) NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT nn;\nALTER TABLE users ALTER COLUMN name SET NOT NULL;` },
  { rule: "column-type-change", bad: `${SET}ALTER TABLE users ALTER COLUMN id TYPE int;`, safe: `${SET}ALTER TABLE users ALTER COLUMN email TYPE varchar(200);\nALTER TABLE users ALTER COLUMN email TYPE text;` },
  { rule: "add-column-volatile-default", bad: `${SET}ALTER TABLE users ADD COLUMN token uuid DEFAULT gen_random_uuid();`, safe: `${SET}ALTER TABLE users ADD COLUMN created timestamptz DEFAULT now(), ADD COLUMN n int DEFAULT 0;` },
  { rule: "add-column-volatile-default", bad: `${SET}ALTER TABLE users ADD COLUMN seq bigserial;`, safe: `${SET}ALTER TABLE users ADD COLUMN seq bigint;` },
  { rule: "rename-column", bad: `${SET}ALTER TABLE users RENAME COLUMN name TO full_name;`, safe: `${SET}ALTER TABLE users ADD COLUMN full_name text;` },
  { rule: "rename-table", bad: `${SET}ALTER TABLE users RENAME TO people;`, safe: "CREATE VIEW people AS SELECT * FROM users;" },
  { rule: "drop-column", bad: `${SET}ALTER TABLE users DROP COLUMN status;`, safe: "SELECT 1;" },
  { rule: "drop-table", bad: `${SET}DROP TABLE users;`, safe: "CREATE TABLE t (id int);\nDROP TABLE t;" },
  { rule: "drop-cascade", bad: "DROP VIEW IF EXISTS v CASCADE;", safe: "DROP VIEW IF EXISTS v;" },
  { rule: "truncate", bad: `${SET}TRUNCATE users;`, safe: "CREATE TABLE t (id int);\nTRUNCATE t;" },
  { rule: "enum-value-in-transaction", bad: "ALTER TYPE mood ADD VALUE 'sad';\nUPDATE users SET status = 'sad';\nSELECT 'sad'::mood;", safe: "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'sad';" },
  { rule: "require-lock-timeout", bad: "ALTER TABLE users ADD COLUMN note text;", safe: "SET lock_timeout = '5s';\nALTER TABLE users ADD COLUMN note text;" },
  { rule: "no-transaction-not-idempotent", bad: "CREATE INDEX CONCURRENTLY a ON users (email);\nCREATE INDEX CONCURRENTLY b ON users (name);", safe: "CREATE INDEX CONCURRENTLY IF NOT EXISTS a ON users (email);\nCREATE INDEX CONCURRENTLY IF NOT EXISTS b ON users (name);", transaction: false },
  { rule: "table-rewrite", bad: "VACUUM FULL users;", safe: "VACUUM users;", transaction: false },
  { rule: "suggest-check", bad: "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email ON users (email);", safe: "-- orchwf:check NOT EXISTS (SELECT email FROM users GROUP BY email HAVING count(*) > 1)\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email ON users (email);", transaction: false },
  { rule: "suggest-check", bad: `${SET}ALTER TABLE users ADD CONSTRAINT nn CHECK (name IS NOT NULL) NOT VALID;\nALTER TABLE users ALTER COLUMN name SET NOT NULL;`, safe: `${SET}ALTER TABLE users ADD CONSTRAINT nn CHECK (name IS NOT NULL) NOT VALID;\nALTER TABLE users VALIDATE CONSTRAINT nn;\nALTER TABLE users ALTER COLUMN name SET NOT NULL;` },
];

describe("lint rules: the dangerous form is found, the safe form is not", () => {
  for (const c of CASES) {
    test(`${c.rule}: ${c.bad.replace(SET, "").split("\n")[0]}`, async () => {
      assert.ok((await rulesOf(c.bad, { transaction: c.transaction })).includes(c.rule), `expected ${c.rule}`);
      assert.deepEqual(await rulesOf(c.safe, { transaction: c.transaction }), []);
    });
  }

  test("every rule has a case here, a reason and a safe way", () => {
    for (const rule of RULES) {
      assert.ok(CASES.some((c) => c.rule === rule.id), `no case for ${rule.id}`);
      assert.ok(rule.why.length > 20 && rule.safe.length > 20, rule.id);
    }
  });
});

describe("what lint knows about tables", () => {
  test("a table made earlier in the same migration is new: index, constraints, renames on it are fine", async () => {
    const up = "CREATE TABLE orders (id int, user_id bigint, total numeric(10,2));\n" +
      "CREATE INDEX orders_user ON orders (user_id);\n" +
      "ALTER TABLE orders ADD CONSTRAINT orders_user_fk FOREIGN KEY (user_id) REFERENCES users (id);\n" +
      "ALTER TABLE orders ALTER COLUMN id SET NOT NULL, ALTER COLUMN total TYPE numeric(12,2);\n" +
      "ALTER TABLE orders RENAME COLUMN total TO amount;";
    assert.deepEqual(await rulesOf(up), []);
  });

  test("the same statements on a table of an earlier migration are findings", async () => {
    const up = `${SET}CREATE INDEX users_name ON users (name);\nALTER TABLE users ALTER COLUMN id TYPE numeric;`;
    assert.deepEqual(await rulesOf(up), ["index-not-concurrent", "column-type-change"]);
  });

  test("a NOT NULL check validated in an earlier migration makes SET NOT NULL safe", async () => {
    const migrations: Migration[] = [
      BASE,
      { version: "2", description: "check", up: `${SET}ALTER TABLE users ADD CONSTRAINT nn CHECK (email IS NOT NULL) NOT VALID;` },
      { version: "3", description: "validate", up: "ALTER TABLE users VALIDATE CONSTRAINT nn;" },
      { version: "4", description: "set", up: `${SET}ALTER TABLE users ALTER COLUMN email SET NOT NULL;` },
    ];
    assert.deepEqual((await lintMigrations(migrations, { only: new Set(["4"]) })).findings, []);
    const unvalidated = migrations.filter((m) => m.version !== "3");
    assert.deepEqual((await lintMigrations(unvalidated, { only: new Set(["4"]) })).findings.map((f) => f.rule), ["set-not-null", "suggest-check"]);
  });

  test("before PostgreSQL 11 any default rewrites; before 12 ADD VALUE cannot run in a transaction", async () => {
    assert.deepEqual(await rulesOf(`${SET}ALTER TABLE users ADD COLUMN n int DEFAULT 0;`, { postgresVersion: 10 }), ["add-column-volatile-default"]);
    assert.deepEqual(await rulesOf("ALTER TYPE mood ADD VALUE 'sad';", { postgresVersion: 11 }), ["enum-value-in-transaction"]);
    assert.deepEqual(await rulesOf("ALTER TYPE mood ADD VALUE 'sad';", { postgresVersion: 11, transaction: false }), []);
  });
});

describe("suggest-check: a note, never an error", () => {
  test("SET NOT NULL and a new unique index without a check get a note with the check to add", async () => {
    const up = `${SET}-- orchwf:lint-ignore set-not-null, add-unique-constraint\nALTER TABLE users ALTER COLUMN name SET NOT NULL, ADD CONSTRAINT u UNIQUE (email, status);`;
    const report = await lintMigrations([BASE, { version: "2", description: "x", up }], { only: new Set(["2"]) });
    assert.deepEqual(report.findings.map((f) => `${f.rule} ${f.severity}`), ["suggest-check note", "suggest-check note"]);
    assert.equal(report.errors, 0);
    assert.equal(report.notes, 2);
    assert.match(report.findings[0].message, /consider -- orchwf:check NOT EXISTS \(SELECT FROM users WHERE name IS NULL\)/);
    assert.match(report.findings[1].message, /consider -- orchwf:check NOT EXISTS \(SELECT email, status FROM users WHERE email IS NOT NULL AND status IS NOT NULL GROUP BY email, status HAVING count\(\*\) > 1\)/);
    const withCheck = await lintMigrations([BASE, { version: "2", description: "x", up, checks: [{ sql: "true" }] }], { only: new Set(["2"]) });
    assert.deepEqual(withCheck.findings, []);
  });
});

describe("suppressing and configuring", () => {
  test("-- orchwf:lint-ignore at the top of the file silences a rule for the whole file", async () => {
    const up = `-- orchwf:lint-ignore drop-column, require-lock-timeout\nALTER TABLE users DROP COLUMN status;\nALTER TABLE users DROP COLUMN name;`;
    assert.deepEqual(await rulesOf(up), []);
  });

  test("-- orchwf:lint-ignore before a statement silences it for that statement only", async () => {
    const up = `${SET}-- status is unused since release 41\n-- orchwf:lint-ignore drop-column\nALTER TABLE users DROP COLUMN status;\nALTER TABLE users DROP COLUMN name;`;
    const report = await lintMigrations([BASE, { version: "2", description: "x", up }], { only: new Set(["2"]) });
    assert.deepEqual(report.findings.map((f) => `${f.rule} ${f.line}:${f.column}`), ["drop-column 5:1"]);
  });

  test(".orchwf-lint.json: severities, off, since; a bad file is refused with its name", async () => {
    const dir = migrationDir({ "001_a.up.sql": "SELECT 1;" });
    writeFileSync(join(dir, ".orchwf-lint.json"), JSON.stringify({ rules: { "drop-column": "warning", "require-lock-timeout": "off" }, since: "3" }));
    const config = await readLintConfig(dir);
    const migrations: Migration[] = [
      BASE,
      { version: "2", description: "old", up: "TRUNCATE users;" },
      { version: "3", description: "new", up: "ALTER TABLE users DROP COLUMN status;" },
    ];
    const report = await lintMigrations(migrations, config);
    assert.deepEqual(report.findings.map((f) => `${f.version} ${f.rule} ${f.severity}`), ["3 drop-column warning"]);
    assert.equal(report.errors, 0);
    writeFileSync(join(dir, ".orchwf-lint.json"), JSON.stringify({ rules: { "drop-colum": "off" } }));
    await assert.rejects(readLintConfig(dir), (err: Error) => err.message.includes(`${join(dir, ".orchwf-lint.json")}: unknown rule "drop-colum"`));
  });

  test("syntax errors and validate's problems are findings too", async () => {
    assert.deepEqual(await rulesOf("SELECT 1;\nCOMMIT;\nCREAT TABLE x ();"), ["syntax-error"]);
    assert.deepEqual(await rulesOf("SELECT 1;\nCOMMIT;"), ["transaction-control"]);
  });
});

describe("no-transaction advice in the directory's own syntax", () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ["goose", { "001_t.sql": "-- +goose Up\nCREATE TABLE t (a int);\n-- +goose Down\nDROP TABLE t;\n", "002_i.sql": "-- +goose Up\nCREATE INDEX CONCURRENTLY t_a ON t (a);\nDROP INDEX t_b;\n-- +goose Down\nSELECT 1;\n" }, /"-- \+goose NO TRANSACTION"/],
    ["dbmate", { "20240101000000_t.sql": "-- migrate:up\nCREATE TABLE t (a int);\n-- migrate:down\nDROP TABLE t;\n", "20240102000000_i.sql": "-- migrate:up\nCREATE INDEX CONCURRENTLY t_a ON t (a);\nDROP INDEX t_b;\n-- migrate:down\nSELECT 1;\n" }, /"-- migrate:up transaction:false"/],
    ["sqlx", { "20240101000000_t.sql": "CREATE TABLE t (a int);\n", "20240102000000_i.sql": "CREATE INDEX CONCURRENTLY t_a ON t (a);\nDROP INDEX t_b;\n" }, /"-- no-transaction" the first line/],
    ["golang-migrate", { "001_t.up.sql": "CREATE TABLE t (a int);\n", "002_i.up.sql": "CREATE INDEX CONCURRENTLY t_a ON t (a);\nDROP INDEX t_b;\n" }, /"-- orchwf:no-transaction" at the top/],
  ];
  for (const [format, files, hint] of cases) {
    test(`${format}: a transactional file with CONCURRENTLY, and DROP INDEX without it, are told how to mark the file`, async () => {
      const { loadMigrations } = await import("../src/sources/load.ts");
      const { tree } = await import("./helpers/tree.ts");
      const dir = tree(files);
      const report = await lintMigrations(await loadMigrations(dir));
      const needs = report.findings.find((f) => f.rule === "needs-no-transaction");
      assert.ok(needs, JSON.stringify(report.findings));
      assert.match(needs.message, hint);
      const drop = report.findings.find((f) => f.rule === "drop-index-not-concurrent");
      assert.ok(drop);
      assert.match(drop.message, hint);
    });
  }
});
