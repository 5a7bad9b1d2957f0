/**
 * GitHub Actions workflow commands: one `::error file=...,line=...,col=...::message` line per result, which
 * GitHub shows as an annotation on the file's line in the pull request.
 * @module
 */
import type { CheckReport, ReportLevel } from "./report.ts";

const COMMAND: Record<ReportLevel, string> = { error: "error", warning: "warning", note: "notice" };

/**
 * A check report as workflow-command annotations, then a summary line.
 *
 * @example
 * ```ts
 * renderGithub(report); // "::error file=db/001.up.sql,line=3,col=1,title=drop-table::DROP TABLE \"t\" deletes its data\n..."
 * ```
 */
export function renderGithub(report: CheckReport): string {
  const lines = report.results.map((r) => {
    const properties = [`file=${property(r.file)}`, `line=${r.line}`, `col=${r.column}`, `title=${property(`${report.command}: ${r.rule}`)}`];
    return `::${COMMAND[r.level]} ${properties.join(",")}::${data(r.message)}`;
  });
  const count = (level: ReportLevel, word = level) => {
    const n = report.results.filter((r) => r.level === level).length;
    return `${n} ${word}${n === 1 ? "" : "s"}`;
  };
  lines.push(`${report.command}: ${count("error")}, ${count("warning")}, ${count("note")} in ${report.files.length} file${report.files.length === 1 ? "" : "s"}`);
  return lines.join("\n");
}

/** A message: `%`, CR and LF are encoded (GitHub's runner decodes them). */
function data(text: string): string {
  return text.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

/** A property value: also `:` and `,`, which end it. */
function property(text: string): string {
  return data(text).replace(/:/g, "%3A").replace(/,/g, "%2C");
}
