/**
 * Measures what createTestDatabase saves: a fresh migrated PGlite (initdb + migrations) against one restored
 * from the snapshot. Not a test (no timing assertions anywhere): run `bun examples/testing_example/measure.ts`.
 */
import { PGlite } from "@electric-sql/pglite";
import { Migrator } from "../../src/mod.ts";
import { createTestDatabase } from "../../src/testing.ts";

const ROUNDS = Number(process.env.ROUNDS ?? 5);

async function timed(fn: () => Promise<PGlite>): Promise<number> {
  const started = performance.now();
  const db = await fn();
  const ms = performance.now() - started;
  await db.close();
  return ms;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const fresh: number[] = [];
const restored: number[] = [];
const first = await timed(() => createTestDatabase());
for (let i = 0; i < ROUNDS; i++) {
  fresh.push(await timed(async () => {
    const db = await PGlite.create();
    await new Migrator(db).migrate();
    return db;
  }));
  restored.push(await timed(() => createTestDatabase()));
}
const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
const runtime = g.Bun ? `bun ${g.Bun.version}` : g.Deno ? `deno ${g.Deno.version.deno}` : `node ${process.version}`;
console.log(`${runtime}, ${ROUNDS} rounds, built-in migrations, medians:`);
console.log(`  fresh PGlite + migrate:            ${median(fresh).toFixed(0)} ms`);
console.log(`  createTestDatabase, first call:    ${first.toFixed(0)} ms (migrates and snapshots)`);
console.log(`  createTestDatabase, later calls:   ${median(restored).toFixed(0)} ms (restored from the snapshot)`);
