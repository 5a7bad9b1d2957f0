/**
 * Per-test cost of a migrated test database, side by side in one run:
 *   bun scripts/bench/testing-db.ts [N] [--slow-n M] [--body MS]   medians over N calls (default 50) per mode and schema
 *   bun scripts/bench/testing-db.ts --rss MODE [COUNT]    peak RSS over COUNT (default 200) sequential databases
 * Modes: pg-template (createServerTestDatabase), pg-fresh (CREATE DATABASE + migrate), pglite-fresh
 * (PGlite.create + migrate), pglite-restored (createTestDatabase), pglite-reused (isolation "rollback").
 * Schemas: the built-in OrchWF schema and a generated 100-migration history (generate.ts). The server is
 * ORCHWF_TEST_DATABASE_URL (pg modes are left out without it). `--slow-n M` caps the calls of pglite-fresh,
 * which costs seconds each. `--body MS` holds each database for MS ms (untimed) before closing it, as a test's own
 * queries would: what the next database's background clone (pg-template) has to hide. Prints one JSON line per
 * measurement. `--no-prepare` turns the background clone off.
 */
import { spawnSync } from "node:child_process";
import process from "node:process";
import { PGlite } from "@electric-sql/pglite";
import postgres from "postgres";
import { type Migration, Migrator, orchwfMigrations } from "../../src/mod.ts";
import { clearTestDatabaseCache, closeServerTestDatabases, createServerTestDatabase, createTestDatabase } from "../../src/testing.ts";
import { benchMigrations } from "./generate.ts";

const MODES = ["pg-template", "pg-fresh", "pglite-fresh", "pglite-restored", "pglite-reused"] as const;
type Mode = typeof MODES[number];
const serverUrl = process.env.ORCHWF_TEST_DATABASE_URL;
/** `--no-prepare`: pg-template clones on demand (no clone made ahead), for comparison. */
const noPrepare = process.argv.includes("--no-prepare");
/** `--strategy wal_log|file_copy`: CREATE DATABASE's strategy for pg-template (default: createServerTestDatabase's). */
const strategyAt = process.argv.indexOf("--strategy");
const strategy = strategyAt > 0 ? process.argv[strategyAt + 1] as "wal_log" | "file_copy" : undefined;

const generated: Migration[] = benchMigrations(100).map((m) => ({
  version: String(m.index),
  description: m.name.replace(/_/g, " "),
  up: m.up,
  down: m.down,
}));
const SCHEMAS: Record<string, readonly Migration[]> = { builtin: orchwfMigrations, generated100: generated };

/** One test database of a mode: make it, run one query as a test would, and a function that lets go of it. */
async function open(mode: Mode, migrations: readonly Migration[], n: number): Promise<() => Promise<void>> {
  switch (mode) {
    case "pg-template": {
      const db = await createServerTestDatabase({ url: serverUrl!, migrations, family: `bench-${migrations.length}`, prepare: !noPrepare, strategy });
      await db.sql`SELECT 1 FROM orchwf_migrations LIMIT 1`;
      return () => db.close();
    }
    case "pg-fresh": {
      const admin = postgres(serverUrl!, { max: 1, onnotice: () => {} });
      const name = `orchwf_bench_fresh_${process.pid}_${n}`;
      await admin.unsafe(`CREATE DATABASE ${name}`);
      const url = new URL(serverUrl!);
      url.pathname = `/${name}`;
      const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });
      await new Migrator(sql, { migrations }).migrate();
      return async () => {
        await sql.end();
        await admin.unsafe(`DROP DATABASE ${name} WITH (FORCE)`);
        await admin.end();
      };
    }
    case "pglite-fresh": {
      const db = await PGlite.create();
      await new Migrator(db, { migrations }).migrate();
      return () => db.close();
    }
    case "pglite-restored":
    case "pglite-reused": {
      const db = await createTestDatabase({ migrations, isolation: mode === "pglite-reused" ? "rollback" : "restore" });
      await db.query("SELECT 1 FROM orchwf_migrations LIMIT 1");
      return () => db.close();
    }
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const rssMb = () => Math.round(process.memoryUsage().rss / 2 ** 20);

async function timeMode(mode: Mode, schema: string, calls: number, bodyMs: number): Promise<void> {
  const migrations = SCHEMAS[schema];
  const t0 = performance.now();
  await (await open(mode, migrations, 1_000_000))(); // the first call builds the template / snapshot: reported apart
  const firstMs = performance.now() - t0;
  const create: number[] = [];
  const total: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    const close = await open(mode, migrations, i);
    const made = performance.now();
    if (bodyMs > 0) await new Promise((resolve) => setTimeout(resolve, bodyMs));
    const closing = performance.now();
    await close();
    create.push(made - t);
    total.push(performance.now() - closing + made - t);
  }
  console.log(JSON.stringify({ mode: mode === "pg-template" ? `${mode}${noPrepare ? " no-prepare" : ""}${strategy ? ` ${strategy}` : ""}` : mode, schema, calls, bodyMs, firstMs: Math.round(firstMs), medianMs: +median(create).toFixed(1), withCloseMs: +median(total).toFixed(1), rssMb: rssMb() }));
}

async function peakRss(mode: Mode, count: number): Promise<void> {
  let peak = 0;
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const close = await open(mode, orchwfMigrations, i);
    await close();
    const now = rssMb();
    peak = Math.max(peak, now);
    if (i === 0 || (i + 1) % 50 === 0) samples.push(now);
  }
  console.log(JSON.stringify({ rss: mode, databases: count, peakMb: peak, rssMbAt: samples }));
}

const args = process.argv.slice(2);
if (args[0] === "--rss") {
  await peakRss(args[1] as Mode, Number(args[2] ?? 200));
} else {
  const n = Number(args.find((a, i) => /^\d+$/.test(a) && !args[i - 1]?.startsWith("--")) ?? 50);
  const slowAt = args.indexOf("--slow-n");
  const slowN = slowAt >= 0 ? Number(args[slowAt + 1]) : n;
  const bodyAt = args.indexOf("--body");
  const bodyMs = bodyAt >= 0 ? Number(args[bodyAt + 1]) : 0;
  const only = process.env.BENCH_MODES?.split(",") as Mode[] | undefined;
  for (const schema of Object.keys(SCHEMAS)) {
    for (const mode of only ?? MODES) {
      if (mode.startsWith("pg-") && !serverUrl) continue;
      await timeMode(mode, schema, mode === "pglite-fresh" || mode === "pg-fresh" ? Math.min(n, slowN) : n, bodyMs);
      clearTestDatabaseCache();
    }
  }
  // Peak RSS: each mode in a process of its own, so one mode's memory does not count for another.
  for (const mode of process.env.BENCH_RSS_COUNT === "0" ? [] : only ?? MODES) {
    if (mode.startsWith("pg-") && !serverUrl) continue;
    const r = spawnSync(process.execPath, [new URL(import.meta.url).pathname, "--rss", mode, String(Number(process.env.BENCH_RSS_COUNT ?? 200))], {
      stdio: ["ignore", "inherit", "inherit"],
      env: process.env,
    });
    if (r.status !== 0) console.log(JSON.stringify({ rss: mode, error: `exit ${r.status}` }));
  }
}
await closeServerTestDatabases();
