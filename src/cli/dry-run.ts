/**
 * `up --dry-run`: the SQL `up` would send, in order, statement by statement, with our own bookkeeping (the locked
 * transaction's opening, the version-table read, the closing block, COMMIT) marked `/* orchwf bookkeeping *\/`.
 * Every bookkeeping statement comes from the engine's own builders (engine/lock.ts, engine/step.ts,
 * engine/history.ts), the ones that send it; the live database is only read (its session state and the digest
 * of its applied versions, which the engine's reads compare against).
 * @module
 */
import { Deadline } from "../core/deadline.ts";
import type { Migration, MigrationCheck } from "../core/migration.ts";
import { checkPlace, checkQuery, type CheckResult } from "../core/pre-checks.ts";
import type { Driver } from "../drivers/driver.ts";
import { resolvePlaceholders } from "../engine/placeholders.ts";
import { evaluateCheck } from "../engine/pre-checks.ts";
import { checksOf, scriptOf } from "../engine/step-context.ts";
import { quoteIdent, quoteLiteral } from "../core/sql-text.ts";
import { parseStatements, transactionWrapper } from "../core/split.ts";
import { type Database, toDriver } from "../drivers/detect.ts";
import { History, VersionSet } from "../engine/history.ts";
import { canFold, foldedSql } from "../engine/folded-step.ts";
import { lockOpeningSql } from "../engine/lock.ts";
import { lockRetryPolicy, SessionLockTimeout, statementLockTimeout } from "../engine/lock-retry.ts";
import { readBaseline, restoreSessionSql } from "../engine/session-state.ts";
import { closingSql, recordApplied, type StepContext } from "../engine/step.ts";
import type { MigrationPlan } from "../migrator.ts";
import { checkPending } from "../sources/check.ts";
import { batchPlan } from "../core/batch.ts";
import { resumable, runLockSql } from "../engine/batch-resume.ts";

/** One statement of the dry run. */
export interface DryRunStatement {
  sql: string;
  /** True for statements orchwf-migrate adds (transaction, lock, version table), false for the migration's own. */
  bookkeeping: boolean;
  /** A `-- orchwf:batch` statement: run in its own transaction again and again until it changes no row. */
  batch?: { line: number; pauseMs?: number };
}

/** One migration of the dry run. */
export interface DryRunStep {
  version: string;
  description: string;
  file?: string;
  transaction: boolean;
  statements: DryRunStatement[];
  /** Its pre-migration checks, evaluated now on the database as it is (read-only, rolled back). */
  checks?: DryRunCheck[];
}

/** One pre-migration check of the dry run and what it says now. */
export interface DryRunCheck {
  /** `file:line` of its directive. */
  at: string;
  sql: string;
  /** `error` when it failed to run (`error` has the server's message). */
  result: CheckResult;
  error?: string;
}

/**
 * The statements `up` would send for `plan.pending`, in order, against `db` as it is now.
 *
 * @example
 * ```ts
 * const steps = await dryRunSteps(db, await migrator.plan(), migrator.migrations, { table: "orchwf_migrations" });
 * ```
 */
