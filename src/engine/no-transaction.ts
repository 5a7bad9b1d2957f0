/**
 * `-- orchwf:no-transaction` migrations: claimed first (a dirty row without an execution time, committed, so
 * every other run waits for it), then run statement by statement on one connection, then settled (clean row),
 * withdrawn (the first statement failed: nothing changed) or left failed (dirty with an execution time) for a
 * person to resolve.
 * @module
 */
import { Deadline } from "../core/deadline.ts";
import { MigrationError, toConnectionError } from "../core/errors.ts";
import { type Migration, sameVersion } from "../core/migration.ts";
import type { AppliedRow } from "../core/plan.ts";
import { lineOf, parseStatements } from "../core/split.ts";
import { type BatchPlan, batchPlan } from "../core/batch.ts";
import type { ParsedStatement } from "../sources/parser.ts";
import { type BatchProgress, runBatches } from "./batch.ts";
import { releaseRunLock, resumable, stillClaimed, takeRunLock } from "./batch-resume.ts";
import { concurrentTarget, dropNewInvalidIndexes, invalidIndexes } from "./concurrent-debris.ts";
import { quoteIdent } from "../core/sql-text.ts";
import type { MigrationRun } from "./events.ts";
import type { Queryable } from "../drivers/driver.ts";
import { connectionLost, withMigrationLock } from "./lock.ts";
import { restoreSessionSql } from "./session-state.ts";
import { SessionLockTimeout, withLockRetries } from "./lock-retry.ts";
import { sqlError } from "./sql-error.ts";
import { dirtyError, fileOf, migrationOf, refuseDirty } from "./dirty.ts";
import { scriptOf, type StepContext } from "./step-context.ts";

/** Between steps of one run: since when it waits for another run's no-transaction migration. */
export interface WaitState {
  since?: number;
}

/** How often a run waiting for another run's no-transaction migration looks again. */
const WAIT_POLL_MS = 200;

/**
 * Runs a claimed no-transaction migration. On success the row becomes clean; if the first statement fails
 * (nothing changed) the claim is withdrawn; if a later one fails (or the run stops while a statement runs) the
 * row stays dirty with an execution time: `failed`, refused until resolved. `resume`: the claim is a dead run's, of
 * an all-batched migration (batch-resume.ts). Undefined when another live run holds the migration's run lock.
 *
 * @example
 * ```ts
 * const run = await applyWithoutTransaction(ctx, deadline, claimed);
 * ```
 */
export async function applyWithoutTransaction(
  ctx: StepContext,
  deadline: Deadline,
  m: Migration,
  resume = false,
): Promise<MigrationRun | undefined> {
  const started = performance.now();
  // A resumable (all-batched) migration holds its run lock while it runs: how a later run tells a dead claim (batch-resume.ts).
  const runLock = resume || await resumable(ctx, m) ? { resume } : undefined;
  const failure = await runStatements(ctx, m, "up", deadline, runLock);
  if (failure === "skipped") return undefined; // another live run holds this migration's run lock: it applies it
  const ms = performance.now() - started;
  const bookkeeping = new Deadline(); // the outcome is recorded even when the run was stopped
  if (!failure) {
    await withMigrationLock(ctx, bookkeeping, (tx) => ctx.history.settle(tx, m.version, ms));
    return ctx.reporter.done("up", m, ms);
  }
  await withMigrationLock(ctx, bookkeeping, (tx) =>
    failure.partial ? ctx.history.settle(tx, m.version, ms, true) : ctx.history.remove(tx, m.version)
  );
  throw failure.error;
}

/**
 * Rolls back a no-transaction migration: claim its row for the rollback, run the down statements, then forget
 * the row (or leave it failed). Undefined when another run rolled it back first.
 *
 * @example
 * ```ts
 * const run = await revertWithoutTransaction(ctx, deadline, migration);
 * ```
 */
