/**
 * Where a PGlite test database's time and memory go: `bun scripts/bench/pglite-profile.ts [N]`.
 * Times a fresh PGlite.create() (WASM instantiation + initdb), migrate, dumpDataDir, a restore from the dump
 * (loadDataDir), clone() of a migrated instance, and a reused instance's BEGIN/ROLLBACK; prints RSS as it goes.
 */
import { PGlite } from "@electric-sql/pglite";
import { Migrator, orchwfMigrations } from "../../src/mod.ts";

const N = Number(process.argv[2] ?? 10);
const mb = () => Math.round(process.memoryUsage().rss / 2 ** 20);
const time = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

const [fresh, createMs] = await time(() => PGlite.create());
const [, migrateMs] = await time(() => new Migrator(fresh, { migrations: orchwfMigrations }).migrate());
const [dump, dumpMs] = await time(() => fresh.dumpDataDir("none"));
console.log(JSON.stringify({ step: "fresh", createMs, migrateMs, dumpMs, dumpBytes: dump.size, rssMb: mb() }));

const restore: number[] = [];
for (let i = 0; i < N; i++) {
  const [db, ms] = await time(() => PGlite.create({ loadDataDir: dump }));
  restore.push(ms);
  await db.close();
}
console.log(JSON.stringify({ step: "restore (loadDataDir)", medianMs: median(restore), rssMb: mb() }));

const clones: number[] = [];
for (let i = 0; i < N; i++) {
  const [db, ms] = await time(() => fresh.clone());
  clones.push(ms);
  await db.close();
}
console.log(JSON.stringify({ step: "clone()", medianMs: median(clones), rssMb: mb() }));

const reused: number[] = [];
for (let i = 0; i < N; i++) {
  const [, ms] = await time(async () => {
    await fresh.exec("BEGIN");
    await fresh.exec("INSERT INTO orchwf_workflow_instances (id, workflow_id) VALUES ('w', 'f')");
    await fresh.exec("ROLLBACK");
  });
  reused.push(ms);
}
console.log(JSON.stringify({ step: "reused + rollback", medianMs: median(reused), rssMb: mb() }));
await fresh.close();
