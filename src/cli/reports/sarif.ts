/**
 * SARIF 2.1.0 (the OASIS Static Analysis Results Interchange Format): what GitHub code scanning, GitLab and
 * most CI dashboards read. One run, the tool's rules with their descriptions, one result per finding with its
 * file, line and column.
 * @module
 */
import { VERSION } from "../../core/version.ts";
import type { CheckReport } from "./report.ts";
import { uriOf } from "./text.ts";

/** The schema SARIF 2.1.0 documents name in `$schema`. */
export const SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json";

/**
 * A check report as a SARIF 2.1.0 log (JSON text).
 *
 * @example
 * ```ts
 * const sarif = renderSarif({ command: "lint", rules, files, results });
 * JSON.parse(sarif).version; // "2.1.0"
 * ```
 */
export function renderSarif(report: CheckReport): string {
  const index = new Map(report.rules.map((rule, i) => [rule.id, i]));
  const log = {
    $schema: SARIF_SCHEMA,
    version: "2.1.0",
    runs: [{
      tool: {
        driver: {
          name: "orchwf-migrate",
          version: VERSION,
          informationUri: "https://jsr.io/@orchwf/migrate",
          rules: report.rules.map((rule) => ({
            id: rule.id,
            name: rule.id,
            shortDescription: { text: rule.summary },
            fullDescription: { text: rule.help ?? rule.summary },
            ...(rule.help ? { help: { text: rule.help } } : {}),
          })),
        },
      },
      automationDetails: { id: `orchwf-migrate/${report.command}/` },
      // Relative file names are relative to where the command ran: the checkout's root in CI.
      originalUriBaseIds: { "%SRCROOT%": { description: { text: "the directory orchwf-migrate ran in" } } },
      results: report.results.map((r) => ({
        ruleId: r.rule,
        ...(index.has(r.rule) ? { ruleIndex: index.get(r.rule) } : {}),
        level: r.level,
        message: { text: r.message },
        locations: [{
          physicalLocation: {
            artifactLocation: { uri: uriOf(r.file), ...(isAbsolute(r.file) ? {} : { uriBaseId: "%SRCROOT%" }) },
            region: { startLine: r.line, startColumn: r.column },
          },
        }],
        properties: { version: r.version },
      })),
    }],
  };
  return JSON.stringify(log, null, 2);
}

function isAbsolute(path: string): boolean {
  return path.startsWith("/") || /^[A-Za-z]:[\\/]/.test(path);
}
