/**
 * Builds the CLI's distributions into dist/ (gitignored):
 *   bun scripts/build.ts node      dist/orchwf-migrate.js: the npm bin, for Node 18+ (packages external)
 *   bun scripts/build.ts compile   dist/orchwf-migrate: one executable with PGlite's files inside
 *   bun scripts/build.ts           both
 * `npm ci` runs the first (the `prepare` script), so `npx orchwf-migrate` works in a fresh clone.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bun = process.execPath.includes("bun") ? process.execPath : join(root, "node_modules/.bin/bun");

/** The npm bin: Node cannot run .ts, so bundle our sources; dependencies stay in node_modules. */
export function buildNode(outfile = join(root, "dist/orchwf-migrate.js")): string {
  mkdirSync(dirname(outfile), { recursive: true });
  execFileSync(bun, [
    "build", join(root, "src/cli/bin.ts"),
    "--target=node", "--packages=external", "--format=esm",
    "--banner=#!/usr/bin/env node", `--outfile=${outfile}`,
  ], { stdio: ["ignore", "ignore", "inherit"], cwd: root });
  chmodSync(outfile, 0o755);
  return outfile;
}

/** The single binary: everything, PGlite's .wasm/.data included (src/cli/compiled.ts embeds them). */
export function buildCompiled(outfile = join(root, "dist/orchwf-migrate")): string {
  mkdirSync(dirname(outfile), { recursive: true });
  execFileSync(bun, ["build", join(root, "src/cli/compiled.ts"), "--compile", "--asset-naming=[name].[ext]", `--outfile=${outfile}`], {
    stdio: ["ignore", "ignore", "inherit"],
    cwd: root,
  });
  return outfile;
}

if ((import.meta as { main?: boolean }).main) {
  const what = process.argv[2] ?? "all";
  if (what === "node" || what === "all") console.log(`built ${buildNode()}`);
  if (what === "compile" || what === "all") console.log(`built ${buildCompiled()}`);
  if (!["node", "compile", "all"].includes(what)) {
    console.error(`usage: bun scripts/build.ts [node|compile|all]`);
    process.exit(2);
  }
}