export async function revertWithoutTransaction(ctx: StepContext, deadline: Deadline, m: Migration): Promise<MigrationRun | undefined> {
  const row = await withMigrationLock(ctx, deadline, async (tx) => {
    const rows = await ctx.history.readExisting(tx);
    refuseDirty(ctx, rows);
    const found = rows.find((r) => sameVersion(r.version, m.version));
    if (found) await ctx.history.claimForRollback(tx, found.version);
    return found;
  });
  if (!row) return undefined;
  const started = performance.now();
  const failure = await runStatements(ctx, m, "down", deadline);
  if (failure === "skipped") return undefined; // never: no run lock is asked for
  const ms = performance.now() - started;
  const bookkeeping = new Deadline();
  if (!failure) {
    await withMigrationLock(ctx, bookkeeping, (tx) => ctx.history.remove(tx, row.version));
    return ctx.reporter.done("down", m, ms);
  }
  await withMigrationLock(ctx, bookkeeping, (tx) =>
    ctx.history.settle(tx, row.version, failure.partial ? ms : row.executionMs ?? 0, failure.partial)
  );
  throw failure.error;
}

/**
 * Runs statements one by one outside a transaction, on one connection (a `-- orchwf:batch` one in batches,
 * batch.ts). Returns the failure, if any, and whether it left the migration part way (an earlier statement or
 * batch ran, or a stopped statement may still finish). With `runLock`, first takes the migration's run lock
 * (batch-resume.ts): "skipped" when a live run holds it, or (resuming) when that run settled the row meanwhile.
 */
async function runStatements(
  ctx: StepContext,
  m: Migration,
  direction: "up" | "down",
  deadline: Deadline,
  runLock?: { resume: boolean },
): Promise<{ error: unknown; partial: boolean } | undefined | "skipped"> {
  const script = scriptOf(ctx, m, direction);
  const statements = await parseStatements(script);
  const plan = batchPlan(script, statements, false);
  if (plan.problems.length > 0) { // checked before the run (sources/check.ts); here for a resumed migration
    const p = plan.problems[0];
    const file = (direction === "up" ? m.source?.up : m.source?.down) ?? `migration ${m.version} (${direction})`;
    throw new MigrationError("INVALID_MIGRATION", `${file}:${lineOf(script, p.offset)}: ${p.message}`, { version: m.version, file });
  }
  // Errors before the first statement (no connection, SET failed) leave the migration untouched.
  return await ctx.driver.session(async (conn) => {
    if (runLock && !(await takeRunLock(conn, ctx, m.version))) return "skipped" as const;
    const state = { lost: false };
    try {
      // The run that held the lock may have settled the row just before letting go: nothing left to do.
      if (runLock && !(await stillClaimed(conn, ctx, m.version))) return "skipped" as const;
      if (runLock?.resume) ctx.reporter.warn(`migration ${m.version} (${m.source?.up ?? m.description}) was claimed by a run that is gone; resuming it: its batched statements run again from the first, each continues with the rows not done yet`);
      ctx.reporter.start(direction, m);
      return await runOn(conn, { ctx, m, direction, deadline, script, statements, plan, resumed: runLock?.resume === true }, state);
    } finally {
      if (runLock) await releaseRunLock(conn, ctx, m.version, state.lost);
    }
  }).catch((err: unknown) => ({ error: toConnectionError(err) ?? err, partial: runLock?.resume === true }));
}

/** What one run of a no-transaction migration's statements works with. */
interface StatementRun {
  ctx: StepContext;
  m: Migration;
  direction: "up" | "down";
  deadline: Deadline;
  script: string;
  statements: ParsedStatement[];
  plan: BatchPlan;
  /** Resuming a dead run's claim: its committed batches stay, so a failure is never "nothing changed". */
  resumed: boolean;
}

