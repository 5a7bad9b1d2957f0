/**
 * Large files, side by side in one run (issue #26's goals):
 *   bun scripts/bench/large-file.ts [--mb 50] [--runs 3] [--url postgres://postgres@127.0.0.1:5432/postgres]
 * - `up` of one file of INSERTs (integers, and strings holding `/*`), ours (the compiled binary in dist/, else the
 *   sources under Bun) against `psql -1 -f`, each on a fresh database, in turn; wall time and peak RSS.
 * - PGlite: `status` of a 40,000-INSERT file against a one-line file, and `up` of it on PGlite against PostgreSQL.
 * Prints a Markdown table (medians, ratios against the peer of the same run) to paste into BENCHMARKS.md.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import postgres from "postgres";
import { ourCli } from "./cli.ts";
import { type Command, median, runOnce, type Sample } from "./measure.ts";

const ROOT = resolve(import.meta.dirname!, "../..");
const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const MB = Number(flag("--mb", "50"));
const RUNS = Number(flag("--runs", "3"));
const URL_ = flag("--url", process.env.ORCHWF_BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres");

/** A file of INSERTs of 20 rows each, `mb` megabytes. */
function insertsFile(mb: number): string {
  const parts = ["CREATE TABLE big (id bigint, n int, m int, s text);\n"];
  let size = parts[0].length;
  for (let i = 0; size < mb * 1024 * 1024; i += 20) {
    const rows = Array.from({ length: 20 }, (_, k) => `(${i + k}, ${(i + k) % 997}, ${((i + k) * 7) % 10007}, 'row ${i + k} /* not a comment */ x')`);
    const s = `INSERT INTO big (id, n, m, s) VALUES ${rows.join(", ")};\n`;
    parts.push(s);
    size += s.length;
  }
  return parts.join("");
}

const ours = (() => {
  const { binary } = ourCli(ROOT);
  return (argv: string[]): Command =>
    binary ? { cmd: binary, args: argv } : { cmd: join(ROOT, "node_modules/.bin/bun"), args: [join(ROOT, "src/cli/bin.ts"), ...argv] };
})();

const admin = postgres(URL_, { max: 1, onnotice: () => {} });
let counter = 0;
async function freshDatabase(): Promise<{ name: string; url: string }> {
  const name = `orchwf_large_${process.pid}_${++counter}`;
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const u = new URL(URL_);
  u.pathname = `/${name}`;
  return { name, url: u.toString() };
}

const fmt = (s: Sample[]) => `${(median(s.map((x) => x.ms)) / 1000).toFixed(2)} s, peak ${median(s.map((x) => x.rssMb ?? NaN)).toFixed(0)} MiB`;
const ratio = (a: Sample[], b: Sample[]) => (median(a.map((x) => x.ms)) / median(b.map((x) => x.ms))).toFixed(2);

const work = mkdtempSync(join(tmpdir(), "orchwf-large-"));
try {
  const dir = join(work, "big");
  mkdirSync(dir);
  writeFileSync(join(dir, "001_big.up.sql"), insertsFile(MB));
  const oursRuns: Sample[] = [];
  const psqlRuns: Sample[] = [];
  for (let i = 0; i < RUNS; i++) {
    for (const who of ["ours", "psql"] as const) {
      const db = await freshDatabase();
      try {
        const c = who === "ours"
          ? ours(["up", "--quiet", "--db", db.url, "--dir", dir])
          : { cmd: "psql", args: ["-q", "-X", "-v", "ON_ERROR_STOP=1", "-1", "-d", db.url, "-f", join(dir, "001_big.up.sql")] };
        (who === "ours" ? oursRuns : psqlRuns).push(runOnce(c));
      } finally {
        await admin.unsafe(`DROP DATABASE IF EXISTS ${db.name} WITH (FORCE)`);
      }
    }
  }

  const small = join(work, "small");
  const many = join(work, "many");
  mkdirSync(small);
  mkdirSync(many);
  writeFileSync(join(small, "001_x.up.sql"), "CREATE TABLE t (id int, v text);\n");
  writeFileSync(join(many, "001_x.up.sql"), "CREATE TABLE t (id int, v text);\n" + Array.from({ length: 40_000 }, (_, i) => `INSERT INTO t VALUES (${i}, 'v${i}');\n`).join(""));
  const statusMany: Sample[] = [];
  const statusSmall: Sample[] = [];
  const upPglite: Sample[] = [];
  const upServer: Sample[] = [];
  for (const [d, name] of [[many, "many"], [small, "small"]] as const) runOnce(ours(["up", "--quiet", "--db", `pglite:${join(work, `db-${name}`)}`, "--dir", d]));
  for (let i = 0; i < RUNS; i++) {
    statusMany.push(runOnce(ours(["status", "--db", `pglite:${join(work, "db-many")}`, "--dir", many])));
    statusSmall.push(runOnce(ours(["status", "--db", `pglite:${join(work, "db-small")}`, "--dir", small])));
    rmSync(join(work, "db-up"), { recursive: true, force: true });
    upPglite.push(runOnce(ours(["up", "--quiet", "--db", `pglite:${join(work, "db-up")}`, "--dir", many])));
    const db = await freshDatabase();
    try {
      upServer.push(runOnce(ours(["up", "--quiet", "--db", db.url, "--dir", many])));
    } finally {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${db.name} WITH (FORCE)`);
    }
  }
  console.log(`| goal | ours | peer, same run | ratio |
| --- | --- | --- | --- |
| ${MB} MB of INSERTs, \`up\` on PostgreSQL (goal <= 1.5x, peak <= 3x the file) | ${fmt(oursRuns)} | \`psql -1 -f\`: ${fmt(psqlRuns)} | ${ratio(oursRuns, psqlRuns)}x |
| 40,000 INSERTs on PGlite: \`status\` (goal <= 2x) | ${fmt(statusMany)} | one-line file: ${fmt(statusSmall)} | ${ratio(statusMany, statusSmall)}x |
| the same file: \`up\` on PGlite vs PostgreSQL (goal <= 4x) | ${fmt(upPglite)} | ${fmt(upServer)} | ${ratio(upPglite, upServer)}x |
(${RUNS} runs each, medians)`);
} finally {
  await admin.end();
  rmSync(work, { recursive: true, force: true });
}
