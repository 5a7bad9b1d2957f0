/**
 * Batched backfills (`-- orchwf:batch`, issue #29): a statement of a no-transaction migration runs in its own
 * transaction again and again until it changes no row. Killed with SIGKILL part way, the next `up` resumes it and
 * every row is changed exactly once; a concurrent single-row UPDATE waits at most about one batch; misplaced
 * directives are refused with file and line; the pause is parsed and kept.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import postgres from "postgres";
import { type BatchEvent, loadMigrations, type Migration, type MigrationEvent, Migrator } from "../src/mod.ts";
import { batchPlan } from "../src/core/batch.ts";
import { checksum } from "../src/core/migration.ts";
import { runLockSql } from "../src/engine/batch-resume.ts";
import { History } from "../src/engine/history.ts";
import { parseStatements } from "../src/core/split.ts";
import { checkMigrations } from "../src/sources/check.ts";
import { pgliteEngine, postgresEngine } from "./helpers/engines.ts";
import { pollUntil } from "./helpers/poll.ts";
import { bunBin, cleanEnv, root } from "./helpers/cli.ts";
import { migrationDir } from "./fixtures/spawn-runner.ts";

const ROWS = 200_000;
const TABLE = "CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL DEFAULT 0, done bool NOT NULL DEFAULT false, touched int NOT NULL DEFAULT 0)";
const BACKFILL = (pause = "") =>
  `-- orchwf:no-transaction\n-- orchwf:batch${pause}\nUPDATE t SET n = n + 1, done = true WHERE id IN (SELECT id FROM t WHERE NOT done ORDER BY id LIMIT 10000);\n`;

/** The CLI in a subprocess, and its output once it ends. */
function startCli(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> } {
  const child = spawn(bunBin, [join(root, "src/cli/main.ts"), ...args], { cwd: root, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (c) => (stdout += c));
  child.stderr!.on("data", (c) => (stderr += c));
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }))
  );
  return { child, done };
}

async function seed(query: (text: string) => Promise<unknown>, rows = ROWS): Promise<void> {
  await query(TABLE);
  await query(`INSERT INTO t (id) SELECT generate_series(1, ${rows})`);
}

