/**
 * What the application sees while a backfill runs (README: Batched backfills; BENCHMARKS.md: Batched backfills).
 * A table `t` of `ROWS` rows gets single-row UPDATEs on random ids from `CLIENTS` connections while the Migrator
 * backfills every row: once as one UPDATE in the migration's transaction, then with `-- orchwf:batch` at several
 * batch sizes. Reported: batches, the longest batch, the longest any application UPDATE waited, and the run's time.
 *
 *   bun scripts/bench/batch-backfill.ts [--rows 200000] [--clients 4]
 */
import postgres from "postgres";
import process from "node:process";
import { type Migration, type MigrationEvent, Migrator } from "../../src/mod.ts";

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const SERVER = process.env.ORCHWF_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const ROWS = arg("rows", 200_000);
const CLIENTS = arg("clients", 4);
const SIZES = [0, 1_000, 10_000, 50_000]; // 0: one UPDATE in the migration's transaction

const admin = postgres(SERVER, { max: 1, onnotice: () => {} });
const name = `orchwf_batch_bench_${process.pid}`;
await admin.unsafe(`CREATE DATABASE ${name}`);
const url = new URL(SERVER);
url.pathname = `/${name}`;
const db = postgres(url.toString(), { max: 2, onnotice: () => {} });

console.log(`| backfill | batches | longest batch ms | longest app wait ms | app updates | run ms |`);
console.log(`| --- | ---: | ---: | ---: | ---: | ---: |`);
try {
  for (const [i, size] of SIZES.entries()) {
    await db.unsafe("DROP TABLE IF EXISTS t; DROP TABLE IF EXISTS orchwf_migrations");
    await db.unsafe("CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL DEFAULT 0, done bool NOT NULL DEFAULT false, touched int NOT NULL DEFAULT 0)");
    await db.unsafe(`INSERT INTO t (id) SELECT generate_series(1, ${ROWS})`);
    await db.unsafe("VACUUM ANALYZE t");
    const migration: Migration = size === 0
      ? { version: String(i + 1), description: "one transaction", up: "UPDATE t SET n = n + 1, done = true WHERE NOT done;" }
      : {
        version: String(i + 1),
        description: `batches of ${size}`,
        up: `-- orchwf:no-transaction\n-- orchwf:batch\nUPDATE t SET n = n + 1, done = true WHERE id IN (SELECT id FROM t WHERE NOT done LIMIT ${size});`,
        transaction: false,
      };
    const app = postgres(url.toString(), { max: CLIENTS, onnotice: () => {} });
    let stop = false;
    let slowest = 0;
    let updates = 0;
    const worker = async (): Promise<void> => {
      while (!stop) {
        const started = performance.now();
        await app.unsafe("UPDATE t SET touched = touched + 1 WHERE id = $1", [1 + Math.floor(Math.random() * ROWS)]);
        slowest = Math.max(slowest, performance.now() - started);
        updates++;
      }
    };
    const workers = Array.from({ length: CLIENTS }, worker);
    const batches: number[] = [];
    const started = performance.now();
    await new Migrator(db, { migrations: [migration], onEvent: (e: MigrationEvent) => e.type === "batch" && batches.push(e.durationMs) }).migrate();
    const runMs = performance.now() - started;
    stop = true;
    await Promise.all(workers);
    await app.end();
    const longestBatch = batches.length > 0 ? Math.max(...batches) : runMs;
    console.log(`| ${migration.description} | ${batches.length || 1} | ${Math.round(longestBatch)} | ${Math.round(slowest)} | ${updates} | ${Math.round(runMs)} |`);
  }
} finally {
  await db.end();
  await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
