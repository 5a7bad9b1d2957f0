/** Migrator behaviour on PGlite and PostgreSQL: idempotence, custom lists, directories, failures, errors. */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { loadMigrations, type Migration, Migrator, orchwfMigrations, quickSetup, SqlError } from "../src/mod.ts";
import { catalog } from "./helpers/catalog.ts";
import { engines, type TestDatabase } from "./helpers/engines.ts";

const users: Migration = {
  version: "002",
  description: "add users",
  up: "CREATE TABLE users (id int PRIMARY KEY, name text);",
  down: "DROP TABLE users;",
};

async function versions(d: TestDatabase, table = "orchwf_migrations"): Promise<string[]> {
  const rows = await d.query<{ version: string }>(`SELECT version FROM ${table} ORDER BY version`);
  return rows.map((r) => r.version);
}

for (const engine of engines) {
  describe(`Migrator on ${engine.name}`, () => {
    const withDb = (name: string, fn: (d: TestDatabase) => Promise<void>) =>
      test(name, async (t) => {
        if (!(await engine.available())) return t.skip("no PostgreSQL server here");
        const d = await engine.open();
        try {
          await fn(d);
        } finally {
          await d.close();
        }
      });

    withDb("quickSetup is idempotent and records version, checksum and timing", async (d) => {
      const first = await quickSetup(d.db);
      assert.deepEqual(first.applied.map((a) => a.version), ["001"]);
      const second = await quickSetup(d.db);
      assert.deepEqual(second.applied, []);
      const [row] = await d.query<{ version: string; description: string; checksum: string; execution_ms: number; dirty: boolean }>(
        "SELECT version, description, checksum, execution_ms, dirty FROM orchwf_migrations",
      );
      assert.equal(row.version, "001");
      assert.equal(row.description, "Create OrchWF tables");
      assert.match(row.checksum, /^[0-9a-f]{64}$/);
      // Recorded, not NULL (Number(null) would be 0 and pass a bare ">= 0").
      assert.notEqual(row.execution_ms, null);
      assert.ok(Number.isInteger(Number(row.execution_ms)) && Number(row.execution_ms) >= 0, `execution_ms ${row.execution_ms}`);
      assert.equal(row.dirty, false);
      const status = await new Migrator(d.db).status();
      assert.equal(status.current, "001");
      assert.equal(status.pending, 0);
    });

    withDb("status and plan are read-only: they never create the version table", async (d) => {
      const migrator = new Migrator(d.db);
      const status = await migrator.status();
      assert.deepEqual(status.migrations.map((m) => `${m.version}:${m.state}`), ["001:pending"]);
      assert.deepEqual((await migrator.plan()).pending.map((p) => p.version), ["001"]);
      const [t] = await d.query<{ t: string | null }>("SELECT to_regclass('orchwf_migrations')::text AS t");
      assert.equal(t.t, null);
    });

    withDb("custom migrations combine with the built-ins; rollback to a version undoes only what came after", async (d) => {
      const migrator = new Migrator(d.db, { migrations: [...orchwfMigrations, users] });
      const events: string[] = [];
      const logged = new Migrator(d.db, {
        migrations: [...orchwfMigrations, users],
        onEvent: (e) => events.push(e.type === "warning" ? "warning" : `${e.type}:${e.direction}:${e.version}`),
      });
      await logged.migrate();
      assert.deepEqual(events, ["start:up:001", "done:up:001", "start:up:002", "done:up:002"]);
      assert.deepEqual(await versions(d), ["001", "002"]);
      const { rolledBack } = await migrator.rollback({ to: "001" });
      assert.deepEqual(rolledBack.map((r) => r.version), ["002"]);
      assert.deepEqual(await versions(d), ["001"]);
      const [t] = await d.query<{ t: string | null }>("SELECT to_regclass('users')::text AS t");
      assert.equal(t.t, null);
      await migrator.rollback({ to: "0" });
      assert.deepEqual(await versions(d), []);
      assert.deepEqual(await catalog(d), []);
    });

    withDb("a directory of the user's own files is applied in numeric order with their descriptions", async (d) => {
      const dir = await mkdtemp(join(tmpdir(), "orchwf-dir-"));
      try {
        await writeFile(join(dir, "10_third.up.sql"), "ALTER TABLE a ADD COLUMN c int;");
        await writeFile(join(dir, "2_second.up.sql"), "ALTER TABLE a ADD COLUMN b int;");
        await writeFile(join(dir, "2_second.down.sql"), "ALTER TABLE a DROP COLUMN b;");
        await writeFile(join(dir, "1_first.up.sql"), "-- orchwf:description Create table a\nCREATE TABLE a (id int);");
        await writeFile(join(dir, "README.md"), "not a migration");
        const migrations = await loadMigrations(dir);
        assert.deepEqual(migrations.map((m) => `${m.version} ${m.description}`), ["1 Create table a", "2 second", "10 third"]);
        const { applied } = await new Migrator(d.db, { migrations }).migrate();
        assert.deepEqual(applied.map((a) => a.version), ["1", "2", "10"]);
        const cols = await d.query<{ c: string }>(
          "SELECT column_name AS c FROM information_schema.columns WHERE table_name = 'a' ORDER BY ordinal_position",
        );
        assert.deepEqual(cols.map((c) => c.c), ["id", "b", "c"]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    withDb("a failing migration leaves the database as it was before it, and says where it failed", async (d) => {
      const dir = await mkdtemp(join(tmpdir(), "orchwf-fail-"));
      try {
        await writeFile(join(dir, "1_ok.up.sql"), "CREATE TABLE kept (id int);");
        await writeFile(join(dir, "2_broken.up.sql"), "-- creates b, then fails\nCREATE TABLE b (id int);\nINSERT INTO b VALUES (1);\n  SELECT nope FROM b;\n"); // a runtime error: a syntax error is found before anything runs
        const migrator = new Migrator(d.db, { migrations: await loadMigrations(dir) });
        await assert.rejects(migrator.migrate(), (e: unknown) => {
          assert.ok(e instanceof SqlError, String(e));
          assert.equal(e.code, "SQL_ERROR");
          assert.equal(e.version, "2");
          assert.equal(e.sqlState, "42703");
          assert.equal(e.file, join(dir, "2_broken.up.sql"));
          assert.equal(e.line, 4);
          assert.equal(e.column, 10);
          assert.ok(e.message.includes(`${join(dir, "2_broken.up.sql")}:4:10`), e.message);
          assert.match(e.message, />\s*4 \|\s+SELECT nope FROM b;/);
          return true;
        });
        assert.deepEqual(await versions(d), ["1"]);
        const [t] = await d.query<{ kept: string | null; b: string | null }>(
          "SELECT to_regclass('kept')::text AS kept, to_regclass('b')::text AS b",
        );
        assert.deepEqual(t, { kept: "kept", b: null });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    withDb("a schema option puts the version table and the migrations into that schema", async (d) => {
      await new Migrator(d.db, { schema: "orchwf", table: "versions" }).migrate();
      const rows = await d.query<{ t: string }>(
        "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'orchwf' ORDER BY 1",
      );
      assert.deepEqual(rows.map((r) => r.t), [
        "orchwf_step_instances",
        "orchwf_workflow_events",
        "orchwf_workflow_instances",
        "versions",
      ]);
      assert.deepEqual(await versions(d, "orchwf.versions"), ["001"]);
      const status = await new Migrator(d.db, { schema: "orchwf", table: "versions" }).status();
      assert.equal(status.table, '"orchwf"."versions"');
      assert.equal(status.current, "001");
    });
  });
}