describe("batched backfills on PostgreSQL", () => {
  test("200,000 rows in batches of 10,000, killed with SIGKILL part way: the next up finishes, each row updated once", { timeout: 180_000 }, async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    const d = await postgresEngine.open();
    const dir = migrationDir({ "001_table.up.sql": `${TABLE};\nINSERT INTO t (id) SELECT generate_series(1, ${ROWS});\n`, "002_backfill.up.sql": BACKFILL(" pause=20ms") });
    try {
      const base = await startCli(["up", "--dir", dir, "--db", d.url!, "--to", "001"]).done;
      assert.equal(base.code, 0, base.stderr);
      const doneRows = async () => Number((await d.query<{ c: string }>("SELECT count(*) AS c FROM t WHERE done"))[0].c);

      const first = startCli(["up", "--dir", dir, "--db", d.url!]);
      await pollUntil(async () => (await doneRows()) >= 30_000, { what: "some batches committed", abandon: first.done, intervalMs: 20 });
      first.child.kill("SIGKILL");
      assert.equal((await first.done).signal, "SIGKILL");
      const [claim] = await d.query<{ dirty: boolean; execution_ms: number | null }>("SELECT dirty, execution_ms FROM orchwf_migrations WHERE version = '002'");
      assert.deepEqual(claim, { dirty: true, execution_ms: null }, "the killed run left its claim");
      const killedAt = await doneRows();
      assert.ok(killedAt > 0 && killedAt < ROWS, `killed part way (${killedAt} rows done)`);

      // The killed run's backend may still be finishing its batch: the second run waits for its run lock, then resumes.
      const second = await startCli(["up", "--dir", dir, "--db", d.url!, "--json"]).done;
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stderr, /resuming it/);
      const out = JSON.parse(second.stdout) as { applied: { version: string }[]; batches: BatchEvent[] };
      assert.deepEqual(out.applied.map((a) => a.version), ["002"]);
      const last = out.batches[out.batches.length - 1];
      assert.equal(last.rows, 0, "the last batch found nothing left");
      assert.ok(last.totalRows > 0 && last.totalRows <= ROWS - killedAt + 10_000, `the second run did the rest (${last.totalRows} rows)`);

      assert.deepEqual(await d.query("SELECT n, done, count(*)::int AS c FROM t GROUP BY n, done"), [{ n: 1, done: true, c: ROWS }], "every row exactly once");
      const [row] = await d.query<{ dirty: boolean; execution_ms: number | null }>("SELECT dirty, execution_ms FROM orchwf_migrations WHERE version = '002'");
      assert.equal(row.dirty, false);
      assert.notEqual(row.execution_ms, null);
    } finally {
      await d.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a second up while the first one runs waits for it, never runs the batches beside it", { timeout: 180_000 }, async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    const d = await postgresEngine.open();
    const dir = migrationDir({ "001_table.up.sql": `${TABLE};\nINSERT INTO t (id) SELECT generate_series(1, 100000);\n`, "002_backfill.up.sql": BACKFILL(" pause=50ms") });
    try {
      assert.equal((await startCli(["up", "--dir", dir, "--db", d.url!, "--to", "001"]).done).code, 0);
      const first = startCli(["up", "--dir", dir, "--db", d.url!]);
      await pollUntil(async () => Number((await d.query<{ c: string }>("SELECT count(*) AS c FROM t WHERE done"))[0].c) > 0, {
        what: "the first run's first batch",
        abandon: first.done,
        intervalMs: 20,
      });
      const second = await startCli(["up", "--dir", dir, "--db", d.url!]).done;
      assert.equal(second.code, 0, second.stderr);
      assert.doesNotMatch(second.stderr, /resuming/);
      assert.equal((await first.done).code, 0);
      assert.deepEqual(await d.query("SELECT n, count(*)::int AS c FROM t GROUP BY n"), [{ n: 1, c: 100000 }]);
    } finally {
      await d.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a concurrent single-row UPDATE waits at most about one batch", { timeout: 180_000 }, async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    const d = await postgresEngine.open();
    const other = postgres(d.url!, { max: 1, onnotice: () => {} });
    try {
      await seed((q) => d.query(q));
      const batches: BatchEvent[] = [];
      const migrations: Migration[] = [{ version: "1", description: "backfill", up: BACKFILL(" pause=10ms"), transaction: false }];
      const run = new Migrator(d.db, { migrations, onEvent: (e: MigrationEvent) => e.type === "batch" && batches.push(e) }).migrate();
      let finished = false;
      run.finally(() => (finished = true)).catch(() => {});
      const waits: number[] = [];
      // Rows the batches have not reached yet, spread over the table: each UPDATE may meet a batch holding its row.
      for (let i = 0; !finished; i++) {
        const id = 1 + ((i * 7919) % ROWS);
        const started = performance.now();
        await other`UPDATE t SET touched = touched + 1 WHERE id = ${id}`;
        waits.push(performance.now() - started);
      }
      await run;
      assert.ok(batches.length >= 20, `${batches.length} batches`);
      assert.ok(waits.length > 0);
      const longestBatch = Math.max(...batches.map((b) => b.durationMs));
      const longestWait = Math.max(...waits);
      assert.ok(longestWait < 3 * longestBatch + 50, `longest wait ${longestWait.toFixed(1)} ms, longest batch ${longestBatch.toFixed(1)} ms`);
      assert.deepEqual(await d.query("SELECT n, count(*)::int AS c FROM t GROUP BY n"), [{ n: 1, c: ROWS }]);
      const [{ touched }] = await d.query<{ touched: string }>("SELECT sum(touched)::text AS touched FROM t");
      assert.equal(Number(touched), waits.length, "no concurrent update lost");
    } finally {
      await other.end();
      await d.close();
    }
  });
});

/** A dead run's leftovers: its claim of version "1", and the rows up to `doneUpTo` done by its committed batches. */
async function deadRun(query: (text: string, params?: unknown[]) => Promise<unknown>, db: object, up: string, doneUpTo: number): Promise<void> {
  await new Migrator(db, { migrations: [] }).migrate(); // creates the version table
  await query("INSERT INTO orchwf_migrations (version, description, checksum, execution_ms, dirty) VALUES ('1', 'backfill', $1, NULL, true)", [checksum(up)]);
  await query(`UPDATE t SET n = n + 1, done = true WHERE id <= ${doneUpTo}`);
}

/** The run lock of version "1" in the default version table, as a live run holds it. */
const RUN_LOCK = runLockSql({ history: new History(undefined, "orchwf_migrations") }, "1");