/** The statements of `run`, in order, on `conn`; sets `state.lost` when the connection cannot be used again. */
async function runOn(conn: Queryable, run: StatementRun, state: { lost: boolean }): Promise<{ error: unknown; partial: boolean } | undefined> {
  const { ctx, m, direction, deadline, script, statements, plan } = run;
  if (ctx.schema !== undefined) await conn.exec(`SET search_path TO ${quoteIdent(ctx.schema)}`);
  const locks = new SessionLockTimeout(ctx.lockRetry);
  // A resumed run continues what committed batches of the dead run did: never "nothing changed".
  let changed = run.resumed;
  try {
    for (let i = 0; i < statements.length; i++) {
      if (deadline.stopped) return { error: deadline.stopError(), partial: i > 0 || changed };
      const batched = plan.directives.get(i);
      const progress: BatchProgress = { batches: 0, rows: 0 };
      let outcome: StatementOutcome;
      // A failed CONCURRENTLY index build leaves an invalid index: dropped at once (concurrent-debris.ts).
      const target = concurrentTarget(statements[i]);
      let debris = false;
      try {
        // A lock wait that timed out changed nothing: that statement alone is tried again after a backoff.
        outcome = await withLockRetries(ctx.lockRetry, deadline, ctx.reporter, () => m, direction, async () => {
          const lockTimeout = locks.before(statements[i].text);
          if (lockTimeout !== undefined) await deadline.race(conn.exec(lockTimeout));
          const before = target && await invalidIndexes(conn, target);
          const attempt = batched
            ? await batchOutcome(conn, statements[i].text, batched, deadline, progress, (e) => ctx.reporter.batch({ direction, version: m.version, description: m.description, ...e }))
            : await runStatement(conn, statements[i].text, deadline);
          if (!attempt.ok && target && attempt.stopped !== "running" && attempt.stopped !== "completed") {
            debris = !(before && await dropNewInvalidIndexes(conn, target, before));
          }
          if (!attempt.ok && attempt.stopped === undefined) throw attempt.error; // a failure: retried if a lock wait
          return attempt;
        }, statements[i].text);
      } catch (error) {
        outcome = { ok: false, error };
      }
      if (outcome.ok) continue;
      const err = outcome.error;
      // An invalid index that could not be dropped: the database did change.
      const concurrently = debris;
      changed ||= progress.rows > 0; // committed batches stay
      if (outcome.stopped === "completed" && i === statements.length - 1) return undefined; // all of it took effect
      const partial = i > 0 || changed || outcome.stopped === "completed" || outcome.stopped === "running" || concurrently;
      const note = partial ? partialNote(i, statements.length - i - 1, outcome.stopped, concurrently) : false;
      const running = outcome.stopped === "running";
      const error = sqlError(err, m, direction, script, statements[i].start, deadline, note);
      state.lost = running || connectionLost(err);
      return { error, partial };
    }
    return undefined;
  } finally {
    // The connection goes back to a pool (or is the user's client): without the migration's session SETs.
    if (!state.lost) await conn.exec(restoreSessionSql(ctx.baseline)).catch(() => {});
  }
}

/** `runBatches` as a statement's outcome: a stop of the run is "cancelled" (the batch in flight rolled back). */
async function batchOutcome(...args: Parameters<typeof runBatches>): Promise<StatementOutcome> {
  const deadline = args[3];
  try {
    await runBatches(...args);
    return { ok: true };
  } catch (error) {
    const stopped = error instanceof MigrationError && (error.code === "TIMEOUT" || error.code === "ABORTED") && deadline.stopped;
    return stopped ? { ok: false, error, stopped: "cancelled" } : { ok: false, error };
  }
}

/** How one statement ended: done, failed, or stopped by the run (cancelled, completed first, or still running). */
type StatementOutcome = { ok: true } | { ok: false; error: unknown; stopped?: "cancelled" | "completed" | "running" };

/** How long a stopped run waits to learn whether the server cancelled the statement or it completed first. */
const CANCEL_WAIT_MS = 2_000;

