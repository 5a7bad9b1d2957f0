/**
 * `--format` names two things: the format of `--dir` (golang-migrate, dbmate, ...) and, for `lint`, `validate` and
 * `verify`, the report to write (sarif, junit, github). The names do not overlap, so one flag serves both and may
 * be given twice: `lint --format dbmate --format sarif`.
 * @module
 */
import { usage } from "../options.ts";
import type { CommandContext } from "../context.ts";

/** Report formats, and the commands that write each. */
export const REPORT_FORMATS = { text: ["lint", "validate", "verify"], sarif: ["lint", "validate"], github: ["lint", "validate"], junit: ["lint", "validate", "verify"] } as const;

/** A report format: `text` (the default) or one a CI system reads. */
export type ReportFormat = keyof typeof REPORT_FORMATS;

const isReport = (value: string): value is ReportFormat => Object.hasOwn(REPORT_FORMATS, value);

/**
 * The report format `--format` asks this command for (default `text`); a report format the command does not write,
 * or one combined with `--json`, is a usage error.
 *
 * @example
 * ```ts
 * if (reportFormat(ctx) === "sarif") return { text: renderSarif(report) };
 * ```
 */
export function reportFormat(ctx: CommandContext): ReportFormat {
  const given = ctx.strings("format").filter(isReport);
  const format = given[given.length - 1] ?? "text";
  if (!(REPORT_FORMATS[format] as readonly string[]).includes(ctx.spec.name)) {
    throw usage(`${ctx.spec.name} writes no ${format} report (--format ${format} is for ${REPORT_FORMATS[format].join(", ")})`);
  }
  if (format !== "text" && ctx.flag("json")) throw usage(`--format ${format} and --json both choose the output: give one`);
  return format;
}

/**
 * The `--format` value that names the migration directory's format (the last one that is not a report format), or
 * `ORCHWF_FORMAT` when no --format names one.
 *
 * @example
 * ```ts
 * loadMigrations(dir, { format: parseFormat(directoryFormat(ctx)) });
 * ```
 */
export function directoryFormat(ctx: CommandContext): string | undefined {
  const given = ctx.strings("format");
  if (given.length === 0) return ctx.string("format");
  const directory = given.filter((v) => !isReport(v));
  if (directory.length < given.length && !Object.values(REPORT_FORMATS).some((commands) => (commands as readonly string[]).includes(ctx.spec.name))) {
    throw usage(`${ctx.spec.name} writes no report: --format ${given.find(isReport)} is for lint, validate and verify`);
  }
  return directory[directory.length - 1] ?? ctx.env.ORCHWF_FORMAT;
}
