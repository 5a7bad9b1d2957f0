/**
 * createTestDatabase's on-disk snapshot cache, across real processes: written once, loaded by the next process,
 * keyed so it is never stale, safe when processes start at once, and a cache that is truncated, garbage or cannot
 * be written is warned about once and worked around. Each process must also exit by itself with an idle instance.
 * The tests share one cache directory (initdb's output is made once, as on a user's machine) and each uses
 * migrations of its own (a column name), so each starts without a migrated snapshot.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { bunBin, cleanEnv, root } from "./helpers/cli.ts";

const LONG = { timeout: 300_000 };
const work = mkdtempSync(join(tmpdir(), "orchwf-cache-test-"));
after(() => rmSync(work, { recursive: true, force: true }));

interface Seen {
  code: number | null;
  stderr: string;
  seen?: { columns: string[]; rows: unknown[] };
  /** Milliseconds from the end of the process's work to its exit. */
  lingered?: number;
}

/** Runs the fixture under Bun with the given cache directory; a process that does not end is killed (code null). */
function testProcess(cacheDir: string, column = "email"): Promise<Seen> {
  return new Promise((resolve) => {
    const child = spawn(bunBin, [join(root, "tests/fixtures/test-database-process.ts"), column], {
      env: cleanEnv({ ORCHWF_CACHE_DIR: cacheDir }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      const last = stdout.trim() ? JSON.parse(stdout.trim().split("\n").at(-1)!) : undefined;
      const { doneAt, ...seen } = last ?? {};
      resolve({ code, stderr, seen: last && seen, lingered: doneAt === undefined ? undefined : Date.now() - doneAt });
    });
  });
}

const entries = (dir: string) => readdirSync(dir).filter((n) => n.endsWith(".entry"));
const shared = join(work, "shared");
const expected = (column: string) => ({ columns: [column, "id"].sort(), rows: [{ id: 1, [column]: "seed" }] });
/** The entries written since `before` (a listing taken earlier). */
const added = (before: string[]) => entries(shared).filter((n) => !before.includes(n));

test("the first process writes the snapshot, the next loads it (and both exit by themselves)", LONG, async () => {
  const first = await testProcess(shared, "email");
  assert.equal(first.code, 0, first.stderr);
  // Idle instances are closed about a second after their last test; kept open, PostgreSQL's 10 s statistics
  // timer (a ref'd timer in PGlite) held the process 10 s.
  assert.ok(first.lingered! < 8000, `exited ${first.lingered} ms after its work`);
  assert.deepEqual(first.seen, expected("email"));
  assert.equal(first.stderr, "");
  const made = entries(shared);
  assert.equal(made.length, 2, "initdb's output and the migrated snapshot");
  for (const entry of made) utimesSync(join(shared, entry), new Date("2000-01-01"), new Date("2000-01-01"));
  const second = await testProcess(shared, "email");
  assert.equal(second.code, 0, second.stderr);
  assert.ok(second.lingered! < 8000, `exited ${second.lingered} ms after its work`);
  assert.deepEqual(second.seen, expected("email"));
  assert.equal(second.stderr, "");
  assert.deepEqual(entries(shared), made, "loaded, not written again");
  const used = made.filter((entry) => statSync(join(shared, entry)).mtimeMs > new Date("2001-01-01").getTime());
  assert.equal(used.length, 1, "the migrated snapshot's use is recorded (initdb's output was not needed)");
  // Other migrations: another entry, with their schema (a key never names stale content).
  const other = await testProcess(shared, "name");
  assert.deepEqual(other.seen, expected("name"));
  assert.equal(entries(shared).length, 3);
});

test("processes starting at once without a snapshot each get a migrated database and leave one whole entry", LONG, async () => {
  const before = entries(shared);
  const runs = await Promise.all([testProcess(shared, "racing"), testProcess(shared, "racing"), testProcess(shared, "racing")]);
  for (const run of runs) {
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.seen, expected("racing"));
  }
  assert.equal(added(before).length, 1);
  assert.deepEqual(readdirSync(shared).filter((n) => n.endsWith(".tmp")), []);
});

test("a truncated or garbage entry is warned about once, rebuilt, and never loaded as the database", LONG, async () => {
  const before = entries(shared);
  assert.equal((await testProcess(shared, "damaged")).code, 0);
  const [entry] = added(before);
  const size = statSync(join(shared, entry)).size;
  truncateSync(join(shared, entry), Math.floor(size / 2));
  const truncated = await testProcess(shared, "damaged");
  assert.equal(truncated.code, 0, truncated.stderr);
  assert.deepEqual(truncated.seen, expected("damaged"));
  assert.equal(truncated.stderr.match(/orchwf-migrate:/g)?.length, 1, truncated.stderr);
  assert.match(truncated.stderr, /is damaged \(truncated or overwritten\); it is rebuilt/);
  const [rebuilt] = added(before);
  assert.equal(statSync(join(shared, rebuilt)).size, size, "rebuilt whole");
  // Same length, wrong bytes: not a data directory at all.
  writeFileSync(join(shared, rebuilt), Buffer.alloc(size, 7));
  const garbage = await testProcess(shared, "damaged");
  assert.equal(garbage.code, 0, garbage.stderr);
  assert.deepEqual(garbage.seen, expected("damaged"));
  assert.match(garbage.stderr, /is damaged/);
});

test("a cache directory that cannot be written is warned about once; the database is still made", LONG, async () => {
  const file = join(work, "a-file");
  writeFileSync(file, "not a directory");
  const run = await testProcess(join(file, "cache"));
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.seen, expected("email"));
  assert.equal(run.stderr.match(/orchwf-migrate:/g)?.length, 1, run.stderr);
  assert.match(run.stderr, /cannot (read|write)/);
});

test("ORCHWF_CACHE_DIR=off keeps nothing on disk", LONG, async () => {
  const run = await testProcess("off");
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.seen, expected("email"));
  assert.deepEqual(readdirSync(root).filter((n) => n === "off"), []);
});
