/**
 * Short DDL lock waits, retried (real PostgreSQL): while a migration's ALTER TABLE waits behind a long transaction,
 * other sessions' queries on the table are held up at most about the DDL lock timeout, the migration is rolled back
 * and retried (reported), and it completes once the long transaction ends. No-transaction migrations retry only
 * the statement that timed out; a migration's own SET lock_timeout wins; retries run out cleanly.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import postgres from "postgres";
import { MigrationError, Migrator, type MigrationEvent, type RetryEvent, SqlError } from "../src/mod.ts";
import { backoffMs, lockRetryPolicy } from "../src/engine/lock-retry.ts";
import { bunRunner, cleanEnv, runWith } from "./helpers/cli.ts";
import { engines, postgresEngine, type TestDatabase } from "./helpers/engines.ts";
import { migrationDir } from "./fixtures/spawn-runner.ts";

const LONG = { timeout: 120_000 };

/** A second session that holds a transaction which read `t` (ACCESS SHARE lock) until `release()`. */
async function holdRead(url: string): Promise<{ release(): Promise<void> }> {
  const holder = postgres(url, { max: 1, onnotice: () => {} });
  await holder.unsafe("BEGIN");
  await holder.unsafe("SELECT count(*) FROM t");
  return {
    async release() {
      await holder.unsafe("COMMIT");
      await holder.end();
    },
  };
}

/** Resolves on the first event of `type`. */
function firstEvent(type: MigrationEvent["type"]): { onEvent(e: MigrationEvent): void; seen: Promise<MigrationEvent>; all: MigrationEvent[] } {
  let resolve!: (e: MigrationEvent) => void;
  const seen = new Promise<MigrationEvent>((r) => resolve = r);
  const all: MigrationEvent[] = [];
  return {
    onEvent(e) {
      all.push(e);
      if (e.type === type) resolve(e);
    },
    seen,
    all,
  };
}

async function withTable(fn: (d: TestDatabase) => Promise<void>): Promise<void> {
  const d = await postgresEngine.open();
  try {
    await d.query("CREATE TABLE t (id int PRIMARY KEY, v text)");
    await d.query("INSERT INTO t SELECT g, 'x' FROM generate_series(1, 100) g");
    await fn(d);
  } finally {
    await d.close();
  }
}

