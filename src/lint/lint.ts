/**
 * `lint`: runs the rules over every migration's up script, in version order, with what earlier migrations made;
 * honours `-- orchwf:lint-ignore RULE-ID` (at the top of a file: the whole file; on the lines right before a
 * statement: that statement) and `.orchwf-lint.json`. Problems `validate` finds (syntax errors, transaction
 * control, statements that need no transaction) are findings too.
 * @module
 */
import { compareVersions, type Migration } from "../core/migration.ts";
import { placeholderStandIns } from "../core/placeholders.ts";
import { checkScript, noTransactionHint, positions } from "../sources/check.ts";
import type { ParsedStatement } from "../sources/parser.ts";
import type { LintConfig } from "./config.ts";
import { RULES } from "./rules.ts";
import { DEFAULT_DDL_LOCK_TIMEOUT_MS } from "../engine/lock-retry.ts";
import { relationName, SchemaState } from "./schema-state.ts";
import type { Finding, Severity } from "./types.ts";

/** What `lint` found. */
export interface LintReport {
  /** Migrations linted (after `since`). */
  migrations: number;
  findings: Finding[];
  errors: number;
  warnings: number;
  /** Suggestions (e.g. a pre-migration check before a risky change): they never change the exit code. */
  notes: number;
}

/** Options of `lintMigrations`. */
export interface LintOptions extends LintConfig {
  /** Report findings only for these versions (the others still feed what the rules know): `up --lint`. */
  only?: ReadonlySet<string>;
  /**
   * The DDL lock timeout the runner sets (`ddlLockTimeoutMs`, `--ddl-lock-timeout`); default the runner's, 2 s.
   * While it is on, `require-lock-timeout` is a note: every migration already waits that long at most, and retries.
   */
  ddlLockTimeoutMs?: number;
}

const IGNORE = /--\s*orchwf:lint-ignore\s+([A-Za-z0-9_,\s-]+?)\s*$/;

/** Rule ids named by `-- orchwf:lint-ignore` lines in `text`. */
function ignoredIn(text: string): Set<string> {
  const ids = new Set<string>();
  if (!text.includes("orchwf:lint-ignore")) return ids;
  for (const line of text.split(/\r\n|\r|\n/)) {
    const m = IGNORE.exec(line.trim());
    if (m) for (const id of m[1].split(/[\s,]+/)) if (id) ids.add(id);
  }
  return ids;
}

/**
 * Lints migrations (their up scripts) and returns every finding, in order.
 *
 * @example
 * ```ts
 * const report = await lintMigrations(await loadMigrations("./migrations"), await readLintConfig("./migrations"));
 * if (report.errors > 0) process.exitCode = 1;
 * ```
 */
export async function lintMigrations(migrations: readonly Migration[], options: LintOptions = {}): Promise<LintReport> {
  const schema = new SchemaState();
  const findings: Finding[] = [];
  const levels = options.rules ?? {};
  const severityOf = (id: string, base: Severity): Severity | "off" => levels[id] ?? base;
  let linted = 0;
  for (const m of [...migrations].sort((a, b) => compareVersions(a.version, b.version))) {
    const report = (options.since === undefined || compareVersions(m.version, options.since) >= 0) &&
      (options.only === undefined || options.only.has(m.version));
    const file = m.source?.up ?? `migration ${m.version} (up)`;
    const transaction = m.transaction !== false;
    // Placeholders parse as identifiers of the same length, so positions stay those of the file.
    const up = m.placeholders === undefined ? m.up : placeholderStandIns(m.up, m.placeholders);
    const checked = await checkScript(up, { file, version: m.version, transaction, format: m.source?.format });
    if (report) {
      linted++;
      const fileIgnores = ignoredIn(header(m.up, checked.statements[0]));
      for (const p of checked.problems) {
        const level = severityOf(p.rule, "error");
        if (level === "off" || fileIgnores.has(p.rule)) continue;
        findings.push({
          rule: p.rule,
          severity: level,
          file,
          version: m.version,
          line: p.line,
          column: p.column,
          message: p.message,
          why: "the migration cannot run as it is",
          safe: "fix the file (`orchwf-migrate validate` shows the same problems)",
        });
      }
      findings.push(...lintStatements(m, file, transaction, checked.statements, schema, fileIgnores, severityOf, options));
    } else for (const st of checked.statements) schema.apply(st);
  }
  return {
    migrations: linted,
    findings,
    errors: findings.filter((f) => f.severity === "error").length,
    warnings: findings.filter((f) => f.severity === "warning").length,
    notes: findings.filter((f) => f.severity === "note").length,
  };
}

