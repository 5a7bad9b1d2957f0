/**
 * Drift: status() reports applied files that were modified and versions whose files are missing; migrate()
 * refuses while an applied file was modified (naming version and file) unless allowDrift; rollback of a missing
 * version is refused.
 */
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { loadMigrations, MigrationError, Migrator } from "../src/mod.ts";
import { engines } from "./helpers/engines.ts";
import { migrationDir } from "./fixtures/spawn-runner.ts";

for (const engine of engines) {
  describe(`drift on ${engine.name}`, () => {
    test("status shows modified and missing; migrate refuses on modified unless allowDrift", { timeout: 120_000 }, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const dir = migrationDir({
        "001_a.up.sql": "CREATE TABLE a (id int);\n",
        "002_b.up.sql": "CREATE TABLE b (id int);\n",
        "002_b.down.sql": "DROP TABLE b;\n",
        "003_c.up.sql": "CREATE TABLE c (id int);\n",
        "003_c.down.sql": "DROP TABLE c;\n",
      });
      const d = await engine.open();
      try {
        await new Migrator(d.db, { migrations: await loadMigrations(dir) }).migrate();
        // A CRLF checkout of the same SQL is not drift.
        writeFileSync(join(dir, "001_a.up.sql"), "CREATE TABLE a (id int);\r\n");
        // 002 edited after it was applied; 003's files deleted; 004 new.
        writeFileSync(join(dir, "002_b.up.sql"), "CREATE TABLE b (id int, extra text);\n");
        rmSync(join(dir, "003_c.up.sql"));
        rmSync(join(dir, "003_c.down.sql"));
        writeFileSync(join(dir, "004_d.up.sql"), "CREATE TABLE d (id int);\n");
        writeFileSync(join(dir, "004_d.down.sql"), "DROP TABLE d;\n");
        const warnings: string[] = [];
        const migrator = new Migrator(d.db, {
          migrations: await loadMigrations(dir),
          logger: { info() {}, warn: (m) => warnings.push(m) },
        });

        const status = await migrator.status();
        assert.deepEqual(status.migrations.map((m) => [m.version, m.state]), [
          ["001", "applied"],
          ["002", "modified"],
          ["003", "missing"],
          ["004", "pending"],
        ]);
        assert.deepEqual(await migrator.plan(), {
          pending: [{ version: "004", description: "d", transaction: true }],
          modified: ["002"],
          missing: ["003"],
        });

        const refused = await migrator.migrate().catch((e) => e);
        assert.ok(refused instanceof MigrationError);
        assert.equal(refused.code, "CHECKSUM_MISMATCH");
        assert.equal(refused.version, "002");
        assert.equal(refused.file, join(dir, "002_b.up.sql"));
        assert.ok(refused.message.includes(`002 (${join(dir, "002_b.up.sql")})`), refused.message);
        assert.match(refused.message, /allowDrift/);
        assert.equal((await d.query("SELECT to_regclass('d') AS r"))[0].r, null, "nothing ran");

        const { applied } = await migrator.migrate({ allowDrift: true });
        assert.deepEqual(applied.map((r) => r.version), ["004"]);
        assert.ok(warnings.some((w) => w.includes("version 003") && w.includes("no migration file")), warnings.join("\n"));
        // The modified text was not re-run and stays reported.
        assert.equal((await d.query<{ n: number }>("SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'b'"))[0].n, 1);
        assert.equal((await migrator.status()).migrations[1].state, "modified");

        // Rolling back down to the missing version is refused before anything runs.
        const missing = await migrator.rollback({ to: "001" }).catch((e) => e);
        assert.equal(missing.code, "UNKNOWN_VERSION");
        assert.equal(missing.version, "003");
        assert.ok((await d.query("SELECT to_regclass('d') AS r"))[0].r !== null);
      } finally {
        await d.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