describe("short DDL lock waits, retried (PostgreSQL)", () => {
  test("up: other sessions' SELECTs on t wait at most about the DDL lock timeout; retries reported; up completes after the long transaction", LONG, async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    await withTable(async (d) => {
      const dir = migrationDir({ "001_add.up.sql": "ALTER TABLE t ADD COLUMN c int;\n" });
      const ddlMs = 500;
      const holder = await holdRead(d.url!);
      const prober = postgres(d.url!, { max: 1, onnotice: () => {} });
      const watcher = postgres(d.url!, { max: 1, onnotice: () => {} });
      let released = false;
      try {
        const up = runWith(bunRunner, ["up", "--db", d.url!, "--dir", dir, "--ddl-lock-timeout", `${ddlMs}ms`, "--lock-retries", "100", "--json"], { env: cleanEnv() });
        // Short SELECTs on t, one after the other, until the ALTER was seen waiting in three separate attempts (a
        // busy machine starts the CLI late: a fixed window could end before its retries); the slowest one counts.
        let slowest = 0;
        let probes = 0;
        let sawWaitingAlter = false;
        let waits = 0;
        let waiting = false;
        const until = Date.now() + 60_000;
        while (Date.now() < until && waits < 3) {
          const started = performance.now();
          await prober.unsafe("SELECT count(*) FROM t");
          slowest = Math.max(slowest, performance.now() - started);
          probes++;
          const [w] = await watcher.unsafe(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'ALTER TABLE t ADD COLUMN c%' AND wait_event_type = 'Lock'",
          );
          const now = (w as { n: number }).n > 0;
          if (now && !waiting) waits++;
          waiting = now;
          if (now) sawWaitingAlter = true;
        }
        assert.ok(sawWaitingAlter, "the ALTER was seen waiting for its lock while the probes ran");
        assert.ok(probes > 10, `only ${probes} probes`);
        assert.ok(slowest < ddlMs + 100, `a SELECT on t waited ${Math.round(slowest)} ms behind the ALTER (DDL lock timeout ${ddlMs} ms)`);
        await holder.release();
        released = true;
        const run = await up;
        assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
        const result = JSON.parse(run.stdout) as { applied: { version: string }[]; retries: RetryEvent[] };
        assert.deepEqual(result.applied.map((a) => a.version), ["001"]);
        assert.ok(result.retries.length >= 2, run.stdout);
        for (const [i, r] of result.retries.entries()) {
          assert.equal(r.type, "retry");
          assert.equal(r.version, "001");
          assert.equal(r.attempt, i + 2);
          assert.equal(r.of, 101);
          assert.match(r.reason, /lock timeout/);
        }
        assert.match(run.stderr, /migration 001 waited too long for a table lock .*: its transaction rolled back; attempt 2 of 101/);
        const [col] = await d.query("SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 't' AND column_name = 'c'");
        assert.equal(col.n, 1);
      } finally {
        if (!released) await holder.release();
        await prober.end();
        await watcher.end();
      }
    });
  });

  test("no-transaction: only the statement that timed out is tried again, never one that succeeded", LONG, async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    await withTable(async (d) => {
      const holder = await holdRead(d.url!);
      const events = firstEvent("retry");
      const migrator = new Migrator(d.db, {
        migrations: [{
          version: "001",
          description: "two statements",
          transaction: false,
          // Not re-runnable: a retry of the whole file would fail on it.
          up: "CREATE TABLE u (id int);\nALTER TABLE t ADD COLUMN d int;\n",
        }],
        ddlLockTimeoutMs: 100,
        lockRetries: 100,
        onEvent: events.onEvent,
      });
      const run = migrator.migrate();
      try {
        const retry = (await events.seen) as RetryEvent;
        assert.equal(retry.statement, "ALTER TABLE t ADD COLUMN d int");
      } finally {
        await holder.release();
      }
      const { applied } = await run;
      assert.deepEqual(applied.map((a) => a.version), ["001"]);
      assert.ok(events.all.filter((e) => e.type === "retry").every((e) => (e as RetryEvent).statement?.startsWith("ALTER")));
      const [row] = await d.query("SELECT dirty FROM orchwf_migrations WHERE version = '001'");
      assert.equal(row.dirty, false);
    });
  });

  test("retries run out: SQL_ERROR 55P03 saying how often it tried; nothing of the migration stays", LONG, async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    await withTable(async (d) => {
      const holder = await holdRead(d.url!);
      const events = firstEvent("retry");
      try {
        const migrator = new Migrator(d.db, {
          migrations: [{ version: "001", description: "add", up: "CREATE TABLE w (id int);\nALTER TABLE t ADD COLUMN e int;\n" }],
          onEvent: events.onEvent,
        });
        const err = await migrator.migrate({ ddlLockTimeoutMs: 50, lockRetries: 1 }).then(() => undefined, (e) => e);
        assert.ok(err instanceof SqlError, String(err));
        assert.equal(err.sqlState, "55P03");
        assert.equal(err.version, "001");
        assert.match(err.message, /gave up after 2 attempts .*no retries left/);
        assert.equal(events.all.filter((e) => e.type === "retry").length, 1);
        const [w] = await d.query("SELECT to_regclass('w')::text AS w");
        assert.equal(w.w, null);
        assert.deepEqual(await d.query("SELECT version FROM orchwf_migrations"), []);
      } finally {
        await holder.release();
      }
    });
  });

  test("--timeout bounds the retries", LONG, async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    await withTable(async (d) => {
      const holder = await holdRead(d.url!);
      try {
        const migrator = new Migrator(d.db, { migrations: [{ version: "001", description: "add", up: "ALTER TABLE t ADD COLUMN e int;" }] });
        const err = await migrator.migrate({ ddlLockTimeoutMs: 100, lockRetries: 1000, timeoutMs: 1500 }).then(() => undefined, (e) => e);
        assert.ok(err instanceof MigrationError, String(err));
        assert.ok(err.code === "TIMEOUT" || (err instanceof SqlError && /--timeout leaves no time/.test(err.message)), err.message);
      } finally {
        await holder.release();
      }
    });
  });
});

