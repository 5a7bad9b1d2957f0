/**
 * drift and dump times on a generated history (scripts/bench/generate.ts), on the local PostgreSQL:
 * `bun scripts/bench/schema.ts [--n 300] [--runs 3] [--url postgres://…/postgres]`. Prints a Markdown table.
 * Each run is a fresh process-free library call; the PGlite instance of a replay is created inside each call.
 */
import postgres from "postgres";
import { Migrator } from "../../src/mod.ts";
import { detectDrift } from "../../src/schema/drift.ts";
import { dumpDatabase, dumpMigrations } from "../../src/schema/dump.ts";
import { benchMigrations } from "./generate.ts";

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const n = Number(arg("n", "300"));
const runs = Number(arg("runs", "3"));
const serverUrl = arg("url", process.env.ORCHWF_BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres");
const migrations = benchMigrations(n).map((m) => ({
  version: String(m.index).padStart(4, "0"),
  description: m.name,
  up: m.up,
  down: m.down,
}));

const name = `orchwf_bench_schema_${process.pid}`;
const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
await admin.unsafe(`CREATE DATABASE ${name}`);
const url = new URL(serverUrl);
url.pathname = `/${name}`;
const sql = postgres(url.toString(), { max: 1, onnotice: () => {} });
try {
  await new Migrator(sql, { migrations }).migrate();
  const cases: [string, () => Promise<unknown>][] = [
    ["drift (PG 15 live, replay on PGlite)", async () => {
      const r = await detectDrift(sql, migrations);
      if (!r.ok) throw new Error("drift on a clean database");
    }],
    ["dump --from live (server pg_dump)", () => dumpDatabase(sql, { url: url.toString() })],
    ["dump --from live (snapshot writer)", () => dumpDatabase(sql, { url: url.toString(), dumper: "snapshot" })],
    ["dump --from files (replay on PGlite + pg_dump in WebAssembly)", () => dumpMigrations(migrations)],
  ];
  const rows: string[] = [];
  for (const [label, fn] of cases) {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await fn();
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    rows.push(`| ${label} | ${(times[Math.floor(times.length / 2)] / 1000).toFixed(2)} s | ${(times[0] / 1000).toFixed(2)} s |`);
  }
  console.log(`| ${n} migrations | median of ${runs} | fastest |\n| --- | ---: | ---: |\n${rows.join("\n")}`);
} finally {
  await sql.end();
  await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
