/**
 * Your own migrations, written in code, on top of the built-in OrchWF schema: one Migrator manages both,
 * in one version table, in version order. Then roll the newest back and apply it again.
 * Run: `bun examples/migration_example/custom_migrations.ts` (or `deno run -A …`); ORCHWF_DB_URL picks a server.
 */
import { type Migration, Migrator, orchwfMigrations } from "../../src/mod.ts";
import { openDatabase } from "./database.ts";

// Versions are digits compared as numbers; keep yours above the built-in ones (001, ...).
const appMigrations: Migration[] = [
  {
    version: "100",
    description: "workflow tags",
    up: `CREATE TABLE app_workflow_tags (
  workflow_inst_id VARCHAR(36) NOT NULL REFERENCES orchwf_workflow_instances (id) ON DELETE CASCADE,
  tag TEXT NOT NULL,
  PRIMARY KEY (workflow_inst_id, tag)
);`,
    down: "DROP TABLE app_workflow_tags;",
  },
  {
    version: "101",
    description: "tag lookup index",
    up: "CREATE INDEX app_workflow_tags_tag ON app_workflow_tags (tag);",
    down: "DROP INDEX app_workflow_tags_tag;",
  },
];

const { db, label, close } = await openDatabase();
try {
  const migrator = new Migrator(db, { migrations: [...orchwfMigrations, ...appMigrations] });
  console.log(`database: ${label}`);

  const { pending } = await migrator.plan();
  console.log(`pending: ${pending.map((m) => m.version).join(", ") || "none"}`);

  for (const run of (await migrator.migrate()).applied) console.log(`applied ${run.version} ${run.description}`);

  const { rolledBack } = await migrator.rollback(); // the newest one: 101
  console.log(`rolled back ${rolledBack.map((r) => r.version).join(", ")}`);
  for (const run of (await migrator.migrate()).applied) console.log(`applied ${run.version} ${run.description} again`);

  const status = await migrator.status();
  for (const m of status.migrations) console.log(`${m.version.padEnd(4)} ${m.state.padEnd(8)} ${m.description}`);
  console.log(`current version: ${status.current}, ${status.pending} pending`);
} finally {
  await close();
}