for (const engine of engines) {
  describe(`lock_timeout a migration sees, on ${engine.name}`, () => {
    test("the DDL lock timeout by default; the migration's own SET lock_timeout wins for what follows it; 0 leaves --lock-timeout", LONG, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const d = await engine.open();
      try {
        const seen = (table: string) => `CREATE TABLE ${table} AS SELECT current_setting('lock_timeout') AS v;`;
        const migrator = new Migrator(d.db, {
          migrations: [
            { version: "001", description: "default", up: seen("s1") },
            { version: "002", description: "own", up: `SET lock_timeout = '7s';\n${seen("s2")}` },
            { version: "003", description: "after own", up: seen("s3") },
            { version: "004", description: "no transaction", transaction: false, up: `${seen("s4")}\nSET lock_timeout = '9s';\n${seen("s5")}` },
          ],
          ddlLockTimeoutMs: 1500,
        });
        await migrator.migrate();
        const v = async (table: string) => (await d.query<{ v: string }>(`SELECT v FROM ${table}`))[0].v;
        assert.equal(await v("s1"), "1500ms");
        assert.equal(await v("s2"), "7s");
        assert.equal(await v("s3"), "1500ms", "a migration's own SET does not leak into the next one");
        assert.equal(await v("s4"), "1500ms");
        assert.equal(await v("s5"), "9s");
        const off = new Migrator(d.db, { migrations: [...migrator.migrations, { version: "005", description: "off", up: seen("s6") }], ddlLockTimeoutMs: 0, lockTimeoutMs: 4000 });
        await off.migrate();
        assert.equal(await v("s6"), "4s");
      } finally {
        await d.close();
      }
    });
  });
}

describe("lock retry policy", () => {
  test("defaults, checks, and the backoff's bounds", () => {
    assert.deepEqual(lockRetryPolicy({}), { ddlLockTimeoutMs: 2000, retries: 10 });
    assert.throws(() => lockRetryPolicy({ lockRetries: -1 }), /lockRetries/);
    assert.throws(() => lockRetryPolicy({ ddlLockTimeoutMs: Number.NaN }), /ddlLockTimeoutMs/);
    assert.equal(backoffMs(1, () => 0), 250);
    assert.equal(backoffMs(1, () => 1), 500);
    assert.equal(backoffMs(3, () => 1), 2000);
    assert.equal(backoffMs(20, () => 1), 30_000);
    assert.equal(backoffMs(20, () => 0), 15_000);
  });
});

describe("lint knows the runner bounds lock waits", () => {
  test("require-lock-timeout is a note while a DDL lock timeout is set (the default), a warning with 0", async () => {
    const { lintMigrations } = await import("../src/lint/lint.ts");
    const migrations = [
      { version: "1", description: "t", up: "CREATE TABLE t (id int);" },
      { version: "2", description: "alter", up: "ALTER TABLE t ADD COLUMN c int;" },
    ];
    const byDefault = await lintMigrations(migrations);
    assert.deepEqual(byDefault.findings.map((f) => `${f.rule} ${f.severity}`), ["require-lock-timeout note"]);
    assert.match(byDefault.findings[0].message, /sets lock_timeout to 2000 ms for each migration and retries it/);
    assert.equal(byDefault.notes, 1);
    const off = await lintMigrations(migrations, { ddlLockTimeoutMs: 0 });
    assert.deepEqual(off.findings.map((f) => `${f.rule} ${f.severity}`), ["require-lock-timeout warning"]);
  });
});
