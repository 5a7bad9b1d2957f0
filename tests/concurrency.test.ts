/**
 * Exactly once under concurrency: 32 separate processes run migrate() at the same time on one PostgreSQL
 * database, directly and through PgBouncer in transaction pooling mode. Every migration is applied once, in
 * order, and every process exits 0.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { describe, test } from "node:test";
import { postgresEngine, type TestDatabase } from "./helpers/engines.ts";
import { startPgBouncer } from "./helpers/pgbouncer.ts";
import { postgresServerUrl } from "./helpers/postgres-server.ts";
import { migrationDir, startRunner } from "./fixtures/spawn-runner.ts";

const RUNNERS = 32;
const MIGRATIONS = 50;

/** 50 migrations: the first makes a log table; each one logs its version and creates a table. */
function fiftyMigrations(): string {
  const files: Record<string, string> = {};
  for (let v = 1; v <= MIGRATIONS; v++) {
    const version = String(v).padStart(3, "0");
    const log = v === 1 ? "CREATE TABLE run_log (seq serial PRIMARY KEY, version text NOT NULL, pid int NOT NULL);\n" : "";
    files[`${version}_step_${v}.up.sql`] =
      `${log}INSERT INTO run_log (version, pid) VALUES ('${version}', pg_backend_pid());\nCREATE TABLE t_${version} (id int);\n`;
  }
  return migrationDir(files);
}

async function assertExactlyOnce(d: TestDatabase, results: { code: number | null; stdout: string; stderr: string }[]) {
  for (const r of results) assert.equal(r.code, 0, `a runner failed: ${r.stderr}`);
  const expected = Array.from({ length: MIGRATIONS }, (_, i) => String(i + 1).padStart(3, "0"));
  const log = await d.query<{ version: string }>("SELECT version FROM run_log ORDER BY seq");
  assert.deepEqual(log.map((r) => r.version), expected, "each migration ran once, in order");
  const recorded = await d.query<{ version: string }>("SELECT version FROM orchwf_migrations ORDER BY version");
  assert.deepEqual(recorded.map((r) => r.version), expected);
  const tables = await d.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_tables WHERE tablename LIKE 't\\_%'");
  assert.equal(tables[0].n, MIGRATIONS);
  // The runners' own reports add up to each version exactly once.
  const applied = results.flatMap((r) => JSON.parse(r.stdout.trim().split("\n").pop()!).applied as string[]);
  assert.deepEqual(applied.sort(), expected);
}

describe("concurrency: 32 processes, 50 migrations, one PostgreSQL 15 database", () => {
  test("directly: each migration applied exactly once, in order, every process exits 0", { timeout: 180_000 }, async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    const dir = fiftyMigrations();
    const d = await postgresEngine.open();
    try {
      const runners = Array.from({ length: RUNNERS }, () => startRunner(d.url!, dir));
      await assertExactlyOnce(d, await Promise.all(runners.map((r) => r.done)));
    } finally {
      await d.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("through PgBouncer in transaction pooling mode: exactly once, in order, every process exits 0", { timeout: 180_000 }, async (t) => {
    const serverUrl = await postgresServerUrl();
    if (!serverUrl) return t.skip("no PostgreSQL server here");
    const bouncer = await startPgBouncer(serverUrl, { poolMode: "transaction" });
    if (!bouncer) {
      if (process.env.CI === "true") assert.fail("pgbouncer is not installed (.ci/run installs it)");
      return t.skip("pgbouncer is not installed (apt-get install -y pgbouncer)");
    }
    const dir = fiftyMigrations();
    const d = await postgresEngine.open();
    try {
      const database = new URL(d.url!).pathname.slice(1);
      const runners = Array.from({ length: RUNNERS }, () => startRunner(bouncer.url(database), dir, ["--no-prepare"]));
      await assertExactlyOnce(d, await Promise.all(runners.map((r) => r.done)));
    } finally {
      await d.close();
      await bouncer.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
