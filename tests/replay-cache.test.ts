/**
 * drift and `dump --from files` keep their PGlite replay's result on disk (and initdb's output): the next run
 * answers without starting PGlite, and what it answers is never stale: edited migrations replay again, and the
 * live side of drift is always read afresh.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { bunRunner, cleanEnv, runWith } from "./helpers/cli.ts";
import { postgresEngine, type TestDatabase } from "./helpers/engines.ts";

const LONG = { timeout: 300_000 };
const work = mkdtempSync(join(tmpdir(), "orchwf-replay-cache-"));
const cache = join(work, "cache");
const dir = join(work, "migrations");
let server: TestDatabase | undefined;

before(async () => {
  if (await postgresEngine.available()) server = await postgresEngine.open();
});
after(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

const cli = (...args: string[]) => runWith(bunRunner, args, { env: cleanEnv({ ORCHWF_CACHE_DIR: cache, NO_COLOR: "1" }) });
const entries = () => readdirSync(cache).filter((n) => n.endsWith(".entry")).sort();

function writeMigration(column: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "001_users.up.sql"), `CREATE TABLE users (id int PRIMARY KEY, ${column} text);\n`);
  writeFileSync(join(dir, "001_users.down.sql"), "DROP TABLE users;\n");
}

test("dump --from files: the second run comes from the cache, an edited migration is replayed again", LONG, async () => {
  writeMigration("email");
  const first = await cli("dump", "--from", "files", "--dir", dir);
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout, /email text/);
  const made = entries();
  assert.ok(made.length >= 2, `initdb's output and the dump are kept: ${made}`);
  const second = await cli("dump", "--from", "files", "--dir", dir);
  assert.equal(second.stdout, first.stdout);
  assert.deepEqual(entries(), made, "nothing new was made");
  writeMigration("name");
  const edited = await cli("dump", "--from", "files", "--dir", dir);
  assert.equal(edited.code, 0, edited.stderr);
  assert.match(edited.stdout, /name text/);
  assert.doesNotMatch(edited.stdout, /email/);
});

test("drift: the replay comes from the cache, the live schema is read every time", LONG, async (t) => {
  if (!server) return t.skip("no PostgreSQL server");
  writeMigration("email");
  assert.equal((await cli("up", "--db", server.url!, "--dir", dir, "-q")).code, 0);
  const clean = await cli("drift", "--db", server.url!, "--dir", dir);
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  const kept = entries();
  await server.query("ALTER TABLE users ADD COLUMN extra int");
  const drifted = await cli("drift", "--db", server.url!, "--dir", dir, "--json");
  assert.equal(drifted.code, 1, drifted.stderr);
  assert.deepEqual(JSON.parse(drifted.stdout).differences.map((d: { name: string }) => d.name), ["public.users.extra"]);
  assert.deepEqual(entries(), kept, "the replay was not made again");
});

test("a new pglite: directory starts from initdb's cached output, and keeps what is applied to it", LONG, async () => {
  writeMigration("email");
  const first = await cli("up", "--db", `pglite:${join(work, "db1")}`, "--dir", dir);
  assert.equal(first.code, 0, first.stderr);
  const kept = entries();
  assert.ok(kept.length >= 1);
  const second = await cli("up", "--db", `pglite:${join(work, "db2")}`, "--dir", dir);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(entries(), kept, "loaded, not made again");
  for (const db of ["db1", "db2"]) {
    const status = await cli("status", "--db", `pglite:${join(work, db)}`, "--dir", dir, "--json");
    assert.equal(status.code, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).current, "001");
  }
});
