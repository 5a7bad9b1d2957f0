/**
 * Commands that only read or undo never create state: `--db pglite:PATH` where PATH holds no database is
 * NO_DATABASE naming the path (exit 1), and no directory, lock file or database appears. `up` and `baseline` create it.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { bunRunner, runWith } from "./helpers/cli.ts";

const READERS = [["status"], ["drift"], ["dump"], ["dump", "--from", "live"], ["up", "--dry-run"], ["down"], ["redo"], ["resolve", "001", "--applied"]];

test("read-only and undoing commands refuse a pglite: path with no database, creating nothing", { timeout: 120_000 }, async () => {
  const cwd = mkdtempSync(join(tmpdir(), "orchwf-typo-"));
  try {
    mkdirSync(join(cwd, "empty"));
    const runs = await Promise.all(READERS.flatMap((args) => [
      runWith(bunRunner, [...args, "--db", "pglite:./typo", "--json"], { cwd }),
      runWith(bunRunner, [...args, "--db", "pglite:./empty"], { cwd }),
    ]));
    READERS.forEach((args, i) => {
      const [json, text] = [runs[2 * i], runs[2 * i + 1]];
      assert.equal(json.code, 1, `${args.join(" ")}: ${json.stderr}`);
      const error = JSON.parse(json.stdout).error;
      assert.equal(error.code, "NO_DATABASE", `${args.join(" ")}: ${json.stdout}`);
      assert.ok(error.message.includes(join(cwd, "typo")), error.message);
      assert.match(error.message, /does not exist/);
      assert.equal(text.code, 1, `${args.join(" ")}: ${text.stderr}`);
      assert.ok(text.stderr.includes(join(cwd, "empty")), text.stderr);
      assert.match(text.stderr, /holds no database/);
      assert.match(text.stderr, /orchwf-migrate up/);
    });
    assert.deepEqual(readdirSync(cwd), ["empty"], "no directory, lock file or database was created");
    assert.deepEqual(readdirSync(join(cwd, "empty")), []);

    const up = await runWith(bunRunner, ["up", "--db", "pglite:./typo"], { cwd });
    assert.equal(up.code, 0, up.stderr);
    assert.ok(existsSync(join(cwd, "typo", "PG_VERSION")), "up creates the directory and the database");
    const status = await runWith(bunRunner, ["status", "--db", "pglite:./typo", "--json"], { cwd });
    assert.equal(status.code, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).pending, 0);
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
