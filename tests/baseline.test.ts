/** baseline(): adopting a database whose schema another tool made, on PGlite and PostgreSQL. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checksum, type Migration, MigrationError, Migrator, orchwfMigrations, toDriver } from "../src/mod.ts";
import { engines } from "./helpers/engines.ts";

const addPriority: Migration = {
  version: "900", // after any built-in version
  description: "add priority",
  up: "ALTER TABLE orchwf_workflow_instances ADD COLUMN priority int NOT NULL DEFAULT 0;",
  down: "ALTER TABLE orchwf_workflow_instances DROP COLUMN priority;",
};

for (const engine of engines) {
  const skip = (await engine.available()) ? false : "no PostgreSQL server here";
  describe(`baseline on ${engine.name}`, () => {
    test("records versions up to `to` as applied without running them; migrate() runs only the rest", { skip, timeout: 120_000 }, async () => {
      const d = await engine.open();
      try {
        // The built-in schema exists already, made by another tool: running it again would fail.
        for (const m of orchwfMigrations) await toDriver(d.db).exec(m.up);
        const migrator = new Migrator(d.db, { migrations: [...orchwfMigrations, addPriority] });
        const last = orchwfMigrations[orchwfMigrations.length - 1].version;
        const { baselined } = await migrator.baseline({ to: last });
        assert.deepEqual(baselined, orchwfMigrations.map((m) => ({ version: m.version, description: m.description })));

        const rows = await d.query<{ version: string; checksum: string; execution_ms: number | null }>(
          "SELECT version, checksum, execution_ms FROM orchwf_migrations ORDER BY version",
        );
        assert.deepEqual(
          rows.map((r) => ({ ...r })),
          orchwfMigrations.map((m) => ({ version: m.version, checksum: checksum(m.up), execution_ms: null })),
        );
        const status = await migrator.status();
        assert.deepEqual(
          status.migrations.map((m) => `${m.version} ${m.state}`),
          [...orchwfMigrations.map((m) => `${m.version} applied`), "900 pending"],
        );

        assert.deepEqual((await migrator.migrate()).applied.map((a) => a.version), ["900"]);
        assert.deepEqual((await migrator.baseline({ to: "900" })).baselined, [], "recorded versions stay as they are");
      } finally {
        await d.close();
      }
    });

    test("an unknown `to` is refused before anything is written", { skip, timeout: 120_000 }, async () => {
      const d = await engine.open();
      try {
        const err = await new Migrator(d.db).baseline({ to: "999" }).then(() => undefined, (e) => e);
        assert.ok(err instanceof MigrationError);
        assert.equal(err.code, "UNKNOWN_VERSION");
        const [table] = await d.query<{ name: string | null }>("SELECT to_regclass('orchwf_migrations')::text AS name");
        assert.equal(table.name, null);
      } finally {
        await d.close();
      }
    });
  });
}
