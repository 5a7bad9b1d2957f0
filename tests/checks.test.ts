/**
 * Checks before anything runs, on PGlite and PostgreSQL 15: a syntax error in the last pending migration stops the
 * run before the first one is applied; transaction control hidden behind a CR-only comment end is refused with
 * nothing applied; no-transaction files whose statements a hand lexer split wrongly (BEGIN ATOMIC, a multi-action
 * rule, a `$é$` dollar quote) run statement by statement as PostgreSQL splits them.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadMigrations, MigrationError, Migrator, SqlError } from "../src/mod.ts";
import { engines, type TestDatabase } from "./helpers/engines.ts";
import { migrationDir } from "./fixtures/spawn-runner.ts";

async function tables(d: TestDatabase): Promise<string[]> {
  const rows = await d.query<{ name: string }>("SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1");
  return rows.map((r) => r.name);
}

async function versions(d: TestDatabase): Promise<string[]> {
  const rows = await d.query<{ version: string }>("SELECT version FROM orchwf_migrations ORDER BY version").catch(() => []);
  return rows.map((r) => r.version);
}

for (const engine of engines) {
  describe(`checks before anything runs on ${engine.name}`, () => {
    test("a syntax error in the third pending migration: nothing applied, file:line:column and frame", { timeout: 120_000 }, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const dir = migrationDir({
        "001_a.up.sql": "CREATE TABLE a (id int);\n",
        "002_b.up.sql": "CREATE TABLE b (id int);\n",
        "003_c.up.sql": "CREATE TABLE c (id int);\r\n\r\n  CREAT INDEX c_id ON c (id);\r\n",
      });
      const d = await engine.open();
      try {
        const error = await new Migrator(d.db, { migrations: await loadMigrations(dir) }).migrate().catch((e) => e);
        assert.ok(error instanceof SqlError, String(error));
        assert.equal(error.file, `${dir}/003_c.up.sql`);
        assert.deepEqual([error.line, error.column, error.sqlState], [3, 3, "42601"]);
        assert.match(error.message, /003_c\.up\.sql:3:3: syntax error at or near "CREAT" \(found by parsing every migration before running any: nothing was applied\)/);
        assert.match(error.message, /> 3 \| {3}CREAT INDEX/);
        assert.deepEqual(await tables(d), ["orchwf_migrations"]);
        assert.deepEqual(await versions(d), []);
      } finally {
        await d.close();
      }
    });

    test("COMMIT after a CR-only comment end is refused before running; nothing applied", { timeout: 120_000 }, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const dir = migrationDir({
        "001_a.up.sql": "CREATE TABLE a (id int); -- note\rCOMMIT;\rCREATE TABLE b (id intt);\r",
        "002_p.up.sql": "CREATE TABLE p (id int);\nPREPARE TRANSACTION 'orchwf_x';\n",
      });
      const d = await engine.open();
      try {
        const error = await new Migrator(d.db, { migrations: await loadMigrations(dir) }).migrate().catch((e) => e);
        assert.ok(error instanceof MigrationError && error.code === "INVALID_MIGRATION", String(error));
        assert.match(error.message, /^nothing was applied/);
        assert.match(error.message, /001_a\.up\.sql:2:1: "COMMIT" would end the transaction/);
        assert.match(error.message, /002_p\.up\.sql:2:1: "PREPARE TRANSACTION" would end the transaction/);
        assert.deepEqual(await tables(d), ["orchwf_migrations"]);
        assert.deepEqual(await versions(d), []);
      } finally {
        await d.close();
      }
    });

    test("no-transaction files split as PostgreSQL does: BEGIN ATOMIC, a multi-action rule, $é$", { timeout: 120_000 }, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const dir = migrationDir({
        "001_t.up.sql": "CREATE TABLE t (id int);\nCREATE TABLE log_a (id int);\nCREATE TABLE log_b (id int);\n",
        "002_nt.up.sql": "-- orchwf:no-transaction\r\n" +
          "CREATE FUNCTION two() RETURNS int LANGUAGE sql\r\nBEGIN ATOMIC\r\n  SELECT 1;\r\n  SELECT 2;\r\nEND;\r\n" +
          "CREATE RULE t_log AS ON INSERT TO t DO ALSO (INSERT INTO log_a VALUES (NEW.id); INSERT INTO log_b VALUES (NEW.id));\r\n" +
          "DO $é$ BEGIN PERFORM 1; INSERT INTO t VALUES (7); END $é$;\r\n",
        "002_nt.down.sql": "-- orchwf:no-transaction\nDROP RULE t_log ON t;\nDROP FUNCTION two();\n",
      });
      const d = await engine.open();
      try {
        const migrator = new Migrator(d.db, { migrations: await loadMigrations(dir) });
        assert.deepEqual((await migrator.migrate()).applied.map((r) => r.version), ["001", "002"]);
        assert.deepEqual(await d.query("SELECT two() AS v"), [{ v: 2 }]);
        assert.deepEqual(await d.query("SELECT (SELECT count(*) FROM log_a)::int AS a, (SELECT count(*) FROM log_b)::int AS b"), [{ a: 1, b: 1 }]);
        assert.deepEqual((await migrator.rollback()).rolledBack.map((r) => r.version), ["002"]);
      } finally {
        await d.close();
      }
    });
  });
}
