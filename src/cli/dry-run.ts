/**
 * `up --dry-run`: the SQL `up` would send, in order, statement by statement, with our own bookkeeping (transaction,
 * lock, version-table reads and rows) marked `/* orchwf bookkeeping *\/`, so a reviewer sees exactly what runs.
 * @module
 */
import type { Migration } from "../core/migration.ts";
import { quoteIdent, quoteLiteral } from "../core/sql-text.ts";
import { parseStatements, transactionWrapper } from "../core/split.ts";
import { History } from "../engine/history.ts";
import { checkPending } from "../sources/check.ts";
import type { MigrationPlan } from "../migrator.ts";

/** One statement of the dry run. */
export interface DryRunStatement {
  sql: string;
  /** True for statements orchwf-migrate adds (transaction, lock, version table), false for the migration's own. */
  bookkeeping: boolean;
}

/** One migration of the dry run. */
export interface DryRunStep {
  version: string;
  description: string;
  file?: string;
  transaction: boolean;
  statements: DryRunStatement[];
}

/**
 * The statements `up` would run for `plan.pending`, in order.
 *
 * @example
 * ```ts
 * const steps = await dryRunSteps(await migrator.plan(), migrator.migrations, { table: "orchwf_migrations" });
 * ```
 */
export async function dryRunSteps(
  plan: MigrationPlan,
  migrations: readonly Migration[],
  options: { table?: string; schema?: string; lockTimeoutMs?: number } = {},
): Promise<DryRunStep[]> {
  const history = new History(options.schema, options.table ?? "orchwf_migrations");
  const byVersion = new Map(migrations.map((m) => [m.version, m]));
  const ours = (sql: string): DryRunStatement => ({ sql, bookkeeping: true });
  const settings = [
    "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
    `SET LOCAL lock_timeout = ${Math.max(1, Math.round(options.lockTimeoutMs ?? 60_000))}`,
    ...(options.schema === undefined ? [] : [`SET LOCAL search_path TO ${quoteIdent(options.schema)}`]),
  ];
  const lock = `SELECT pg_advisory_xact_lock(${history.lockKey})`;
  const reread = `SELECT version, dirty FROM ${history.qualified}`;
  // The same checks as up: a syntax error is reported with its place, before any SQL is shown.
  await checkPending(plan.pending.map((p) => byVersion.get(p.version)).filter((m) => m !== undefined), "up");
  const steps: DryRunStep[] = [];
  for (const p of plan.pending) {
    const m = byVersion.get(p.version);
    if (!m) continue;
    const parsed = await parseStatements(m.up);
    // A whole-file BEGIN; … COMMIT; wrapper runs as our transaction: it is not sent.
    const wrapper = m.transaction === false ? undefined : transactionWrapper(parsed);
    const own = parsed.filter((st) => st !== wrapper?.first && st !== wrapper?.last).map((st) => ({ sql: st.text, bookkeeping: false }));
    const v = quoteLiteral(m.version);
    const statements = m.transaction === false
      ? [
        ours("BEGIN"), ...settings.map(ours), ours(lock), ours(reread),
        ours(`INSERT INTO ${history.qualified} (version, description, checksum, execution_ms, dirty, applied_at) VALUES (${v}, ..., NULL, true, (now() AT TIME ZONE 'UTC')) -- claim: "running"`),
        ours("COMMIT"),
        ...own,
        ours("BEGIN"), ours(lock),
        ours(`UPDATE ${history.qualified} SET dirty = false, execution_ms = <duration> WHERE version = ${v}`),
        ours("COMMIT"),
      ]
      : [
        ours("BEGIN"), ...settings.map(ours), ours(lock), ours(reread),
        ...own,
        ours(history.recordStatement(m)),
        ours("COMMIT"),
      ];
    steps.push({ version: m.version, description: m.description, file: m.source?.up, transaction: m.transaction !== false, statements });
  }
  return steps;
}

/**
 * The dry run as SQL text: a header comment per migration, each statement ending in `;`.
 *
 * @example
 * ```ts
 * console.log(renderDryRun(steps));
 * ```
 */
export function renderDryRun(steps: DryRunStep[]): string {
  if (steps.length === 0) return "-- nothing to apply: the database is up to date";
  const out: string[] = [];
  for (const s of steps) {
    const where = s.file ? ` (${s.file})` : "";
    out.push(`-- ${s.version} ${s.description}${where}${s.transaction ? "" : ": no transaction, statement by statement"}`);
    for (const st of s.statements) out.push(`${st.bookkeeping ? "/* orchwf bookkeeping */ " : ""}${st.sql};`);
    out.push("");
  }
  return out.join("\n").trimEnd();
}
