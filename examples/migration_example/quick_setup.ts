/**
 * Quick setup: apply the built-in OrchWF schema and print its status.
 * Uses ORCHWF_DB_URL / DATABASE_URL (postgres://…) when set, else an in-memory PGlite database.
 * Run: `bun examples/migration_example/quick_setup.ts` or `deno run -A examples/migration_example/quick_setup.ts`.
 */
import { PGlite } from "@electric-sql/pglite";
import postgres from "postgres";
import { Migrator, quickSetup } from "../../src/mod.ts";

const url = process.env.ORCHWF_DB_URL ?? process.env.DATABASE_URL;
const db = url ? postgres(url, { onnotice: () => {} }) : await PGlite.create();

const { applied } = await quickSetup(db, { timeoutMs: 30_000 });
for (const m of applied) console.log(`applied ${m.version} ${m.description} (${m.durationMs} ms)`);

const status = await new Migrator(db).status();
for (const m of status.migrations) console.log(`${m.version}  ${m.state.padEnd(8)}  ${m.description}`);

if ("end" in db) await db.end();
else await db.close();
