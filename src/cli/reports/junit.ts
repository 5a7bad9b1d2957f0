/**
 * JUnit XML, the test-report format every CI system shows: for `lint` and `validate`, one test suite per file
 * with one test case per result (an error is a failure; a warning or note passes, its message kept as output),
 * a file without results one passing case; for `verify`, one test case per migration.
 * @module
 */
import { describeChanges } from "../../schema/snapshot.ts";
import type { VerifyReport } from "../../schema/verify.ts";
import type { CheckReport, ReportResult } from "./report.ts";
import { xmlEscape } from "./text.ts";

interface TestCase {
  name: string;
  classname: string;
  failure?: { message: string; type: string; text: string };
  skipped?: string;
  output?: string;
}

interface Suite {
  name: string;
  cases: TestCase[];
}

/**
 * A check report (`lint`, `validate`) as JUnit XML.
 *
 * @example
 * ```ts
 * const xml = renderCheckJunit({ command: "lint", rules, files, results });
 * ```
 */
export function renderCheckJunit(report: CheckReport): string {
  const suites = report.files.map((file): Suite => {
    const results = report.results.filter((r) => r.file === file);
    if (results.length === 0) return { name: file, cases: [{ name: `${report.command}: no findings`, classname: `${report.command}.${file}` }] };
    return { name: file, cases: results.map((r) => checkCase(report.command, r)) };
  });
  // A result in a file that is not in the list (a migration given in code) still gets a suite.
  for (const r of report.results) {
    if (report.files.includes(r.file)) continue;
    let suite = suites.find((s) => s.name === r.file);
    if (!suite) suites.push(suite = { name: r.file, cases: [] });
    suite.cases.push(checkCase(report.command, r));
  }
  return renderSuites(`orchwf-migrate ${report.command}`, suites);
}

function checkCase(command: string, r: ReportResult): TestCase {
  const where = `${r.file}:${r.line}:${r.column}`;
  const name = `${r.rule} at ${r.line}:${r.column}`;
  const text = `${where}: ${r.level} ${r.rule}: ${r.message}`;
  return r.level === "error"
    ? { name, classname: `${command}.${r.file}`, failure: { message: r.message, type: r.rule, text } }
    : { name, classname: `${command}.${r.file}`, output: text };
}

/**
 * A `verify` report as JUnit XML: one test case per migration; a down that does not reverse its up is a failure
 * listing the differences, a migration without a down script is skipped.
 *
 * @example
 * ```ts
 * const xml = renderVerifyJunit(await migrator.verify());
 * ```
 */
export function renderVerifyJunit(report: VerifyReport, files: ReadonlyMap<string, string> = new Map()): string {
  const cases = report.migrations.map((m): TestCase => {
    const name = `${m.version} ${m.description}`.trim();
    const classname = `verify.${files.get(m.version) ?? m.version}`;
    if (m.status === "skipped") return { name, classname, skipped: m.reason ?? "no down script" };
    if (m.status === "verified") return { name, classname };
    const stage = m.stage === "reapply" ? "the second up differs from the first" : "down does not reverse up";
    const lines = describeChanges(m.differences, m.stage === "reapply"
      ? { added: "only after the second up", removed: "missing after the second up", changed: "different after the second up" }
      : { added: "left behind by down", removed: "removed by down", changed: "changed by down" });
    return { name, classname, failure: { message: `${m.version}: ${stage}`, type: m.stage ?? "down", text: [`${stage}:`, ...lines].join("\n") } };
  });
  return renderSuites("orchwf-migrate verify", [{ name: `verify on ${report.database}`, cases }]);
}

function renderSuites(name: string, suites: readonly Suite[]): string {
  const total = (pick: (c: TestCase) => boolean) => suites.reduce((n, s) => n + s.cases.filter(pick).length, 0);
  const out = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="${xmlEscape(name)}" tests="${total(() => true)}" failures="${total((c) => !!c.failure)}" errors="0" skipped="${total((c) => c.skipped !== undefined)}">`,
  ];
  suites.forEach((suite, id) => {
    const count = (pick: (c: TestCase) => boolean) => suite.cases.filter(pick).length;
    out.push(
      `  <testsuite name="${xmlEscape(suite.name)}" id="${id}" tests="${suite.cases.length}" failures="${count((c) => !!c.failure)}" errors="0" skipped="${count((c) => c.skipped !== undefined)}">`,
    );
    for (const c of suite.cases) {
      const open = `    <testcase name="${xmlEscape(c.name)}" classname="${xmlEscape(c.classname)}"`;
      if (!c.failure && c.skipped === undefined && c.output === undefined) {
        out.push(`${open}/>`);
        continue;
      }
      out.push(`${open}>`);
      if (c.failure) out.push(`      <failure message="${xmlEscape(c.failure.message)}" type="${xmlEscape(c.failure.type)}">${xmlEscape(c.failure.text)}</failure>`);
      if (c.skipped !== undefined) out.push(`      <skipped message="${xmlEscape(c.skipped)}"/>`);
      if (c.output !== undefined) out.push(`      <system-out>${xmlEscape(c.output)}</system-out>`);
      out.push(`    </testcase>`);
    }
    out.push(`  </testsuite>`);
  });
  out.push(`</testsuites>`);
  return out.join("\n");
}
