/**
 * `validate`: every migration's up and down scripts parsed with PostgreSQL's grammar and checked, without a
 * database.
 * @module
 */
import type { Migration } from "../../core/migration.ts";
import type { Problem } from "../../sources/check.ts";
import type { CommandContext, CommandResult } from "../context.ts";
import { chosenMigrations } from "../session.ts";
import { reportFormat } from "../reports/format.ts";

/**
 * Runs `validate`.
 *
 * @example
 * ```ts
 * const { json, exit } = await run(ctx); // { problems }; exit 1 when there is one
 * ```
 */
export async function run(ctx: CommandContext): Promise<CommandResult> {
  const format = reportFormat(ctx);
  const migrations = await chosenMigrations(ctx);
  const { json, text, exit } = await validateCommand(migrations);
  if (format === "text") return { json, text: text.trimEnd(), exit };
  const [{ renderCheckReport }, { CHECK_RULES }] = await Promise.all([import("../reports/render.ts"), import("../../sources/check.ts")]);
  const { problems } = json as { problems: Omit<Problem, "frame">[] };
  return {
    exit,
    text: renderCheckReport({
      command: "validate",
      rules: CHECK_RULES,
      files: migrations.flatMap((m) => [m.source?.up ?? `migration ${m.version} (up)`, ...(m.down === undefined ? [] : [m.source?.down ?? `migration ${m.version} (down)`])]),
      results: problems.map((p) => ({ rule: p.rule, level: "error" as const, file: p.file, version: p.version, line: p.line, column: p.column, message: p.message })),
    }, format),
  };
}

/**
 * Runs `validate` on the command's migrations (--dir in its --format, --with-orchwf; default the built-ins): exit 1
 * when a problem is found.
 *
 * @example
 * ```ts
 * const { exit, text } = await validateCommand(await loadMigrations("./migrations"));
 * ```
 */
export async function validateCommand(migrations: readonly Migration[]): Promise<Required<CommandResult>> {
  const { checkMigrations } = await import("../../sources/check.ts");
  const problems = await checkMigrations(migrations, "both");
  const files = migrations.reduce((n, m) => n + (m.down === undefined ? 1 : 2), 0);
  const text = problems.length === 0
    ? `${migrations.length} migration${migrations.length === 1 ? "" : "s"} (${files} files) valid: every statement parses, no transaction control, nothing that cannot run in its transaction`
    : [...problems.map(renderProblem), `${problems.length} problem${problems.length === 1 ? "" : "s"} in ${migrations.length} migrations`].join("\n");
  return {
    exit: problems.length === 0 ? 0 : 1,
    json: {
      valid: problems.length === 0,
      migrations: migrations.length,
      files,
      problems: problems.map(({ rule, file, version, line, column, message }) => ({ rule, file, version, line, column, message })),
    },
    text,
  };
}

function renderProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.column}: error ${p.rule}: ${p.message}\n${p.frame}`;
}
