/**
 * Deadlines that hold (class "a stop cancels the running statement on the server and the process ends"), through
 * the real CLI:
 * - a no-transaction statement waiting for a lock another session holds: `--timeout` cancels it on the server,
 *   the process ends while the other session still holds its lock, nothing of the migration took effect, its
 *   version is pending again (not failed), and a plain `up` applies it once the lock is gone;
 * - a server that accepts TCP and never answers: the run ends at its `--timeout`, not at connect_timeout.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import postgres from "postgres";
import { bunRunner, cleanEnv, runWith } from "./helpers/cli.ts";
import { postgresEngine } from "./helpers/engines.ts";
import { tree } from "./helpers/tree.ts";

describe("deadlines hold", () => {
  test("--timeout cancels a no-transaction statement waiting for a lock: nothing applied, pending again", { timeout: 120_000 }, async () => {
    const d = await postgresEngine.open();
    const holder = postgres(d.url, { max: 1, onnotice: () => {} });
    const dir = tree({
      "001_t.up.sql": "CREATE TABLE t (id int);\n",
      "002_alter.up.sql": "-- orchwf:no-transaction\nALTER TABLE t ADD COLUMN x int;\nALTER TABLE t ADD COLUMN y int;\n",
    });
    try {
      assert.equal((await runWith(bunRunner, ["up", "--to", "001", "--db", d.url, "--dir", dir], { env: cleanEnv() })).code, 0);
      const held = holder.begin(async (tx) => {
        await tx`LOCK TABLE t`;
        await tx`SELECT pg_sleep(60)`;
      }).catch(() => {});
      await d.query("SELECT 1"); // the holder's LOCK is granted before the run starts: poll for it
      for (let i = 0; i < 100 && (await d.query("SELECT 1 FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = 't'::regclass")).length === 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const run = await runWith(bunRunner, ["up", "--timeout", "2s", "--db", d.url, "--dir", dir], { env: cleanEnv() });
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /timed out/);
      // The process ended while the lock is still held: it did not wait for the statement to get it.
      const holding = await d.query("SELECT 1 FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = 't'::regclass AND granted");
      assert.equal(holding.length, 1, "the other session still holds its lock");
      const waiting = await d.query("SELECT 1 FROM pg_stat_activity WHERE query LIKE 'ALTER TABLE t%' AND datname = current_database()");
      assert.equal(waiting.length, 0, "the statement was cancelled on the server, not left waiting");
      await d.query("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()");
      await held;
      const columns = await d.query("SELECT column_name FROM information_schema.columns WHERE table_name = 't' ORDER BY 1");
      assert.deepEqual(columns, [{ column_name: "id" }], "nothing of 002 took effect");
      const status = await runWith(bunRunner, ["status", "--json", "--db", d.url, "--dir", dir], { env: cleanEnv() });
      const states = JSON.parse(status.stdout).migrations.map((m: { version: string; state: string }) => `${m.version}:${m.state}`);
      assert.deepEqual(states, ["001:applied", "002:pending"]);
      const again = await runWith(bunRunner, ["up", "--db", d.url, "--dir", dir], { env: cleanEnv() });
      assert.equal(again.code, 0, again.stderr);
      const after = await d.query("SELECT column_name FROM information_schema.columns WHERE table_name = 't' ORDER BY 1");
      assert.deepEqual(after.map((r) => (r as { column_name: string }).column_name), ["id", "x", "y"]);
    } finally {
      await holder.end({ timeout: 1 });
      await d.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a server that accepts TCP and never answers: the run ends at --timeout, not at connect_timeout", { timeout: 60_000 }, async () => {
    const silent: Server = createServer((socket) => socket.on("data", () => {}));
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), "orchwf-silent-"));
    try {
      const started = Date.now();
      const run = await runWith(bunRunner, [
        "status",
        "--timeout",
        "1s",
        "--db",
        `postgres://app:Silent-Secret@127.0.0.1:${port}/app?connect_timeout=60`,
        "--dir",
        dir,
      ], { env: cleanEnv() });
      const ms = Date.now() - started;
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /timed out/);
      assert.ok(!`${run.stdout}${run.stderr}`.includes("Silent-Secret"));
      // Generous: before, the open connection attempt kept the process for the 5 s linger after the message.
      assert.ok(ms < 4_500, `the process ended ${ms} ms after it started, for a 1 s timeout`);
    } finally {
      silent.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
