/**
 * `-- orchwf:no-transaction` migrations: each statement alone (CREATE INDEX CONCURRENTLY works), a half-failed
 * one is recorded as failed, the next run refuses with DIRTY naming the version and what to do, and
 * `resolve()` settles it. Concurrent runners (also behind PgBouncer) apply it once.
 */
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import postgres from "postgres";
import { loadMigrations, MigrationError, Migrator, SqlError } from "../src/mod.ts";
import { engines, postgresEngine, type TestDatabase } from "./helpers/engines.ts";
import { startPgBouncer } from "./helpers/pgbouncer.ts";
import { postgresServerUrl } from "./helpers/postgres-server.ts";
import { migrationDir } from "./fixtures/spawn-runner.ts";

const BASE = {
  "001_base.up.sql": "CREATE TABLE base (id int, name text);\nINSERT INTO base VALUES (1, 'a'), (1, 'b');\n",
  "001_base.down.sql": "DROP TABLE base;\n",
};

async function rows(d: TestDatabase): Promise<{ version: string; dirty: boolean }[]> {
  return await d.query("SELECT version, dirty FROM orchwf_migrations ORDER BY version");
}

async function indexes(d: TestDatabase): Promise<string[]> {
  const r = await d.query<{ name: string }>(
    "SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname = 'base' ORDER BY 1",
  );
  return r.map((x) => x.name);
}

