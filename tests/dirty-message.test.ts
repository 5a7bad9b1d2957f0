/**
 * A no-transaction migration that failed part way: its error says exactly which statements stay done and which never
 * ran, the DIRTY refusal of the next run does not contradict itself, and `status` never calls the `failed` version
 * the current one (library, CLI text and --json).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { outOfOrder } from "../src/cli/render.ts";
import { loadMigrations, MigrationError, Migrator } from "../src/mod.ts";
import { bunRunner, runWith } from "./helpers/cli.ts";
import { engines } from "./helpers/engines.ts";
import { migrationDir } from "./fixtures/spawn-runner.ts";

/** 001 applies; 002 runs its first statement, fails on its second, never runs its third. */
const FILES = {
  "001_base.up.sql": "CREATE TABLE base (id int);\n",
  "002_half.up.sql": "-- orchwf:no-transaction\nCREATE TABLE kept (id int);\nSELECT * FROM no_such_table;\nCREATE TABLE never (id int);\n",
};

for (const engine of engines) {
  describe(`a no-transaction migration that failed part way, on ${engine.name}`, () => {
    test("the failure and the DIRTY refusal say exactly what happened; current is the last applied version", { timeout: 120_000 }, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const dir = migrationDir(FILES);
      const d = await engine.open();
      try {
        const migrator = new Migrator(d.db, { migrations: await loadMigrations(dir) });
        const failed = await migrator.migrate().catch((e) => e);
        assert.ok(failed instanceof MigrationError, String(failed));
        assert.equal(failed.code, "SQL_ERROR");
        assert.match(failed.message, /the 1 statement before it took effect and stay/);
        assert.match(failed.message, /the 1 statement after it never ran/);
        assert.equal((await d.query("SELECT 1 FROM pg_class WHERE relname = 'kept'")).length, 1);
        assert.equal((await d.query("SELECT 1 FROM pg_class WHERE relname = 'never'")).length, 0);

        const dirty = await migrator.migrate().catch((e) => e);
        assert.equal(dirty.code, "DIRTY");
        assert.match(dirty.message, /the statements before the failing one took effect and stay, those after it never ran/);
        assert.match(dirty.message, /This run changed nothing/);
        assert.doesNotMatch(dirty.message, /applied nothing|nothing was (run|applied)|the others did not/);

        const status = await migrator.status();
        assert.deepEqual(status.migrations.map((m) => m.state), ["applied", "failed"]);
        assert.equal(status.current, "001", "a failed version is not the current one");
      } finally {
        await d.close();
      }
    });
  });
}

test("CLI status: a failed version is never the current one (text and --json)", { timeout: 120_000 }, async () => {
  const dir = migrationDir({ "001_half.up.sql": FILES["002_half.up.sql"] });
  const db = ["--dir", dir, "--db", `pglite:${join(dir, "data")}`];
  const up = await runWith(bunRunner, ["up", ...db]);
  assert.equal(up.code, 1);
  assert.match(up.stderr, /no statement before it ran|the 1 statement before it/);
  const json = await runWith(bunRunner, ["status", ...db, "--json"]);
  assert.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout);
  assert.equal(report.migrations[0].state, "failed");
  assert.equal(report.current, null);
  const text = await runWith(bunRunner, ["status", ...db, "--no-color"]);
  assert.match(text.stdout, /current version: none/);
  assert.match(text.stdout, /001 failed/);
});

test("out-of-order versions are counted below the current (applied) version, never below a failed one", () => {
  const entries = [
    { version: "1", state: "applied" },
    { version: "2", state: "pending" },
    { version: "3", state: "failed" },
  ] as never;
  assert.deepEqual(outOfOrder(entries), [], "002 is not below an applied version");
  assert.deepEqual(outOfOrder([...(entries as unknown[]), { version: "4", state: "applied" }] as never), ["2"]);
});
