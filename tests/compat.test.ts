/** Databases set up by the original Go orchwf/migrate: 001 is applied, nothing re-runs, the table is upgraded in place. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Migrator, orchwfMigrations } from "../src/mod.ts";
import { engines } from "./helpers/engines.ts";

for (const engine of engines) {
  describe(`Go package compatibility on ${engine.name}`, () => {
    test("a database migrated by the Go tool shows 001 applied, re-runs nothing, and gains our columns", async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const d = await engine.open();
      try {
        // What the Go package left behind: its version table, its row, and the schema of 001.
        await d.query(`CREATE TABLE orchwf_migrations (version VARCHAR(255) PRIMARY KEY, description TEXT,
          applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)`);
        for (const statement of orchwfMigrations[0].up.split(/;\s*\n(?=CREATE)/)) await d.query(statement);
        await d.query("INSERT INTO orchwf_migrations (version, description) VALUES ('001', 'Create OrchWF tables')");

        const migrator = new Migrator(d.db);
        const status = await migrator.status();
        assert.deepEqual(status.migrations.map((m) => `${m.version}:${m.state}`), ["001:applied"]);
        const { applied } = await migrator.migrate();
        assert.deepEqual(applied, []);

        const columns = await d.query<{ c: string }>(
          "SELECT column_name AS c FROM information_schema.columns WHERE table_name = 'orchwf_migrations' ORDER BY ordinal_position",
        );
        assert.deepEqual(columns.map((c) => c.c), ["version", "description", "applied_at", "checksum", "execution_ms", "dirty"]);
        const [row] = await d.query<{ checksum: string | null }>("SELECT checksum FROM orchwf_migrations");
        assert.equal(row.checksum, null, "the Go row is accepted as it is");
        assert.equal((await migrator.status()).migrations[0].state, "applied");
      } finally {
        await d.close();
      }
    });
  });
}