export async function dryRunSteps(
  db: Database,
  plan: MigrationPlan,
  migrations: readonly Migration[],
  options: {
    table?: string;
    schema?: string;
    lockTimeoutMs?: number;
    timeoutMs?: number;
    placeholders?: Readonly<Record<string, string>>;
    ddlLockTimeoutMs?: number;
    lockRetries?: number;
  } = {},
): Promise<DryRunStep[]> {
  const driver = toDriver(db);
  // As the run resolves it: the version table's schema is fixed at the start and named in every statement.
  const { located: history } = await new History(options.schema, options.table ?? "orchwf_migrations").locate(driver);
  const ctx: StepContext = {
    driver,
    history,
    lockTimeoutMs: options.lockTimeoutMs ?? 60_000,
    schema: options.schema,
    migrations,
    reporter: undefined as never, // never called: nothing runs
    baseline: await readBaseline(driver),
    lockRetry: lockRetryPolicy(options),
  };
  const byVersion = new Map(migrations.map((m) => [m.version, m]));
  const pending = plan.pending.map((p) => byVersion.get(p.version)).filter((m) => m !== undefined);
  // Placeholders replaced as up replaces them (a missing one refuses), then the same checks as up: a syntax error
  // is reported with its place, before any SQL is shown.
  ctx.resolved = await resolvePlaceholders(driver, pending, options.placeholders ?? {}, { schema: options.schema, table: history.table }, ["up"]);
  await checkPending(pending.map((m) => (ctx.resolved!.has(m) ? { ...m, up: scriptOf(ctx, m, "up"), placeholders: undefined } : m)), "up");
  const ours = (sql: string): DryRunStatement => ({ sql, bookkeeping: true });
  // On PGlite the driver's transaction() sends BEGIN itself, before the opening; COMMIT ends both.
  const begin = driver.embedded ? [ours("BEGIN")] : [];
  // A step's opening sets its statements' lock wait; the settling of a no-transaction migration's row does not.
  const opening = (read: string, timeoutMs = options.timeoutMs, step = true) => [
    ...begin,
    ...lockOpeningSql(ctx, timeoutMs, read, driver.embedded, step ? statementLockTimeout(ctx.lockRetry) : undefined).map(ours),
  ];
  const commit = [ours("COMMIT")];
  // After a step it applied itself, the engine sends the next one in one message (engine/folded-step.ts).
  const foldedStatements = (m: Migration, known: VersionSet, own: DryRunStatement[], closing: string) => {
    const sql = foldedSql(ctx, options.timeoutMs, known, m, closing);
    return [...sql.opening.map(ours), ...own, ...sql.closing.map(ours)];
  };
  // What each step's read compares with: the versions the run has seen so far, tracked as the engine tracks them
  // (the server's digest of what it read, plus the version the step before applied).
  let before = await appliedVersions(driver, history); // the versions before the next step, digest as reported
  let known: VersionSet | undefined; // what the next step's read compares with (undefined: it reads them all)
  const steps: DryRunStep[] = [];
  for (const [i, m] of pending.entries()) {
    const parsed = await parseStatements(scriptOf(ctx, m, "up"));
    const checks = checksOf(ctx, m);
    const checkSql = checks.map((c) => ours(checkQuery(c)));
    // A whole-file BEGIN; … COMMIT; wrapper runs as our transaction: it is not sent.
    const wrapper = m.transaction === false ? undefined : transactionWrapper(parsed);
    // An all-batched migration holds its run lock while it runs (engine/batch-resume.ts).
    const runLock = await resumable(ctx, m) ? runLockSql(ctx, m.version) : undefined;
    const batches = m.transaction === false ? batchPlan(scriptOf(ctx, m, "up"), parsed, false).directives : undefined;
    const own: DryRunStatement[] = parsed.filter((st) => st !== wrapper?.first && st !== wrapper?.last).map((st, i) => {
      const batch = batches?.get(i);
      return batch ? { sql: st.text, bookkeeping: false, batch: { line: batch.line, ...(batch.pauseMs === undefined ? {} : { pauseMs: batch.pauseMs }) } } : { sql: st.text, bookkeeping: false };
    });
    const read = history.versionReadSql(known);
    const folded = m.transaction !== false && known !== undefined && canFold(ctx, m);
    const statements = m.transaction === false
      ? [
        ...opening(read), ...checkSql, ours(history.claimStatement(m)), ...commit,
        ...(runLock ? [ours(runLock.take)] : []),
        ...(options.schema === undefined ? [] : [ours(`SET search_path TO ${quoteIdent(options.schema)}`)]),
        ...batchTransactions(withSessionLockTimeouts(own, new SessionLockTimeout(ctx.lockRetry))),
        ours(restoreSessionSql(ctx.baseline)),
        ...(runLock ? [ours(runLock.release)] : []),
        // Settled under a new lock with no time limit: the outcome is recorded even when the run was stopped.
        ...opening("SELECT true AS ok", undefined, false),
        ours(`UPDATE ${history.qualified} SET dirty = $2, execution_ms = $3 WHERE version = $1 -- $1 = ${quoteLiteral(m.version)}, $2 = false, $3 = its duration`),
        ...commit,
      ]
      : folded
      ? foldedStatements(m, known!, own, closingSql(ctx, recordApplied(ctx, m, i + 1 < pending.length)))
      : [...opening(read), ...checkSql, ...own, ours(closingSql(ctx, recordApplied(ctx, m, i + 1 < pending.length))), ...commit];
    const step: DryRunStep = { version: m.version, description: m.description, file: m.source?.up, transaction: m.transaction !== false, statements };
    if (checks.length > 0) step.checks = await evaluateChecks(driver, m, checks, options.schema);
    steps.push(step);
    // The engine keeps what it knows after an applied step; after a claimed no-transaction one it reads afresh.
    const after = before.with(m.version);
    before = after.reported(await evaluate(driver, after.digest));
    // After a repeatable, the engine reads afresh (its row is replaced). After a one-message step it knows the
    // digest the server reported at its end; after the long way, the digest its read reported plus the version.
    known = m.transaction === false || m.repeatable ? undefined : folded ? before : after;
  }
  return steps;
}

