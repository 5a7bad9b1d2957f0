/**
 * createTestDatabase's on-disk snapshot cache, across real processes: written once, loaded by the next process,
 * keyed so it is never stale, safe when processes start at once, and a cache that is truncated, garbage or cannot
 * be written is warned about once and worked around. Each process must also exit by itself with an idle instance.
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
      resolve({ code, stderr, seen: stdout.trim() ? JSON.parse(stdout.trim().split("\n").at(-1)!) : undefined });
    });
  });
}

const entries = (dir: string) => readdirSync(dir).filter((n) => n.endsWith(".entry"));
const expected = { columns: ["email", "id"], rows: [{ id: 1, email: "seed" }] };

test("the first process writes the snapshot, the next loads it (and both exit by themselves)", LONG, async () => {
  const dir = join(work, "plain");
  const first = await testProcess(dir);
  assert.equal(first.code, 0, first.stderr);
  assert.deepEqual(first.seen, expected);
  assert.equal(first.stderr, "");
  assert.equal(entries(dir).length, 1);
  const [entry] = entries(dir);
  utimesSync(join(dir, entry), new Date("2000-01-01"), new Date("2000-01-01"));
  const second = await testProcess(dir);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(second.seen, expected);
  assert.equal(second.stderr, "");
  assert.deepEqual(entries(dir), [entry], "loaded, not written again");
  assert.ok(statSync(join(dir, entry)).mtimeMs > new Date("2001-01-01").getTime(), "its use is recorded");
  // Other migrations: another entry, with their schema (a key never names stale content).
  const other = await testProcess(dir, "name");
  assert.deepEqual(other.seen, { columns: ["id", "name"], rows: [{ id: 1, name: "seed" }] });
  assert.equal(entries(dir).length, 2);
});

test("processes starting at once with an empty cache each get a migrated database and leave one whole entry", LONG, async () => {
  const dir = join(work, "racing");
  const runs = await Promise.all([testProcess(dir), testProcess(dir), testProcess(dir)]);
  for (const run of runs) {
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.seen, expected);
  }
  assert.equal(entries(dir).length, 1);
  assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith(".tmp")), []);
});

test("a truncated or garbage entry is warned about once, rebuilt, and never loaded as the database", LONG, async () => {
  const dir = join(work, "damaged");
  assert.equal((await testProcess(dir)).code, 0);
  const [entry] = entries(dir);
  const size = statSync(join(dir, entry)).size;
  truncateSync(join(dir, entry), Math.floor(size / 2));
  const truncated = await testProcess(dir);
  assert.equal(truncated.code, 0, truncated.stderr);
  assert.deepEqual(truncated.seen, expected);
  assert.equal(truncated.stderr.match(/orchwf-migrate:/g)?.length, 1, truncated.stderr);
  assert.match(truncated.stderr, /is damaged \(truncated or overwritten\); it is rebuilt/);
  assert.equal(statSync(join(dir, entries(dir)[0])).size, size, "rebuilt whole");
  // Same length, wrong bytes: not a data directory at all.
  writeFileSync(join(dir, entries(dir)[0]), Buffer.alloc(size, 7));
  const garbage = await testProcess(dir);
  assert.equal(garbage.code, 0, garbage.stderr);
  assert.deepEqual(garbage.seen, expected);
  assert.match(garbage.stderr, /is damaged/);
});

test("a cache directory that cannot be written is warned about once; the database is still made", LONG, async () => {
  const file = join(work, "a-file");
  writeFileSync(file, "not a directory");
  const run = await testProcess(join(file, "cache"));
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.seen, expected);
  assert.equal(run.stderr.match(/orchwf-migrate:/g)?.length, 1, run.stderr);
  assert.match(run.stderr, /cannot (read|write)/);
});

test("ORCHWF_CACHE_DIR=off keeps nothing on disk", LONG, async () => {
  const run = await testProcess("off");
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.seen, expected);
  assert.deepEqual(readdirSync(root).filter((n) => n === "off"), []);
});