/**
 * Runs one statement. When the run must stop while it runs, the driver cancels it on the server, and the outcome
 * says whether it was cancelled, completed first, or (a driver that cannot cancel) is still running.
 */
async function runStatement(conn: Queryable, text: string, deadline: Deadline): Promise<StatementOutcome> {
  const cancel = new AbortController();
  const unregister = deadline.onStop(() => cancel.abort());
  const running = conn.exec(text, cancel.signal);
  try {
    await deadline.race(running);
    return { ok: true };
  } catch (error) {
    const stopped = error instanceof MigrationError && (error.code === "TIMEOUT" || error.code === "ABORTED");
    if (!stopped) return { ok: false, error };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const settled = await Promise.race([
      running.then(() => "completed" as const, () => "cancelled" as const),
      new Promise<"running">((resolve) => (timer = setTimeout(resolve, CANCEL_WAIT_MS, "running"))),
    ]);
    clearTimeout(timer);
    return { ok: false, error, stopped: settled };
  } finally {
    unregister();
  }
}

/** Exactly what a no-transaction migration that stopped at statement `done + 1` left: what stays, what never ran. */
function partialNote(before: number, after: number, stopped: "cancelled" | "completed" | "running" | undefined, concurrently: boolean): string {
  const plural = (n: number) => `${n} statement${n === 1 ? "" : "s"}`;
  const parts = [
    before > 0 ? `the ${plural(before)} before it took effect and stay, outside a transaction they cannot be undone` : "no statement before it ran",
    stopped === "running"
      ? "it was stopped while running, could not be cancelled, and may still complete on the server"
      : stopped === "completed"
      ? "it completed (and stays) before the stop could cancel it"
      : concurrently
      ? "a failed CONCURRENTLY statement leaves an invalid index behind"
      : undefined,
    after > 0 ? `the ${plural(after)} after it never ran` : undefined,
  ];
  return parts.filter((p) => p !== undefined).join("; ");
}

/**
 * Another run is applying a no-transaction migration (a dirty row without an execution time): wait for it,
 * polling, at most `lockTimeoutMs`. A row that failed part way (it has an execution time) is refused at once.
 * `alive`: the run is known to be alive (it holds the run lock of its batched migration, batch-resume.ts).
 *
 * @example
 * ```ts
 * await waitForRunning(ctx, deadline, busyRow, waiting);
 * ```
 */
export async function waitForRunning(ctx: StepContext, deadline: Deadline, row: AppliedRow, waiting: WaitState, alive = false): Promise<void> {
  if (row.executionMs !== null) throw dirtyError(ctx, row);
  waiting.since ??= Date.now();
  if (Date.now() - waiting.since >= ctx.lockTimeoutMs) {
    const since = row.appliedAt ? ` since ${row.appliedAt.toISOString()}` : "";
    if (alive) {
      throw new MigrationError(
        "DIRTY",
        `migration ${row.version} (${fileOf(ctx, row.version)}) is being applied in batches by another run${since}, which is alive (it holds the migration's run lock), and did not finish within ${ctx.lockTimeoutMs} ms (--lock-timeout; library: lockTimeoutMs). This run changed nothing: run again once it finished, or wait longer with a higher --lock-timeout`,
        { version: row.version, file: migrationOf(ctx, row.version)?.source?.up },
      );
    }
    throw new MigrationError(
      "DIRTY",
      `migration ${row.version} has been running outside a transaction${since} and did not finish within ${ctx.lockTimeoutMs} ms (--lock-timeout; library: lockTimeoutMs). If no other run is applying it, its run died part way: check the database, finish or undo ${fileOf(ctx, row.version)} by hand, then call migrator.resolve("${row.version}", "applied") or migrator.resolve("${row.version}", "rolled-back")`,
      { version: row.version, file: migrationOf(ctx, row.version)?.source?.up },
    );
  }
  await deadline.sleep(WAIT_POLL_MS);
}