describe("a claim whose run lock is held is not resumed", () => {
  for (const engine of [pgliteEngine, postgresEngine]) {
    test(`${engine.name}: held (${engine.name === "pglite" ? "by this very session" : "by another connection"}) it is waited for; free, it is resumed`, { timeout: 120_000 }, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const d = await engine.open();
      const holder = engine.name === "postgres" ? postgres(d.url!, { max: 1, onnotice: () => {} }) : undefined;
      try {
        await seed((q) => d.query(q), 3_000);
        const up = BACKFILL().replace("LIMIT 10000", "LIMIT 1000");
        const migrations: Migration[] = [{ version: "1", description: "backfill", up, transaction: false }];
        await deadRun((q, p) => d.query(q, p), d.db, up, 1000);
        const hold = (text: string) => holder ? holder.unsafe(text) : d.query(text);
        assert.deepEqual([...await hold(RUN_LOCK.take)].map((r) => ({ ...r })), [{ taken: true }]);
        const refused = await new Migrator(d.db, { migrations, lockTimeoutMs: 300 }).migrate().then(() => undefined, (e) => e);
        assert.equal(refused?.code, "DIRTY", String(refused));
        assert.match(refused.message, /applied in batches by another run.*which is alive/);
        assert.deepEqual(await d.query("SELECT count(*)::int AS c FROM t WHERE done"), [{ c: 1000 }], "nothing ran beside the live run");
        await hold(RUN_LOCK.release);
        const { applied } = await new Migrator(d.db, { migrations }).migrate();
        assert.deepEqual(applied.map((a) => a.version), ["1"]);
        assert.deepEqual(await d.query("SELECT n, count(*)::int AS c FROM t GROUP BY n"), [{ n: 1, c: 3000 }]);
      } finally {
        await holder?.end();
        await d.close();
      }
    });
  }
});

describe("batched backfills on PGlite", () => {
  test("runs in batches (affectedRows), and resumes a claim whose run is gone: each row once", { timeout: 120_000 }, async () => {
    const d = await pgliteEngine.open();
    try {
      await seed((q) => d.query(q), 2_500);
      const up = BACKFILL().replace("LIMIT 10000", "LIMIT 1000");
      const migrations: Migration[] = [{ version: "1", description: "backfill", up, transaction: false }];
      await deadRun((q, p) => d.query(q, p), d.db, up, 2000); // its claim, and two committed batches
      const batches: BatchEvent[] = [];
      const { applied } = await new Migrator(d.db, { migrations, onEvent: (e) => e.type === "batch" && batches.push(e) }).migrate();
      assert.deepEqual(applied.map((a) => a.version), ["1"]);
      assert.deepEqual(batches.map((b) => b.rows), [500, 0]);
      assert.deepEqual(await d.query("SELECT n, count(*)::int AS c FROM t GROUP BY n"), [{ n: 1, c: 2500 }]);
      assert.deepEqual(await d.query("SELECT dirty FROM orchwf_migrations"), [{ dirty: false }]);
    } finally {
      await d.close();
    }
  });
});

describe("batched rollback", () => {
  test("a down file's batched statement runs in batches too (events say down)", { timeout: 60_000 }, async () => {
    const d = await pgliteEngine.open();
    try {
      await seed((q) => d.query(q), 250);
      const up = BACKFILL().replace("LIMIT 10000", "LIMIT 100");
      const down = "-- orchwf:no-transaction\n-- orchwf:batch\nUPDATE t SET n = n - 1, done = false WHERE id IN (SELECT id FROM t WHERE done LIMIT 100);\n";
      const events: BatchEvent[] = [];
      const migrator = new Migrator(d.db, { migrations: [{ version: "1", description: "b", up, down, transaction: false }], onEvent: (e) => e.type === "batch" && events.push(e) });
      await migrator.migrate();
      await migrator.rollback();
      assert.deepEqual(events.map((e) => [e.direction, e.rows]), [["up", 100], ["up", 100], ["up", 50], ["up", 0], ["down", 100], ["down", 100], ["down", 50], ["down", 0]]);
      assert.deepEqual(await d.query("SELECT n, done, count(*)::int AS c FROM t GROUP BY n, done"), [{ n: 0, done: false, c: 250 }]);
      assert.deepEqual(await d.query("SELECT count(*)::int AS c FROM orchwf_migrations"), [{ c: 0 }]);
    } finally {
      await d.close();
    }
  });
});

