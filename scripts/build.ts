/**
 * Builds the distributions into dist/ (gitignored):
 *   bun scripts/build.ts lib       dist/lib: the npm library, ESM .js + .d.ts compiled from src by tsc
 *   bun scripts/build.ts node      dist/orchwf-migrate.js: the npm bin, for Node 20.12+ (packages external)
 *   bun scripts/build.ts package   both of the above: what `npm pack` ships (the `prepack` script); also sets the
 *                                  unscoped packages/orchwf-migrate to the same version
 *   bun scripts/build.ts unscoped  only that
 *   bun scripts/build.ts compile   dist/orchwf-migrate: one executable with PGlite's files inside
 *   bun scripts/build.ts           all
 * `npm pack` and `npm publish` run `package` (the `prepack` script; not `prepare`, which would reach consumers'
 * installs and needs Bun); in a fresh clone `npm run build -- package` before `npx orchwf-migrate`.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bun = process.execPath.includes("bun") ? process.execPath : join(root, "node_modules/.bin/bun");

/**
 * The npm bin: Node cannot run .ts, so bundle our sources; dependencies stay in node_modules. Split into chunks
 * (`chunks/` next to the entry) so that a command's imports (postgres.js, with net/tls/crypto) load only when it
 * runs: measured, `--version` then costs about what an empty Node script does.
 */
export function buildNode(outfile = join(root, "dist/orchwf-migrate.js")): string {
  const outdir = dirname(outfile);
  mkdirSync(join(outdir, "chunks"), { recursive: true });
  // Built aside, then moved in: the chunks first (named by their content), the entry last, each by an atomic
  // rename. A process already running the old bundle (a test while \`npm pack\` rebuilds) never misses a file.
  const staging = mkdtempSync(join(outdir, ".build-"));
  try {
    execFileSync(bun, [
      "build", join(root, "src/cli/bin.ts"),
      "--target=node", "--packages=external", "--format=esm", "--splitting",
      "--banner=#!/usr/bin/env node", `--outdir=${staging}`,
      `--entry-naming=${basename(outfile, ".js")}.[ext]`, "--chunk-naming=chunks/[name]-[hash].[ext]",
    ], { stdio: ["ignore", "ignore", "inherit"], cwd: root });
    const built = new Set(readdirSync(join(staging, "chunks")));
    for (const chunk of built) renameSync(join(staging, "chunks", chunk), join(outdir, "chunks", chunk));
    chmodSync(join(staging, basename(outfile)), 0o755);
    renameSync(join(staging, basename(outfile)), outfile);
    // Chunks of an older source are no part of this bundle (nor of the package npm packs from it).
    for (const chunk of readdirSync(join(outdir, "chunks"))) if (!built.has(chunk)) rmSync(join(outdir, "chunks", chunk), { force: true });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return outfile;
}

/**
 * The npm library: tsc compiles src to ESM .js with .d.ts (tsconfig.build.json rewrites the .ts import
 * specifiers of the .js files; the .d.ts files get the same rewrite here, which tsc leaves out).
 */
export function buildLib(outDir = join(root, "dist/lib")): string {
  rmSync(outDir, { recursive: true, force: true });
  try {
    execFileSync(process.execPath.includes("bun") ? bun : process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "tsconfig.build.json"), "--outDir", outDir], {
      stdio: ["ignore", "inherit", "inherit"],
      cwd: root,
    });
  } catch (err) {
    // tsc emits even when it reports a type error; `npm pack` (prepack) must not fail on one, deno check and the
    // package test catch them. No output at all is a real failure.
    if (!existsSync(join(outDir, "mod.js")) || !existsSync(join(outDir, "mod.d.ts"))) throw err;
    console.error("warning: tsc reported type errors (above); dist/lib was emitted anyway");
  }
  for (const file of walk(outDir)) {
    if (!file.endsWith(".d.ts")) continue;
    const text = readFileSync(file, "utf8");
    const fixed = text.replace(/((?:from|import)\s*\(?\s*["'])(\.{1,2}\/[^"']*)\.ts(["'])/g, "$1$2.js$3");
    if (fixed !== text) writeFileSync(file, fixed);
  }
  return outDir;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

/**
 * Flags of `bun build --compile`, measured (BENCHMARKS.md): code splitting, so a command's dependencies (postgres.js
 * pulls in net, tls, crypto, stream) load only when it runs instead of being hoisted into the entry; a bytecode
 * cache (ESM, for the top-level await); minified. .env and bunfig loading are left to the CLI (`--no-env-file`).
 */
export const COMPILE_FLAGS: readonly string[] = [
  "--splitting",
  "--bytecode",
  "--format=esm",
  "--minify",
  "--no-compile-autoload-dotenv",
  "--no-compile-autoload-bunfig",
];

/** The single binary: everything, PGlite's .wasm/.data included (src/cli/compiled.ts embeds them). */
export function buildCompiled(outfile = join(root, "dist/orchwf-migrate")): string {
  mkdirSync(dirname(outfile), { recursive: true });
  execFileSync(bun, ["build", join(root, "src/cli/compiled.ts"), "--compile", "--asset-naming=[name].[ext]", ...COMPILE_FLAGS, `--outfile=${outfile}`], {
    stdio: ["ignore", "ignore", "inherit"],
    cwd: root,
  });
  return outfile;
}

/**
 * The unscoped `orchwf-migrate` package (packages/orchwf-migrate, whose bin starts our CLI, so `bunx orchwf-migrate`
 * resolves): its version and its dependency on `@orchwf/migrate` follow the root package.json, so both are
 * published as one version. Returns the directory to `npm publish`.
 */
export function syncUnscoped(dir = join(root, "packages/orchwf-migrate")): string {
  const { name, version } = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name: string; version: string };
  const file = join(dir, "package.json");
  const text = readFileSync(file, "utf8");
  const pkg = JSON.parse(text) as { version: string; dependencies: Record<string, string> };
  pkg.version = version;
  pkg.dependencies = { ...pkg.dependencies, [name]: version };
  const synced = `${JSON.stringify(pkg, null, 2)}\n`;
  if (synced !== text) writeFileSync(file, synced);
  return dir;
}

if ((import.meta as { main?: boolean }).main) {
  const what = process.argv[2] ?? "all";
  if (["lib", "package", "all"].includes(what)) console.log(`built ${buildLib()}`);
  if (["node", "package", "all"].includes(what)) console.log(`built ${buildNode()}`);
  if (["unscoped", "package", "all"].includes(what)) console.log(`versioned ${syncUnscoped()}`);
  if (what === "compile" || what === "all") console.log(`built ${buildCompiled()}`);
  if (!["lib", "node", "package", "unscoped", "compile", "all"].includes(what)) {
    console.error(`usage: bun scripts/build.ts [lib|node|package|unscoped|compile|all]`);
    process.exit(2);
  }
}
