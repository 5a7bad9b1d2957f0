/**
 * Every directory format, written here on the patterns of each tool's documentation: detected, loaded into the one
 * Migration model, then applied, rolled back, verified and baselined on PGlite and PostgreSQL 15. Migrations that
 * the format marks as outside a transaction run CREATE INDEX CONCURRENTLY, which PostgreSQL refuses in a
 * transaction block: they pass only if the format's rule reached the runner.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, describe, test } from "node:test";
import { detectFormat, loadMigrations, type MigrationFormat, Migrator, verifyMigrations } from "../src/mod.ts";
import { engines, type TestDatabase } from "./helpers/engines.ts";
import { tree } from "./helpers/tree.ts";


interface FormatCase {
  format: MigrationFormat;
  files: Record<string, string>;
  /** Versions in order, and which run outside a transaction. */
  versions: string[];
  noTransaction: string[];
  /** Versions without a down (cannot be rolled back). */
  irreversible?: string[];
}

const CREATE_A = "CREATE TABLE a (id int PRIMARY KEY, name text);\n";
const FN = "CREATE OR REPLACE FUNCTION answer() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 42; END; $$;\n";

const CASES: FormatCase[] = [
  {
    format: "golang-migrate",
    files: {
      "1_create_a.up.sql": CREATE_A,
      "1_create_a.down.sql": "DROP TABLE a;\n",
      "2_nothing.up.sql": "-- a no-op, as golang-migrate allows\n",
      "2_nothing.down.sql": "",
      "3_index.up.sql": "-- orchwf:no-transaction\nCREATE INDEX CONCURRENTLY a_name ON a (name);\n",
      "3_index.down.sql": "-- orchwf:no-transaction\nDROP INDEX CONCURRENTLY a_name;\n",
      "R__answer.sql": FN,
      "README.md": "not a migration\n",
    },
    versions: ["1", "2", "3", "R__answer"],
    noTransaction: ["3"],
  },
  {
    format: "dbmate",
    files: {
      "20240101000000_create_a.sql": `-- migrate:up\n${CREATE_A}\n-- migrate:down\nDROP TABLE a;\n`,
      "20240102000000_index.sql":
        "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY a_name ON a (name);\n\n-- migrate:down transaction:false\nDROP INDEX CONCURRENTLY a_name;\n",
      "20240103000000_nothing.sql": "-- migrate:up\n\n-- migrate:down\n",
    },
    versions: ["20240101000000", "20240102000000", "20240103000000"],
    noTransaction: ["20240102000000"],
  },
  {
    format: "goose",
    files: {
      "00001_create_a.sql":
        `-- +goose Up\n${CREATE_A}-- +goose StatementBegin\n${FN}-- +goose StatementEnd\n\n-- +goose Down\nDROP FUNCTION answer();\nDROP TABLE a;\n`,
      "00002_index.sql": "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY a_name ON a (name);\n\n-- +goose Down\nDROP INDEX CONCURRENTLY a_name;\n",
      "00003_seed.sql": "-- +goose Up\nINSERT INTO a VALUES (1, 'one');\n",
    },
    versions: ["00001", "00002", "00003"],
    noTransaction: ["00002"],
    irreversible: ["00003"],
  },
  {
    format: "flyway",
    files: {
      "V1__create_a.sql": CREATE_A,
      "U1__create_a.sql": "DROP TABLE a;\n",
      "more/V1_1__add_b.sql": "ALTER TABLE a ADD COLUMN b int;\n",
      "more/U1_1__add_b.sql": "ALTER TABLE a DROP COLUMN b;\n",
      "V2__index.sql": "CREATE INDEX CONCURRENTLY a_name ON a (name);\n",
      "U2__index.sql": "DROP INDEX CONCURRENTLY a_name;\n",
      "R__answer.sql": FN,
    },
    versions: ["1", "1.1", "2", "R__answer"],
    noTransaction: ["2"],
  },
  {
    format: "diesel",
    files: {
      "00000000000000_diesel_initial_setup/up.sql": FN,
      "00000000000000_diesel_initial_setup/down.sql": "DROP FUNCTION answer();\n",
      "2019-02-26-002946_create_a/up.sql": CREATE_A,
      "2019-02-26-002946_create_a/down.sql": "DROP TABLE a;\n",
      "2019-02-27-000000_index/up.sql": "CREATE INDEX CONCURRENTLY a_name ON a (name);\n",
      "2019-02-27-000000_index/down.sql": "DROP INDEX CONCURRENTLY a_name;\n",
      "2019-02-27-000000_index/metadata.toml": "# no transaction: CONCURRENTLY\nrun_in_transaction = false\n",
      ".keep": "",
    },
    versions: ["00000000000000", "20190226002946", "20190227000000"],
    noTransaction: ["20190227000000"],
  },
  {
    format: "sqlx",
    files: {
      "20240101000000_create_a.sql": CREATE_A,
      "20240102000000_index.sql": "-- no-transaction\nCREATE INDEX CONCURRENTLY a_name ON a (name);\n",
    },
    versions: ["20240101000000", "20240102000000"],
    noTransaction: ["20240102000000"],
    irreversible: ["20240101000000", "20240102000000"],
  },
  {
    format: "node-pg-migrate",
    files: {
      "1700000000000_create-a.sql": `-- Up Migration\n${CREATE_A}\n-- Down Migration\nDROP TABLE a;\n`,
      "1700000000001_add-index.sql": "-- Up Migration\nCREATE INDEX a_name ON a (name);\n-- Down Migration\nDROP INDEX a_name;\n",
    },
    versions: ["1700000000000", "1700000000001"],
    noTransaction: [],
  },
];

