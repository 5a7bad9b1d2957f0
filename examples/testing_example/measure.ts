/**
 * Measures createTestDatabase as a test suite meets it. Not a test (no timing assertions anywhere):
 *   bun examples/testing_example/measure.ts            (also: deno run -A …, or a bun build --target=node bundle)
 * Each figure is the wait of one test: createTestDatabase() plus close(), where each test commits a row.
 * The on-disk cache is ORCHWF_CACHE_DIR: the script runs itself twice in child processes, once with an empty
 * cache directory (the first test on a new machine) and once with the cache it left (a second test process).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createTestDatabase } from "../../src/testing.ts";

const TESTS = Number(process.env.TESTS ?? 30);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** One test: get a database, check it is clean, commit a row, close it. */
async function oneTest(): Promise<number> {
  const started = performance.now();
  const db = await createTestDatabase();
  let waited = performance.now() - started;
  const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM orchwf_workflow_instances");
  if (rows[0].n !== 0) throw new Error("a test database was not clean");
  await db.query("INSERT INTO orchwf_workflow_instances (id, workflow_id) VALUES ('w1', 'flow')");
  const closing = performance.now();
  await db.close();
  waited += performance.now() - closing;
  return waited;
}

if (process.env.MEASURE_CHILD) {
  const first = await oneTest();
  const later: number[] = [];
  for (let i = 1; i < TESTS; i++) later.push(await oneTest());
  const rss = Math.round(process.memoryUsage().rss / 1e6);
  console.log(JSON.stringify({ first: Math.round(first), median: +median(later).toFixed(1), max: +Math.max(...later).toFixed(1), rss }));
} else {
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  const runtime = g.Bun ? `bun ${g.Bun.version}` : g.Deno ? `deno ${g.Deno.version.deno}` : `node ${process.version}`;
  const cache = mkdtempSync(join(tmpdir(), "orchwf-measure-cache-"));
  const args = g.Deno ? ["run", "-A", ...process.argv.slice(1)] : [...process.execArgv, ...process.argv.slice(1)];
  const child = () => {
    const run = spawnSync(process.execPath, args, { env: { ...process.env, MEASURE_CHILD: "1", ORCHWF_CACHE_DIR: cache }, encoding: "utf8" });
    if (run.status !== 0) throw new Error(run.stderr);
    return JSON.parse(run.stdout.trim().split("\n").at(-1)!);
  };
  const cold = child();
  const warm = child();
  rmSync(cache, { recursive: true, force: true });
  console.log(`${runtime}, ${TESTS} committing tests per process, built-in migrations:`);
  console.log(`  first test, empty cache:          ${cold.first} ms (initdb, migrate, snapshot to disk)`);
  console.log(`  first test of a second process:   ${warm.first} ms (snapshot loaded from disk)`);
  console.log(`  later tests (median, max):        ${cold.median} ms, ${cold.max} ms / ${warm.median} ms, ${warm.max} ms`);
  console.log(`  RSS after the ${TESTS} tests:           ${cold.rss} MB / ${warm.rss} MB`);
}
