/**
 * PGlite: `bun scripts/bench/run-pglite.ts [DIR]`. A fresh in-memory instance, then quickSetup (the built-in
 * OrchWF schema), or with DIR the workload's migrations. Prints one JSON line with the phases' times.
 */
import { PGlite } from "@electric-sql/pglite";
import { loadMigrations, Migrator, quickSetup } from "../../src/mod.ts";

const dir = process.argv[2];
const t0 = performance.now();
const db = await PGlite.create();
const created = performance.now();
const applied = dir === undefined
  ? (await quickSetup(db)).applied.length
  : (await new Migrator(db, { migrations: await loadMigrations(dir) }).migrate()).applied.length;
const done = performance.now();
await db.close();
console.log(JSON.stringify({ ms: done - t0, createMs: created - t0, migrateMs: done - created, applied }));
