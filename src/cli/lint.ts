/**
 * `lint` and `up --lint`: the lint rules over a directory's migrations (src/lint). Returns data and text.
 * @module
 */
import { MigrationError } from "../core/errors.ts";
import { readLintConfig } from "../lint/config.ts";
import { lintMigrations, renderLint } from "../lint/lint.ts";
import type { Migrator } from "../migrator.ts";
import type { Migration } from "../core/migration.ts";
import type { CommandOutput } from "./validate.ts";

/**
 * Runs `lint` on the command's migrations with `dir`'s `.orchwf-lint.json`: exit 1 on an error.
 *
 * @example
 * ```ts
 * const { exit, text } = await lintCommand(await loadMigrations("./migrations"), "./migrations");
 * ```
 */
export async function lintCommand(migrations: readonly Migration[], dir: string | undefined): Promise<CommandOutput> {
  const config = await readLintConfig(dir);
  const report = await lintMigrations(migrations, config);
  return { exit: report.errors > 0 ? 1 : 0, json: report, text: renderLint(report) };
}

/**
 * `up --lint` (or `"lintOnUp": true` in `.orchwf-lint.json`): lints the migrations `up` would apply (what earlier
 * ones made is taken into account) and refuses, before anything runs, when one has an error.
 *
 * @example
 * ```ts
 * await refuseLintErrors(migrator, "./migrations", undefined, true);
 * ```
 */
export async function refuseLintErrors(migrator: Migrator, dir: string | undefined, to: string | undefined, flag: boolean): Promise<string | undefined> {
  const config = await readLintConfig(dir);
  if (!flag && !config.lintOnUp) return undefined;
  const plan = await migrator.plan({ to });
  if (plan.pending.length === 0) return undefined;
  const report = await lintMigrations(migrator.migrations, { ...config, only: new Set(plan.pending.map((p) => p.version)) });
  if (report.errors > 0) {
    throw new MigrationError("INVALID_MIGRATION", `nothing was applied: lint found ${report.errors} error${report.errors === 1 ? "" : "s"} in the pending migrations (up --lint)\n${renderLint(report)}`, {
      version: report.findings.find((f) => f.severity === "error")?.version,
      file: report.findings.find((f) => f.severity === "error")?.file,
    });
  }
  return report.warnings > 0 ? renderLint(report) : undefined;
}