for (const engine of engines) {
  describe(`no-transaction migrations on ${engine.name}`, () => {
    test("each statement runs alone; CREATE INDEX CONCURRENTLY works; down runs the same way", { timeout: 120_000 }, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const dir = migrationDir({
        ...BASE,
        "002_index.up.sql":
          "-- orchwf:no-transaction\nCREATE INDEX CONCURRENTLY base_id ON base (id);\nCREATE INDEX CONCURRENTLY base_name ON base (name);\n",
        "002_index.down.sql": "-- orchwf:no-transaction\nDROP INDEX CONCURRENTLY base_name;\nDROP INDEX CONCURRENTLY base_id;\n",
      });
      const d = await engine.open();
      try {
        const migrator = new Migrator(d.db, { migrations: await loadMigrations(dir) });
        const { applied } = await migrator.migrate();
        assert.deepEqual(applied.map((r) => r.version), ["001", "002"]);
        assert.deepEqual(await indexes(d), ["base_id", "base_name"]);
        assert.deepEqual(await rows(d), [{ version: "001", dirty: false }, { version: "002", dirty: false }]);
        const valid = await d.query<{ ok: boolean }>("SELECT bool_and(indisvalid) AS ok FROM pg_index WHERE indrelid = 'base'::regclass");
        assert.equal(valid[0].ok, true);
        assert.deepEqual((await migrator.status()).migrations.map((m) => m.state), ["applied", "applied"]);
        await migrator.rollback();
        assert.deepEqual(await indexes(d), []);
        assert.deepEqual(await rows(d), [{ version: "001", dirty: false }]);
      } finally {
        await d.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test("half failed: recorded as failed, the next run refuses with DIRTY, resolve() settles it", { timeout: 120_000 }, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const dir = migrationDir({
        ...BASE,
        "002_index.up.sql":
          "-- orchwf:no-transaction\nCREATE INDEX CONCURRENTLY base_name ON base (name);\n\nCREATE INDEX CONCURRENTLY base_x ON nope (id);\n",
        "003_more.up.sql": "CREATE TABLE more (id int);\n",
      });
      const file = join(dir, "002_index.up.sql");
      const d = await engine.open();
      try {
        const migrator = new Migrator(d.db, { migrations: await loadMigrations(dir) });
        const failure = await migrator.migrate().catch((e) => e);
        assert.ok(failure instanceof SqlError, String(failure));
        assert.equal(failure.code, "SQL_ERROR");
        assert.equal(failure.version, "002");
        assert.equal(failure.file, file);
        assert.deepEqual([failure.line, failure.column], [4, 1]); // no position from the server: the statement
        assert.match(failure.message, /relation "nope" does not exist/);
        assert.match(failure.message, /marked failed/);
        assert.deepEqual(await rows(d), [{ version: "001", dirty: false }, { version: "002", dirty: true }]);
        assert.equal((await migrator.status()).migrations.find((m) => m.version === "002")?.state, "failed");

        for (const attempt of [() => migrator.migrate(), () => migrator.rollback()]) {
          const dirty = await attempt().catch((e) => e);
          assert.ok(dirty instanceof MigrationError);
          assert.equal(dirty.code, "DIRTY");
          assert.equal(dirty.version, "002");
          assert.ok(dirty.message.includes(`migration 002 (${file}) failed part way`), dirty.message);
          assert.match(dirty.message, /resolve\("002", "applied"\).*resolve\("002", "rolled-back"\)/);
        }
        assert.equal((await d.query("SELECT to_regclass('more') AS r"))[0].r, null, "003 did not run on top of it");

        // A person undoes the part that ran and says so; the fixed migration then runs.
        await d.query("DROP INDEX base_name");
        await migrator.resolve("002", "rolled-back");
        assert.deepEqual(await rows(d), [{ version: "001", dirty: false }]);
        const fixedDir = migrationDir({
          ...BASE,
          "002_index.up.sql": "-- orchwf:no-transaction\nCREATE INDEX CONCURRENTLY base_name ON base (name);\n",
          "003_more.up.sql": "CREATE TABLE more (id int);\n",
        });
        const fixed = new Migrator(d.db, { migrations: await loadMigrations(fixedDir) });
        assert.deepEqual((await fixed.migrate()).applied.map((r) => r.version), ["002", "003"]);
        rmSync(fixedDir, { recursive: true, force: true });

        const notDirty = await fixed.resolve("002", "applied").catch((e) => e);
        assert.equal(notDirty.code, "USAGE");
        const unknown = await fixed.resolve("042", "applied").catch((e) => e);
        assert.equal(unknown.code, "UNKNOWN_VERSION");
      } finally {
        await d.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test("resolve(version, \"applied\") after completing a failed migration by hand", { timeout: 120_000 }, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const dir = migrationDir({
        ...BASE,
        "002_two.up.sql": "-- orchwf:no-transaction\nCREATE TABLE one (id int);\nCREATE TABLE two (id int, id int);\n",
      });
      const d = await engine.open();
      try {
        const migrator = new Migrator(d.db, { migrations: await loadMigrations(dir) });
        assert.equal((await migrator.migrate().catch((e) => e)).code, "SQL_ERROR");
        await d.query("CREATE TABLE two (id int)");
        await migrator.resolve("2", "applied"); // "2" is version "002"
        assert.deepEqual(await rows(d), [{ version: "001", dirty: false }, { version: "002", dirty: false }]);
        assert.deepEqual((await migrator.status()).migrations.map((m) => m.state), ["applied", "applied"]);
        assert.deepEqual((await migrator.migrate()).applied, []);
      } finally {
        await d.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test("a claim nobody finishes (its runner died): the next run waits lockTimeoutMs, then refuses with DIRTY", { timeout: 120_000 }, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const dir = migrationDir({ ...BASE, "002_index.up.sql": "-- orchwf:no-transaction\nCREATE INDEX CONCURRENTLY base_id ON base (id);\n" });
      const d = await engine.open();
      try {
        const migrator = new Migrator(d.db, { migrations: await loadMigrations(dir), lockTimeoutMs: 300 });
        await migrator.migrate({ to: "001" });
        // What a runner killed during 002 leaves: its claim, dirty without an execution time.
        await d.query("INSERT INTO orchwf_migrations (version, description, dirty) VALUES ('002', 'index', true)");
        const err = await migrator.migrate().catch((e) => e);
        assert.equal(err.code, "DIRTY");
        assert.equal(err.version, "002");
        assert.match(err.message, /migration 002 has been running outside a transaction since .* and did not finish within 300 ms/);
        assert.match(err.message, /resolve\("002", "applied"\) or migrator.resolve\("002", "rolled-back"\)/);
        assert.equal((await migrator.rollback().catch((e) => e)).code, "DIRTY");
        await migrator.resolve("002", "rolled-back");
        assert.deepEqual((await migrator.migrate()).applied.map((r) => r.version), ["002"]);
      } finally {
        await d.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test("the first statement failing changes nothing: no row, and a fixed file runs", { timeout: 120_000 }, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const dir = migrationDir({ ...BASE, "002_bad.up.sql": "-- orchwf:no-transaction\nCREATE TABLE one (id int, id int);\nCREATE TABLE two (id int);\n" });
      const d = await engine.open();
      try {
        const migrator = new Migrator(d.db, { migrations: await loadMigrations(dir) });
        const failure = await migrator.migrate().catch((e) => e);
        assert.equal(failure.code, "SQL_ERROR");
        assert.doesNotMatch(failure.message, /marked failed/);
        assert.deepEqual(await rows(d), [{ version: "001", dirty: false }]);
        assert.equal((await migrator.status()).migrations[1].state, "pending");
        // Fix the file and run again: 002 runs now, whole, and is recorded clean.
        writeFileSync(join(dir, "002_bad.up.sql"), "-- orchwf:no-transaction\nCREATE TABLE one (id int);\nCREATE TABLE two (id int);\n");
        const fixed = new Migrator(d.db, { migrations: await loadMigrations(dir) });
        assert.deepEqual((await fixed.migrate()).applied.map((r) => r.version), ["002"]);
        assert.deepEqual(await rows(d), [{ version: "001", dirty: false }, { version: "002", dirty: false }]);
        const tables = await d.query<{ name: string }>("SELECT relname AS name FROM pg_class WHERE relname IN ('one', 'two') ORDER BY 1");
        assert.deepEqual(tables.map((r) => r.name), ["one", "two"]);
      } finally {
        await d.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

describe("no-transaction migrations on PostgreSQL 15", () => {
  test("a CREATE UNIQUE INDEX CONCURRENTLY that fails: its invalid index is dropped, the claim withdrawn, the next run fails alike", { timeout: 120_000 }, async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    const dir = migrationDir({ ...BASE, "002_unique.up.sql": "-- orchwf:no-transaction\nCREATE UNIQUE INDEX CONCURRENTLY base_uid ON base (id);\n" });
    const d = await postgresEngine.open();
    try {
      const migrator = new Migrator(d.db, { migrations: await loadMigrations(dir) });
      const failure = await migrator.migrate().catch((e) => e);
      assert.equal(failure.code, "SQL_ERROR");
      assert.equal(failure.sqlState, "23505");
      const left = await d.query("SELECT 1 FROM pg_class WHERE relname = 'base_uid'");
      assert.deepEqual(left, [], "PostgreSQL's invalid index was dropped");
      assert.deepEqual(await rows(d), [{ version: "001", dirty: false }]);
      const again = await migrator.migrate().catch((e) => e);
      assert.equal(again.code, "SQL_ERROR", "not DIRTY: nothing of 002 stayed");
      assert.equal(again.sqlState, "23505");
    } finally {
      await d.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const through of ["directly", "through PgBouncer (transaction pooling)"]) {
    test(`8 concurrent runners ${through}: a no-transaction migration in the middle is applied once`, { timeout: 120_000 }, async (t) => {
      const serverUrl = await postgresServerUrl();
      if (!serverUrl) return t.skip("no PostgreSQL server here");
      const bouncer = through === "directly" ? undefined : await startPgBouncer(serverUrl);
      if (through !== "directly" && !bouncer) return t.skip("pgbouncer is not installed");
      const dir = migrationDir({
        "001_log.up.sql": "CREATE TABLE run_log (seq serial PRIMARY KEY, version text);\nINSERT INTO run_log (version) VALUES ('001');\n",
        "002_index.up.sql":
          "-- orchwf:no-transaction\nINSERT INTO run_log (version) VALUES ('002');\nCREATE INDEX CONCURRENTLY run_log_version ON run_log (version);\n",
        "003_after.up.sql": "INSERT INTO run_log (version) VALUES ('003');\n",
      });
      const d = await postgresEngine.open();
      const url = bouncer ? bouncer.url(new URL(d.url!).pathname.slice(1)) : d.url!;
      const clients = Array.from({ length: 8 }, () => postgres(url, { max: 2, prepare: !bouncer, onnotice: () => {} }));
      try {
        const migrations = await loadMigrations(dir);
        const results = await Promise.all(clients.map((sql) => new Migrator(sql, { migrations }).migrate()));
        assert.deepEqual(results.flatMap((r) => r.applied.map((a) => a.version)).sort(), ["001", "002", "003"]);
        const log = await d.query<{ version: string }>("SELECT version FROM run_log ORDER BY seq");
        assert.deepEqual(log.map((r) => r.version), ["001", "002", "003"]);
        assert.deepEqual(await d.query("SELECT version, dirty FROM orchwf_migrations ORDER BY version"), [
          { version: "001", dirty: false },
          { version: "002", dirty: false },
          { version: "003", dirty: false },
        ]);
      } finally {
        await Promise.all(clients.map((c) => c.end()));
        await d.close();
        await bouncer?.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
