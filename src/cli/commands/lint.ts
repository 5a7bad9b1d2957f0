/**
 * `lint` and `up --lint`: the lint rules (src/lint) over a directory's migrations.
 * @module
 */
import { MigrationError } from "../../core/errors.ts";
import type { Migration } from "../../core/migration.ts";
import type { Migrator } from "../../migrator.ts";
import type { LintReport } from "../../lint/lint.ts";
import { CHECK_RULES } from "../../sources/check.ts";
import type { CommandContext, CommandResult } from "../context.ts";
import { chosenMigrations } from "../session.ts";
import { reportFormat } from "../reports/format.ts";
import { lockRetryOptions } from "../lock-retry-options.ts";

/**
 * Runs `lint`.
 *
 * @example
 * ```ts
 * const { json, exit } = await run(ctx); // { findings, errors, ... }; exit 1 on an error finding
 * ```
 */
export async function run(ctx: CommandContext): Promise<CommandResult> {
  const format = reportFormat(ctx);
  const migrations = await chosenMigrations(ctx);
  const { json, text, exit } = await lintCommand(migrations, ctx.string("dir"), lockRetryOptions(ctx).ddlLockTimeoutMs);
  if (format === "text") return { json, text: text.trimEnd(), exit };
  const [{ renderCheckReport }, { RULES }] = await Promise.all([import("../reports/render.ts"), import("../../lint/rules.ts")]);
  const report = json as LintReport;
  return {
    exit,
    text: renderCheckReport({
      command: "lint",
      rules: [...CHECK_RULES, ...RULES.map((r) => ({ id: r.id, summary: r.summary, help: `${r.why}. Safe: ${r.safe}` }))],
      files: migrations.map((m) => m.source?.up ?? `migration ${m.version} (up)`),
      results: report.findings.map((f) => ({ rule: f.rule, level: f.severity, file: f.file, version: f.version, line: f.line, column: f.column, message: `${f.message} (safe: ${f.safe})` })),
    }, format),
  };
}

/**
 * Runs `lint` on the command's migrations with `dir`'s `.orchwf-lint.json`: exit 1 on an error.
 *
 * @example
 * ```ts
 * const { exit, text } = await lintCommand(await loadMigrations("./migrations"), "./migrations");
 * ```
 */
export async function lintCommand(migrations: readonly Migration[], dir: string | undefined, ddlLockTimeoutMs?: number): Promise<Required<CommandResult>> {
  const { readLintConfig, lintMigrations, renderLint } = await loadLint();
  const config = await readLintConfig(dir);
  const report = await lintMigrations(migrations, { ...config, ddlLockTimeoutMs });
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
export async function refuseLintErrors(
  migrator: Migrator,
  dir: string | undefined,
  to: string | undefined,
  flag: boolean,
  ddlLockTimeoutMs?: number,
): Promise<string | undefined> {
  const { readLintConfig, lintMigrations, renderLint } = await loadLint();
  const config = await readLintConfig(dir);
  if (!flag && !config.lintOnUp) return undefined;
  const plan = await migrator.plan({ to });
  if (plan.pending.length === 0) return undefined;
  const report = await lintMigrations(migrator.migrations, { ...config, ddlLockTimeoutMs, only: new Set(plan.pending.map((p) => p.version)) });
  if (report.errors > 0) {
    throw new MigrationError("INVALID_MIGRATION", `nothing was applied: lint found ${report.errors} error${report.errors === 1 ? "" : "s"} in the pending migrations (up --lint)\n${renderLint(report)}`, {
      version: report.findings.find((f) => f.severity === "error")?.version,
      file: report.findings.find((f) => f.severity === "error")?.file,
    });
  }
  return report.warnings > 0 ? renderLint(report) : undefined;
}

/** The lint modules, loaded when a lint runs (they bring the parser). */
async function loadLint() {
  const [{ readLintConfig }, { lintMigrations, renderLint }] = await Promise.all([import("../../lint/config.ts"), import("../../lint/lint.ts")]);
  return { readLintConfig, lintMigrations, renderLint };
}
