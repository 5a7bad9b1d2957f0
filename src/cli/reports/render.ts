/**
 * Picks the renderer for a report format: the one place `lint` and `validate` turn a check report into the text
 * they print.
 * @module
 */
import type { ReportFormat } from "./format.ts";
import { renderGithub } from "./github.ts";
import { renderCheckJunit } from "./junit.ts";
import type { CheckReport } from "./report.ts";
import { renderSarif } from "./sarif.ts";

/**
 * A check report in a CI format (`text` is the command's own rendering, not this one's).
 *
 * @example
 * ```ts
 * out.line(renderCheckReport(report, "sarif"));
 * ```
 */
export function renderCheckReport(report: CheckReport, format: Exclude<ReportFormat, "text">): string {
  switch (format) {
    case "sarif":
      return renderSarif(report);
    case "junit":
      return renderCheckJunit(report);
    case "github":
      return renderGithub(report);
  }
}