/**
 * Evaluates the checks of `m` on the database as it is now: in a READ ONLY transaction that is rolled back. A check
 * that reads what an earlier pending migration makes fails here, though `up` would run it after that migration.
 */
async function evaluateChecks(driver: Driver, m: Migration, checks: readonly MigrationCheck[], schema: string | undefined): Promise<DryRunCheck[]> {
  const out: DryRunCheck[] = [];
  const rollback = new Error("orchwf dry run: rolled back");
  await driver.transaction(async (tx) => {
    await tx.exec(`SET TRANSACTION READ ONLY${schema === undefined ? "" : `; SET LOCAL search_path TO ${quoteIdent(schema)}`}`);
    for (const [i, check] of checks.entries()) {
      // Each check in a savepoint: one that fails does not abort the transaction for the next.
      await tx.exec("SAVEPOINT orchwf_check");
      const { result, error } = await evaluateCheck(tx, check, new Deadline());
      await tx.exec(result === "error" ? "ROLLBACK TO SAVEPOINT orchwf_check" : "RELEASE SAVEPOINT orchwf_check");
      out.push({ at: checkPlace(m, check, i), sql: check.sql.trim(), result, ...(error === undefined ? {} : { error }) });
    }
    throw rollback;
  }).catch((err) => {
    if (err !== rollback) throw err;
  });
  return out;
}

/** A no-transaction migration's statements, each preceded by the lock_timeout change the engine sends before it. */
function withSessionLockTimeouts(own: DryRunStatement[], locks: SessionLockTimeout): DryRunStatement[] {
  return own.flatMap((st) => {
    const set = locks.before(st.sql);
    return set === undefined ? [st] : [{ sql: set, bookkeeping: true }, st];
  });
}

/** A batched statement inside the BEGIN and COMMIT each of its batches runs in. */
function batchTransactions(statements: DryRunStatement[]): DryRunStatement[] {
  return statements.flatMap((st) => st.batch ? [{ sql: "BEGIN", bookkeeping: true }, st, { sql: "COMMIT", bookkeeping: true }] : [st]);
}

/** A digest expression's value, as the server reports it in a step's read. */
async function evaluate(driver: ReturnType<typeof toDriver>, digest: string): Promise<string> {
  const [row] = await driver.query<{ d: string }>(`SELECT (${digest})::text AS d`);
  return row.d;
}

/** The applied versions and their digest, as the engine's first read reports them. */
async function appliedVersions(driver: ReturnType<typeof toDriver>, history: History): Promise<VersionSet> {
  const [row] = await driver.query<{ versions: string | null; digest: string }>(history.versionReadSql(undefined)).catch(() => []);
  if (!row) return VersionSet.of([], "0"); // no version table yet: the first step makes it
  const versions = (JSON.parse(row.versions ?? "[]") as [string][]).map(([v]) => v);
  return VersionSet.of(versions, row.digest);
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
    for (const c of s.checks ?? []) {
      const verdict = c.result === "true" ? "holds" : c.result === "error" ? `fails: ${c.error}` : `is ${c.result}: up would refuse this migration (CHECK_FAILED)`;
      out.push(`-- check ${c.at}: ${c.sql} -> ${verdict}`);
    }
    for (const st of s.statements) {
      if (st.batch) {
        const pause = st.batch.pauseMs === undefined ? "" : `, ${st.batch.pauseMs} ms apart`;
        out.push(`-- batched (-- orchwf:batch, line ${st.batch.line}): this transaction runs again and again${pause}, until the statement changes 0 rows`);
      }
      out.push(`${st.bookkeeping ? "/* orchwf bookkeeping */ " : ""}${st.sql};`);
    }
    out.push("");
  }
  return out.join("\n").trimEnd();
}