/** `-- orchwf:check` lines in a file's header. */
function countChecks(header: string): number {
  return header.split(/\r\n|\r|\n/).filter((line) => /^\s*--\s*orchwf:check\s+\S/.test(line)).length;
}

/** The comment block before the first statement (the file-level directives). */
function header(script: string, first: ParsedStatement | undefined): string {
  return script.slice(0, first ? first.start : script.length);
}

function lintStatements(
  m: Migration,
  file: string,
  transaction: boolean,
  statements: ParsedStatement[],
  schema: SchemaState,
  fileIgnores: Set<string>,
  severityOf: (id: string, base: Severity) => Severity | "off",
  options: LintOptions,
): Finding[] {
  const findings: Finding[] = [];
  const at = positions(m.up);
  const created = new Set<string>();
  let lockTimeoutSet = false;
  const once = new Set<string>();
  const runnerTimeout = options.ddlLockTimeoutMs ?? DEFAULT_DDL_LOCK_TIMEOUT_MS;
  for (let i = 0; i < statements.length; i++) {
    const st = statements[i];
    // Directives between the previous statement and this one apply to this one (the first one's are the file's).
    const ignores = i === 0 ? fileIgnores : ignoredIn(m.up.slice(statements[i - 1].end, st.start));
    const ctx = {
      statement: st,
      statements,
      index: i,
      transaction,
      createdHere: (table: string) => created.has(table),
      lockTimeoutSet,
      schema,
      postgresVersion: options.postgresVersion ?? 12,
      // From the Migration (files) or, for one written in code, the directives at the top of its text.
      checks: m.checks?.length ?? countChecks(m.up.slice(0, statements[0]?.start ?? m.up.length)),
      once,
      noTransaction: noTransactionHint(m.source?.format, file),
    };
    for (const rule of RULES) {
      const runnerLimits = rule.id === "require-lock-timeout" && runnerTimeout > 0;
      const level = severityOf(rule.id, runnerLimits ? "note" : rule.severity);
      if (level === "off" || fileIgnores.has(rule.id) || ignores.has(rule.id)) continue;
      for (let message of rule.check(ctx)) {
        if (runnerLimits) message += `; orchwf-migrate sets lock_timeout to ${runnerTimeout} ms for each migration and retries it (--ddl-lock-timeout)`;
        const { line, column } = at(st.start);
        findings.push({ rule: rule.id, severity: level, file, version: m.version, line, column, message, why: rule.why, safe: rule.safe });
      }
    }
    // Tables and indexes share PostgreSQL's relation namespace: one set of what this migration made.
    if (st.kind === "CreateStmt") created.add(relationName(st.node.relation));
    if (st.kind === "IndexStmt" && st.node.idxname) created.add(String(st.node.idxname));
    if (st.kind === "CreateTableAsStmt") created.add(relationName((st.node.into as { rel?: unknown } | undefined)?.rel));
    if (st.kind === "VariableSetStmt" && st.node.name === "lock_timeout") lockTimeoutSet = true;
    schema.apply(st);
  }
  return findings;
}

/**
 * Findings as text: one block per finding (location, severity, rule, message, why, safe way), then a summary.
 *
 * @example
 * ```ts
 * console.log(renderLint(report));
 * ```
 */
export function renderLint(report: LintReport): string {
  const out: string[] = [];
  for (const f of report.findings) {
    out.push(`${f.file}:${f.line}:${f.column}: ${f.severity} ${f.rule}: ${f.message}`);
    out.push(`  why:  ${f.why}`);
    out.push(`  safe: ${f.safe}`);
  }
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  out.push(
    report.findings.length === 0
      ? `${plural(report.migrations, "migration")} linted: no findings`
      : `${plural(report.errors, "error")}, ${plural(report.warnings, "warning")}${report.notes > 0 ? `, ${plural(report.notes, "note")}` : ""} in ${plural(report.migrations, "migration")} (silence one with -- orchwf:lint-ignore RULE-ID)`,
  );
  return out.join("\n");
}
