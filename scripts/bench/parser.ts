/**
 * The SQL parser's costs (libpg-query, WebAssembly), for BENCHMARKS.md "SQL parser":
 *   bun scripts/bench/parser.ts [--runs 5] [--dir DIR]
 * - cold load: a fresh process per run imports the parser, compiles its WebAssembly and parses one statement
 *   (Bun, Deno, Node), in-process milliseconds;
 * - lint throughput after the load: the benchmark's 1000 generated migrations (or DIR's), ms per 300 files;
 * - a 1.8 MB file of 64 000 `INSERT ... ('/*')` statements: split time (linear; the old lexer was quadratic).
 */
import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { median } from "./measure.ts";
import { benchMigrations } from "./generate.ts";

const root = join(fileURLToPath(new URL(".", import.meta.url)), "../..");
const argv = process.argv.slice(2);
const flag = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const runs = Number(flag("--runs") ?? 5);

const probe = `const t0 = performance.now();
const { sqlParser } = await import(${JSON.stringify(join(root, "src/core/split.ts"))});
(await sqlParser()).parse("SELECT 1");
console.log(performance.now() - t0);`;

function cold(runtime: "bun" | "deno" | "node"): number[] {
  const file = join(root, "scripts/bench/.parser-probe.mts"); // inside the project: Deno reads deno.json's imports
  writeFileSync(file, probe);
  try {
    const command = runtime === "node" ? process.execPath.includes("node") ? process.execPath : "node" : join(root, "node_modules/.bin", runtime);
    const args = runtime === "deno" ? ["run", "-A", file] : runtime === "bun" ? [file] : ["--import", "tsx", file];
    const out: number[] = [];
    for (let i = 0; i < runs; i++) out.push(Number(execFileSync(command, args, { cwd: root, encoding: "utf8" }).trim().split("\n").pop()));
    return out;
  } finally {
    rmSync(file, { force: true });
  }
}

const fmt = (xs: number[]) => `${median(xs).toFixed(0)} | ${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;
console.log(`| what | median ms | min–max ms |\n| --- | ---: | ---: |`);
for (const runtime of ["bun", "deno", "node"] as const) console.log(`| cold load + first parse, ${runtime} | ${fmt(cold(runtime))} |`);

const { sqlParser } = await import("../../src/core/split.ts");
const { lintMigrations } = await import("../../src/lint/lint.ts");
const { loadMigrations } = await import("../../src/sources/load.ts");
await sqlParser();
const dir = flag("--dir");
const migrations = dir
  ? await loadMigrations(dir)
  : benchMigrations(1000).map((m) => ({ version: String(m.index), description: m.name, up: m.up, down: m.down }));
const lintMs: number[] = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  await lintMigrations(migrations);
  lintMs.push(((performance.now() - t0) / migrations.length) * 300);
}
console.log(`| lint, per 300 files (${migrations.length} files, parser loaded) | ${fmt(lintMs)} |`);
const big = "INSERT INTO t VALUES ('/*');\n".repeat(64_000);
const splitMs: number[] = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  (await sqlParser()).parse(big);
  splitMs.push(performance.now() - t0);
}
console.log(`| split a 1.8 MB file of 64 000 statements with '/*' in strings | ${fmt(splitMs)} |`);
