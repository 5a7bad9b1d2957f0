/**
 * Per-directory lint settings: `.orchwf-lint.json` next to the migrations.
 *
 * ```json
 * { "rules": { "require-lock-timeout": "off", "drop-table": "warning" }, "postgresVersion": 15, "since": "20240101000000",
 *   "lintOnUp": true }
 * ```
 * @module
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { MigrationError } from "../core/errors.ts";
import { RULES } from "./rules.ts";
import type { Severity } from "./types.ts";

/** The file name looked for in the migrations directory. */
export const LINT_CONFIG_FILE = ".orchwf-lint.json";

/** Lint settings. */
export interface LintConfig {
  /** Severity per rule id, or "off". */
  rules?: Record<string, Severity | "off">;
  /** Major version of the server the migrations run on (rules that depend on it); default 12. */
  postgresVersion?: number;
  /** Lint only migrations with this version or later (older ones ran in production long ago). */
  since?: string;
  /** `up` lints the pending migrations and refuses on an error, as with `up --lint`. */
  lintOnUp?: boolean;
}

/**
 * Reads `.orchwf-lint.json` from `dir` (none: defaults). A bad file is a USAGE error naming it.
 *
 * @example
 * ```ts
 * const config = await readLintConfig("./migrations");
 * ```
 */
export async function readLintConfig(dir: string | undefined): Promise<LintConfig> {
  if (dir === undefined) return {};
  const file = join(dir, LINT_CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return {};
    throw new MigrationError("USAGE", `cannot read ${file}: ${(err as Error).message}`, { file, cause: err });
  }
  let config: LintConfig;
  try {
    config = JSON.parse(text);
  } catch (err) {
    throw new MigrationError("USAGE", `${file}: not valid JSON: ${(err as Error).message}`, { file, cause: err });
  }
  return checkLintConfig(config, file);
}

/**
 * Checks a config's keys and values; returns it.
 *
 * @example
 * ```ts
 * checkLintConfig({ rules: { truncate: "off" } }, "inline");
 * ```
 */
export function checkLintConfig(config: LintConfig, file: string): LintConfig {
  const bad = (what: string) => new MigrationError("USAGE", `${file}: ${what}`, { file });
  if (config === null || typeof config !== "object" || Array.isArray(config)) throw bad("expected an object");
  for (const key of Object.keys(config)) {
    if (!["rules", "postgresVersion", "since", "lintOnUp"].includes(key)) throw bad(`unknown key "${key}" (known: rules, postgresVersion, since, lintOnUp)`);
  }
  const ids = new Set(RULES.map((r) => r.id));
  for (const [id, level] of Object.entries(config.rules ?? {})) {
    if (!ids.has(id)) throw bad(`unknown rule "${id}" (rules: ${[...ids].join(", ")})`);
    if (!["error", "warning", "note", "off"].includes(level)) throw bad(`rule "${id}": "${level}" must be "error", "warning", "note" or "off"`);
  }
  if (config.postgresVersion !== undefined && !(Number.isInteger(config.postgresVersion) && config.postgresVersion >= 9)) {
    throw bad(`postgresVersion must be a major version number such as 15`);
  }
  if (config.lintOnUp !== undefined && typeof config.lintOnUp !== "boolean") throw bad(`lintOnUp must be true or false`);
  if (config.since !== undefined && !/^\d+$/.test(String(config.since))) throw bad(`since must be a version (digits)`);
  return config;
}