describe("-- orchwf:batch refusals", () => {
  const cases: { name: string; up: string; transaction: boolean; line: number; message: RegExp }[] = [
    { name: "in a transactional file", up: "-- orchwf:batch\nUPDATE t SET n = 1 WHERE false;\n", transaction: true, line: 1, message: /needs "-- orchwf:no-transaction"/ },
    { name: "not followed by a statement", up: "-- orchwf:no-transaction\nUPDATE t SET n = 1 WHERE false;\n-- orchwf:batch\n", transaction: false, line: 3, message: /line right before the statement/ },
    { name: "on a SELECT", up: "-- orchwf:no-transaction\nSELECT 1;\n-- orchwf:batch\nSELECT 2;\n", transaction: false, line: 3, message: /INSERT, UPDATE, DELETE or MERGE.*Select/ },
    { name: "on DDL", up: "-- orchwf:no-transaction\n-- orchwf:batch\nCREATE INDEX CONCURRENTLY i ON t (n);\n", transaction: false, line: 2, message: /this statement is a Index/ },
    { name: "inside a statement", up: "-- orchwf:no-transaction\nUPDATE t\n-- orchwf:batch\nSET n = 1;\n", transaction: false, line: 3, message: /line right before/ },
    { name: "with an unknown option", up: "-- orchwf:no-transaction\n-- orchwf:batch size=10\nDELETE FROM t WHERE false;\n", transaction: false, line: 2, message: /pause=DURATION/ },
  ];
  for (const c of cases) {
    test(`refused ${c.name}: INVALID_MIGRATION naming file and line, nothing runs`, { timeout: 60_000 }, async () => {
      const dir = migrationDir({ "001_t.up.sql": `${TABLE};\n`, "002_b.up.sql": c.up });
      const d = await pgliteEngine.open();
      try {
        const migrations = await loadMigrations(dir);
        const problems = (await checkMigrations(migrations, "up")).filter((p) => p.rule === "batch-directive");
        assert.equal(problems.length, 1, JSON.stringify(problems));
        assert.equal(problems[0].line, c.line);
        assert.match(problems[0].message, c.message);
        const err = await new Migrator(d.db, { migrations }).migrate().then(() => undefined, (e) => e);
        assert.equal(err?.code, "INVALID_MIGRATION");
        assert.match(err.message, new RegExp(`002_b\\.up\\.sql:${c.line}:1: `));
        assert.deepEqual(await d.query("SELECT to_regclass('t') IS NULL AS none"), [{ none: true }], "nothing applied");
      } finally {
        await d.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe("-- orchwf:batch pause", () => {
  test("pause=DURATION is parsed with the CLI's duration grammar; none means no pause", async () => {
    const plan = async (directive: string) => {
      const script = `-- orchwf:no-transaction\n${directive}\nDELETE FROM t WHERE id IN (SELECT id FROM t LIMIT 10);`;
      return batchPlan(script, await parseStatements(script), false);
    };
    assert.equal((await plan("-- orchwf:batch pause=100ms")).directives.get(0)?.pauseMs, 100);
    assert.equal((await plan("-- orchwf:batch pause=2s")).directives.get(0)?.pauseMs, 2000);
    assert.equal((await plan("-- orchwf:batch pause=250")).directives.get(0)?.pauseMs, 250);
    assert.equal((await plan("--orchwf:batch   pause=1.5s  ")).directives.get(0)?.pauseMs, 1500);
    assert.deepEqual((await plan("-- orchwf:batch")).directives.get(0), { statement: 0, line: 2 });
    assert.match((await plan("-- orchwf:batch pause=soon")).problems[0].message, /pause=DURATION/);
    assert.match((await plan("-- orchwf:batch pause=")).problems[0].message, /pause=DURATION/);
  });

  test("the pause is kept between batches (PGlite)", { timeout: 60_000 }, async () => {
    const d = await pgliteEngine.open();
    try {
      await seed((q) => d.query(q), 300);
      const up = BACKFILL(" pause=150ms").replace("LIMIT 10000", "LIMIT 100");
      const stamps: number[] = [];
      await new Migrator(d.db, { migrations: [{ version: "1", description: "b", up, transaction: false }], onEvent: (e) => e.type === "batch" && stamps.push(performance.now()) }).migrate();
      assert.equal(stamps.length, 4); // 100, 100, 100, 0
      for (let i = 1; i < stamps.length; i++) assert.ok(stamps[i] - stamps[i - 1] >= 140, `gap ${i}: ${(stamps[i] - stamps[i - 1]).toFixed(1)} ms`);
    } finally {
      await d.close();
    }
  });
});
