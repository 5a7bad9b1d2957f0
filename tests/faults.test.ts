/**
 * Faults: a runner process killed with SIGKILL in the middle of a long migration leaves the database exactly as
 * it was before that migration, and the next migrate() completes (the server notices the dead client and
 * releases the lock without waiting for the statement to end).
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { describe, test } from "node:test";
import postgres from "postgres";
import { loadMigrations, Migrator } from "../src/mod.ts";
import { catalog } from "./helpers/catalog.ts";
import { engines, postgresEngine } from "./helpers/engines.ts";
import { migrationDir, startRunner } from "./fixtures/spawn-runner.ts";
import { pollUntil } from "./helpers/poll.ts";
import type { TestDatabase } from "./helpers/engines.ts";

const BASE = { "001_base.up.sql": "CREATE TABLE base (id int PRIMARY KEY);\n" };

/** Backends of this database running the migration's pg_sleep(30) (only active ones, unless `active` is false). */
function sleeping(d: TestDatabase, active = true): Promise<unknown[]> {
  return d.query(
    "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(30)%' " +
      `AND query NOT LIKE '%pg_stat_activity%' ${active ? "AND state = 'active'" : ""} AND pid <> pg_backend_pid()`,
  );
}

describe("faults", () => {
  test("SIGKILL during a long migration: nothing of it remains, and the next migrate() completes", { timeout: 120_000 }, async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    const slow = migrationDir({
      ...BASE,
      "002_slow.up.sql": "CREATE TABLE victim (id int);\nINSERT INTO victim VALUES (1);\nSELECT pg_sleep(30);\n",
    });
    const fixed = migrationDir({ ...BASE, "002_slow.up.sql": "CREATE TABLE victim (id int);\n" });
    const d = await postgresEngine.open();
    const sql = postgres(d.url!, { max: 2, onnotice: () => {} });
    try {
      await new Migrator(sql, { migrations: await loadMigrations(slow) }).migrate({ to: "001" });
      const before = await catalog(d);

      const runner = startRunner(d.url!, slow);
      await runner.printed("start 002");
      // Wait until the server is inside pg_sleep, i.e. after CREATE TABLE and INSERT ran in the transaction.
      await pollUntil(async () => (await sleeping(d)).length > 0, { what: "the runner inside pg_sleep", abandon: runner.done });
      runner.child.kill("SIGKILL");
      const result = await runner.done;
      assert.equal(result.signal, "SIGKILL");
      // The server rolls back once it sees the client is gone; wait for that backend to end.
      await pollUntil(async () => (await sleeping(d, false)).length === 0, { what: "the killed runner's backend to end", intervalMs: 100 });

      assert.deepEqual(await catalog(d), before, "no trace of migration 002 in the catalog");
      const rows = await d.query<{ version: string }>("SELECT version FROM orchwf_migrations ORDER BY version");
      assert.deepEqual(rows.map((r) => r.version), ["001"], "no version row for 002");

      const { applied } = await new Migrator(sql, { migrations: await loadMigrations(fixed), lockTimeoutMs: 20_000 }).migrate();
      assert.deepEqual(applied.map((r) => r.version), ["002"]);
      const after = await d.query<{ version: string }>("SELECT version FROM orchwf_migrations ORDER BY version");
      assert.deepEqual(after.map((r) => r.version), ["001", "002"]);
    } finally {
      await sql.end();
      await d.close();
      rmSync(slow, { recursive: true, force: true });
      rmSync(fixed, { recursive: true, force: true });
    }
  });

  test("SIGKILL during a no-transaction migration: its claim stays dirty, runs refuse with DIRTY until resolved", { timeout: 120_000 }, async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    const slow = migrationDir({
      ...BASE,
      "002_half.up.sql": "-- orchwf:no-transaction\nCREATE TABLE half (id int);\nSELECT pg_sleep(30);\n",
    });
    const fixed = migrationDir({ ...BASE, "002_half.up.sql": "-- orchwf:no-transaction\nCREATE TABLE half (id int);\n" });
    const d = await postgresEngine.open();
    const sql = postgres(d.url!, { max: 2, onnotice: () => {} });
    try {
      const runner = startRunner(d.url!, slow);
      await runner.printed("start 002");
      await pollUntil(async () => (await sleeping(d)).length > 0, { what: "the runner inside pg_sleep", abandon: runner.done });
      runner.child.kill("SIGKILL");
      assert.equal((await runner.done).signal, "SIGKILL");
      // Outside a transaction the first statement stays: that is why the version is left dirty.
      const rows = await d.query<{ version: string; dirty: boolean; execution_ms: number | null }>(
        "SELECT version, dirty, execution_ms FROM orchwf_migrations ORDER BY version",
      );
      assert.deepEqual(rows.map((r) => [r.version, r.dirty]), [["001", false], ["002", true]]);
      assert.equal(rows[1].execution_ms, null);

      const migrator = new Migrator(sql, { migrations: await loadMigrations(fixed), lockTimeoutMs: 500 });
      assert.equal((await migrator.status()).migrations[1].state, "failed");
      const refused = await migrator.migrate().catch((e) => e);
      assert.equal(refused.code, "DIRTY");
      assert.equal(refused.version, "002");
      await sql`DROP TABLE half`;
      await migrator.resolve("002", "rolled-back");
      assert.deepEqual((await migrator.migrate()).applied.map((r) => r.version), ["002"]);
    } finally {
      await sql.end();
      await d.close();
      rmSync(slow, { recursive: true, force: true });
      rmSync(fixed, { recursive: true, force: true });
    }
  });
});

for (const engine of engines) {
  describe(`a file wrapped in BEGIN; … COMMIT; on ${engine.name}`, () => {
    test("runs in our transaction: a failure in the middle leaves nothing, the error points into the file", { timeout: 120_000 }, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const bad = migrationDir({ ...BASE, "002_wrapped.up.sql": "BEGIN;\nCREATE TABLE w1 (id int);\nINSERT INTO w2 VALUES (1);\nCOMMIT;\n" });
      const good = migrationDir({ ...BASE, "002_wrapped.up.sql": "BEGIN;\nCREATE TABLE w1 (id int);\nCOMMIT;\n" });
      const d = await engine.open();
      try {
        await new Migrator(d.db, { migrations: await loadMigrations(bad) }).migrate({ to: "001" });
        const before = await catalog(d);
        const err = await new Migrator(d.db, { migrations: await loadMigrations(bad) }).migrate().catch((e) => e);
        assert.equal(err.code, "SQL_ERROR");
        assert.deepEqual([err.line, err.column], [3, 13]);
        assert.deepEqual(await catalog(d), before);
        assert.deepEqual(await d.query("SELECT version FROM orchwf_migrations ORDER BY version"), [{ version: "001" }]);
        const { applied } = await new Migrator(d.db, { migrations: await loadMigrations(good) }).migrate();
        assert.deepEqual(applied.map((r) => r.version), ["002"]);
        assert.deepEqual(await d.query("SELECT version FROM orchwf_migrations ORDER BY version"), [{ version: "001" }, { version: "002" }]);
      } finally {
        await d.close();
        rmSync(bad, { recursive: true, force: true });
        rmSync(good, { recursive: true, force: true });
      }
    });
  });
}
