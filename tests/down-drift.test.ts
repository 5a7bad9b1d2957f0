/**
 * Rolling back a drifted migration: `down`, `redo` and `rollback()`/`redo()` of an applied migration whose up file
 * changed since it was applied (status `modified`) are refused with CHECKSUM_MISMATCH naming version and file, and
 * nothing runs, unless `--allow-drift` / `allowDrift: true`.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { describe, test } from "node:test";
import { loadMigrations, MigrationError, Migrator } from "../src/mod.ts";
import { bunRunner, runWith } from "./helpers/cli.ts";
import { engines } from "./helpers/engines.ts";
import { migrationDir } from "./fixtures/spawn-runner.ts";

/** 002 made table b; its up file is then edited to make b2, and its down file to drop b2. */
function driftedDir(): string {
  const dir = migrationDir({
    "001_a.up.sql": "CREATE TABLE a (id int);\n",
    "001_a.down.sql": "DROP TABLE a;\n",
    "002_b.up.sql": "CREATE TABLE b (id int);\n",
    "002_b.down.sql": "DROP TABLE b;\n",
  });
  return dir;
}

function editAfterApply(dir: string): void {
  writeFileSync(join(dir, "002_b.up.sql"), "CREATE TABLE b2 (id int);\n");
  writeFileSync(join(dir, "002_b.down.sql"), "DROP TABLE IF EXISTS b2;\n");
}

for (const engine of engines) {
  describe(`rollback of a modified migration on ${engine.name}`, () => {
    test("rollback() and redo() refuse with CHECKSUM_MISMATCH and run nothing; allowDrift rolls back", { timeout: 120_000 }, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const dir = driftedDir();
      const d = await engine.open();
      try {
        await new Migrator(d.db, { migrations: await loadMigrations(dir) }).migrate();
        editAfterApply(dir);
        const migrator = new Migrator(d.db, { migrations: await loadMigrations(dir) });
        for (const attempt of [() => migrator.rollback(), () => migrator.redo(), () => migrator.rollback({ all: true })]) {
          const refused = await attempt().catch((e) => e);
          assert.ok(refused instanceof MigrationError, String(refused));
          assert.equal(refused.code, "CHECKSUM_MISMATCH");
          assert.equal(refused.version, "002");
          assert.equal(refused.file, join(dir, "002_b.up.sql"));
          assert.match(refused.message, /002 \(.*002_b\.up\.sql\)/);
          assert.match(refused.message, /nothing was rolled back/);
        }
        const versions = await d.query<{ version: string }>("SELECT version FROM orchwf_migrations ORDER BY version");
        assert.deepEqual(versions.map((r) => r.version), ["001", "002"]);
        assert.equal((await d.query("SELECT 1 FROM pg_class WHERE relname = 'b'")).length, 1, "table b is still there");

        const { rolledBack } = await migrator.rollback({ allowDrift: true });
        assert.deepEqual(rolledBack.map((r) => r.version), ["002"]);
        const left = await d.query<{ version: string }>("SELECT version FROM orchwf_migrations ORDER BY version");
        assert.deepEqual(left.map((r) => r.version), ["001"]);
      } finally {
        await d.close();
      }
    });
  });
}

test("CLI down and redo refuse a modified migration (text and --json) unless --allow-drift", { timeout: 120_000 }, async () => {
  const dir = driftedDir();
  const db = ["--dir", dir, "--db", `pglite:${join(dir, "data")}`];
  assert.equal((await runWith(bunRunner, ["up", ...db])).code, 0);
  editAfterApply(dir);
  for (const command of ["down", "redo"]) {
    const text = await runWith(bunRunner, [command, ...db]);
    assert.equal(text.code, 1, text.stderr);
    assert.match(text.stderr, /002 \(.*002_b\.up\.sql\)/);
    assert.match(text.stderr, /--allow-drift/);
    assert.doesNotMatch(text.stderr, /library:|allowDrift/);
    const json = await runWith(bunRunner, [command, ...db, "--json"]);
    assert.equal(json.code, 1);
    const error = JSON.parse(json.stdout).error;
    assert.equal(error.code, "CHECKSUM_MISMATCH");
    assert.equal(error.version, "002");
  }
  const status = await runWith(bunRunner, ["status", ...db, "--json"]);
  assert.deepEqual(JSON.parse(status.stdout).migrations.map((m: { state: string }) => m.state), ["applied", "modified"]);
  const forced = await runWith(bunRunner, ["redo", ...db, "--allow-drift", "--json"]);
  assert.equal(forced.code, 0, forced.stderr);
  const after = await runWith(bunRunner, ["status", ...db, "--json"]);
  assert.deepEqual(JSON.parse(after.stdout).migrations.map((m: { state: string }) => m.state), ["applied", "applied"]);
});