describe("formats: detection and the Migration model", () => {
  for (const c of CASES) {
    test(`${c.format}: detected, versions in order, transaction rules`, async () => {
      const dir = tree(c.files);
      try {
        assert.equal(await detectFormat(dir), c.format);
        const list = await loadMigrations(dir);
        assert.deepEqual(list.map((m) => m.version), c.versions);
        assert.deepEqual(list.filter((m) => m.transaction === false).map((m) => m.version), c.noTransaction);
        const irreversible = list.filter((m) => m.down === undefined && !m.repeatable).map((m) => m.version);
        assert.deepEqual(irreversible, c.irreversible ?? []);
        // Forced, the same.
        assert.deepEqual((await loadMigrations(dir, { format: c.format })).map((m) => m.version), c.versions);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test("sqlx reversible pairs load with --format sqlx (detected as golang-migrate pairs: same files)", async () => {
    const dir = tree({
      "20240101000000_create_a.up.sql": CREATE_A,
      "20240101000000_create_a.down.sql": "DROP TABLE a;\n",
      "20240102000000_index.up.sql": "-- no-transaction\nCREATE INDEX CONCURRENTLY a_name ON a (name);\n",
      "20240102000000_index.down.sql": "DROP INDEX a_name;\n",
    });
    try {
      assert.equal(await detectFormat(dir), "golang-migrate");
      const list = await loadMigrations(dir, { format: "sqlx" });
      assert.deepEqual(list.map((m) => [m.version, m.transaction !== false, m.down !== undefined]), [
        ["20240101000000", true, true],
        ["20240102000000", false, true],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("dbmate and goose split the file at the markers and keep line numbers", async () => {
    const dir = tree({ "1_a.sql": "-- migrate:up\nCREATE TABLE a (id int);\n-- migrate:down\nDROP TABLE a;\n" });
    try {
      const [m] = await loadMigrations(dir);
      assert.equal(m.up, "-- migrate:up\nCREATE TABLE a (id int);\n");
      assert.equal(m.down, "\n\n-- migrate:down\nDROP TABLE a;\n"); // line 4 of the file is line 4 of the script
      assert.equal(m.description, "a");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

for (const engine of engines) {
  describe(`formats on ${engine.name}: up, status, down, baseline, verify`, () => {
    // One database for every case (a fresh PGlite costs seconds): each case starts from an empty public schema.
    let shared: TestDatabase | undefined;
    const fresh = async (): Promise<TestDatabase> => {
      shared ??= await engine.open();
      await shared.query("DROP SCHEMA public CASCADE");
      await shared.query("CREATE SCHEMA public");
      return shared;
    };
    after(() => shared?.close());
    for (const c of CASES) {
      test(c.format, { timeout: 120_000 }, async (t) => {
        if (!(await engine.available())) return t.skip("no PostgreSQL server here");
        const dir = tree(c.files);
        const d = await fresh();
        try {
          const migrations = await loadMigrations(dir);
          const migrator = new Migrator(d.db, { migrations });
          const { applied } = await migrator.migrate();
          assert.deepEqual(applied.map((r) => r.version), c.versions);
          assert.deepEqual(await indexes(d), ["a_name", "a_pkey"]);
          const status = await migrator.status();
          assert.ok(status.migrations.every((m) => m.state === "applied"), JSON.stringify(status.migrations));
          assert.equal(status.current, c.versions.filter((v) => !v.startsWith("R__")).at(-1));
          assert.equal((await migrator.migrate()).applied.length, 0);

          const versioned = c.versions.filter((v) => !v.startsWith("R__"));
          if ((c.irreversible ?? []).includes(versioned.at(-1)!)) {
            // The newest has no down: refused up front, nothing changes.
            await assert.rejects(migrator.rollback(), (e: Error & { code?: string }) => e.code === "MISSING_DOWN");
            assert.deepEqual(await indexes(d), ["a_name", "a_pkey"]);
            return;
          }
          const { rolledBack } = await migrator.rollback({ steps: versioned.length });
          assert.deepEqual(rolledBack.map((r) => r.version), [...versioned].reverse());
          assert.deepEqual(await tables(d), []);
          // Adopting the schema back: baseline records without running.
          await migrator.migrate();
          await d.query(`DELETE FROM orchwf_migrations WHERE version NOT LIKE 'R\\_\\_%'`);
          const { baselined } = await migrator.baseline({ to: versioned.at(-1)! });
          assert.deepEqual(baselined.map((b) => b.version), versioned);
          assert.equal((await migrator.status()).pending, 0);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }

    test("verify proves each format's downs (golang-migrate, dbmate, goose, flyway, diesel)", { timeout: 180_000 }, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      for (const c of CASES.filter((x) => ["golang-migrate", "dbmate", "goose", "flyway", "diesel"].includes(x.format))) {
        const dir = tree(c.files);
        const d = await fresh();
        try {
          const report = await verifyMigrations(await loadMigrations(dir), { db: d.db });
          assert.equal(report.ok, true, c.format);
          const expected = c.versions.map((v) => (v.startsWith("R__") || (c.irreversible ?? []).includes(v) ? "skipped" : "verified"));
          assert.deepEqual(report.migrations.map((m) => m.status), expected, c.format);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    });
  });
}

async function indexes(d: TestDatabase): Promise<string[]> {
  const r = await d.query<{ name: string }>(
    "SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname = 'a' AND i.indisvalid ORDER BY 1",
  );
  return r.map((x) => x.name);
}

async function tables(d: TestDatabase): Promise<string[]> {
  const r = await d.query<{ name: string }>(
    "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'orchwf_migrations' ORDER BY 1",
  );
  return r.map((x) => x.name);
}
