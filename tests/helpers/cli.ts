/**
 * Runs the real `orchwf-migrate` in a subprocess, the four ways users run it: Bun on the sources, Deno on
 * src/mod.ts, Node on the npm bundle, and the single compiled binary.
 */
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { buildCompiled, buildNode } from "../../scripts/build.ts";

export const root: string = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "../..");
export const bunBin: string = join(root, "node_modules/.bin/bun");
export const denoBin: string = join(root, "node_modules/.bin/deno");

/** The output of one run. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** How to start the CLI with one runtime. */
export interface Runner {
  name: "bun" | "deno" | "node" | "binary";
  command: string;
  prefix: string[];
}

/** Environment without the user's database variables, so the tests choose the database. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !["ORCHWF_DB_URL", "DATABASE_URL", "NO_COLOR", "FORCE_COLOR"].includes(k)) env[k] = v;
  }
  return { ...env, ...extra };
}

/** Runs one CLI invocation and resolves with its exit code and output (never rejects on a non-zero exit). */
export function runWith(
  runner: Runner,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      runner.command,
      [...runner.prefix, ...args],
      { cwd: options.cwd ?? root, env: options.env ?? cleanEnv(), maxBuffer: 16 * 1024 * 1024, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : -1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

export const bunRunner: Runner = { name: "bun", command: bunBin, prefix: [join(root, "src/cli/main.ts")] };
export const denoRunner: Runner = { name: "deno", command: denoBin, prefix: ["run", "-A", join(root, "src/mod.ts")] };

/** Builds the Node bundle (inside the repo, so it finds node_modules) and the binary (copied to an empty dir). */
export function buildDistributions(): { runners: Runner[]; cleanup(): void } {
  mkdirSync(join(root, "dist"), { recursive: true });
  const buildDir = mkdtempSync(join(root, "dist", `test-${process.pid}-`));
  const bundle = buildNode(join(buildDir, "orchwf-migrate.js"));
  const compiled = buildCompiled(join(buildDir, "orchwf-migrate"));
  const lonely = mkdtempSync(join(tmpdir(), "orchwf-bin-"));
  const binary = join(lonely, "orchwf-migrate");
  copyFileSync(compiled, binary);
  rmSync(compiled, { force: true });
  return {
    runners: [
      { name: "node", command: process.platform === "win32" ? "node.exe" : "node", prefix: [bundle] },
      { name: "binary", command: binary, prefix: [] },
    ],
    cleanup() {
      rmSync(buildDir, { recursive: true, force: true });
      rmSync(lonely, { recursive: true, force: true });
    },
  };
}
