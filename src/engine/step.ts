/**
 * One transactional step: under the migration lock, re-read the version table, apply the lowest pending version
 * (or revert one) and record it, all in one transaction.
 * @module
 */
import type { Deadline } from "../core/deadline.ts";
import { type Migration, sameVersion, withoutTransactionWrapper } from "../core/migration.ts";
import { type AppliedRow, pendingMigrations } from "../core/plan.ts";
import { VersionSet } from "./history.ts";
import { type LockedTransaction, withMigrationLock } from "./lock.ts";
import { refuseDirty } from "./dirty.ts";
import { checksOf, scriptOf, type StepContext } from "./step-context.ts";
import { runChecks } from "./pre-checks.ts";
import { BOOKKEEPING_MARK, bookkeepingBlock, endsOutsideQuotes, serverFailure, sqlError } from "./sql-error.ts";
import { restoreStatements } from "./session-state.ts";
import { canFold, foldedStep } from "./folded-step.ts";
import { statementLockTimeout } from "./lock-retry.ts";

export type { StepContext } from "./step-context.ts";

/** What one `applyStep` did. */
export type StepOutcome =
  /** Nothing left to apply. */
  | { kind: "done" }
  /** Another run is applying (or failed applying) a no-transaction migration: that row. */
  | { kind: "busy"; row: AppliedRow }
  /** A no-transaction migration was claimed (committed): run it now, outside a transaction. */
  | { kind: "claimed"; migration: Migration }
  /** A migration was applied and recorded. */
  | { kind: "applied"; migration: Migration; durationMs: number };

/**
 * What the run knows between steps: the version set it last saw and, planned from it, the pending migrations
 * (from `next` on). While the table still holds exactly `known`, a step neither reads the versions nor plans again:
 * O(1) in the number of applied versions.
 */
export interface StepMemory {
  known?: VersionSet;
  pending?: Migration[];
  next?: number;
}

/**
 * One locked transaction: re-read the table (cheaply: only when it changed since `memory`), apply the lowest
 * pending version up to `to` (only `only`, when given), record it. On a server: two round trips; one after a step
 * this run applied itself (folded-step.ts).
 *
 * @example
 * ```ts
 * const outcome = await applyStep(ctx, deadline, { to: "005" }, {});
 * ```
 */
export async function applyStep(
  ctx: StepContext,
  deadline: Deadline,
  options: { to?: string; only?: string },
  memory: StepMemory,
): Promise<StepOutcome> {
  const { known, pending: planned, next: plannedNext = 0 } = memory;
  memory.known = memory.pending = undefined; // until this step ends well, the next one reads and plans afresh
  const upcoming = planned?.[plannedNext];
  if (known && planned && upcoming && canFold(ctx, upcoming)) {
    // The run applied the step before: one message, guarded (folded-step.ts); the long way if the guard refuses.
    const closing = closingSql(ctx, recordApplied(ctx, upcoming, plannedNext + 1 < planned.length));
    const folded = await foldedStep(ctx, deadline, upcoming, known, closing);
    if (folded.applied) {
      Object.assign(memory, { known: known.with(upcoming.version).reported(folded.digest), pending: planned, next: plannedNext + 1 });
      return { kind: "applied", migration: upcoming, durationMs: folded.durationMs };
    }
  }
  return await withMigrationLock(ctx, deadline, async (tx): Promise<StepOutcome> => {
    const text = tx.read.versions as string | null;
    const digest = String(tx.read.digest);
    let pending: Migration[];
    let first = 0;
    let seen: VersionSet;
    if (text === null && known !== undefined) {
      seen = known.reported(digest); // the table holds exactly what this run last saw: the plan stands
      if (planned !== undefined) [pending, first] = [planned, plannedNext];
      else pending = plan(ctx, known.versions.map((version) => ({ version, dirty: false })), options);
    } else {
      let rows: { version: string; dirty: boolean; checksum?: string | null }[] = (JSON.parse(text!) as [string, boolean, string | null][])
        .map(([version, dirty, checksum]) => ({ version, dirty, checksum }));
      if (rows.some((r) => r.dirty)) { // rare: read the whole rows, again, for the wait's details
        const full = await ctx.history.readExisting(tx);
        const busy = full.find((r) => r.dirty);
        if (busy) return { kind: "busy", row: busy };
        rows = full;
      }
      seen = VersionSet.of(rows.map((r) => r.version), digest);
      pending = plan(ctx, rows, options);
    }
    const next = pending[first];
    if (!next) return { kind: "done" };
    // Pre-migration checks, before its SQL (or before a no-transaction one is claimed): a failure rolls back.
    const checks = checksOf(ctx, next);
    if (checks.length > 0) await runChecks(tx, next, checks, deadline);
    if (next.transaction === false) {
      await tx.commitWith(ctx.history.claimStatement(next)); // committed now: others wait for this row, on any connection
      return { kind: "claimed", migration: next };
    }
    const durationMs = await runScript(ctx, tx, next, "up", deadline, recordApplied(ctx, next, first + 1 < pending.length));
    // A repeatable's row changes its checksum, not the version set: after one, the next step reads afresh.
    if (!next.repeatable) Object.assign(memory, { known: seen.with(next.version), pending, next: first + 1 });
    return { kind: "applied", migration: next, durationMs };
  }, ctx.history.versionReadSql(known), statementLockTimeout(ctx.lockRetry));
}

/**
 * What records an applied migration, in its closing message. Only the run's last commit waits for the WAL flush;
 * it flushes the earlier ones too (see README, Benchmarks).
 *
 * @example
 * ```ts
 * closingSql(ctx, recordApplied(ctx, migration, false));
 * ```
 */
export function recordApplied(ctx: StepContext, m: Migration, moreFollow: boolean): string[] {
  return [ctx.history.recordStatement(m), ...(moreFollow ? ["PERFORM set_config('synchronous_commit', 'off', true)"] : [])];
}

/**
 * The bookkeeping sent after a migration's SQL, in the same message as COMMIT: the session put back, then `then`.
 *
 * @example
 * ```ts
 * await tx.commitWith(`${body}\n;\n${closingSql(ctx, recordApplied(ctx, m, false))}`);
 * ```
 */
export function closingSql(ctx: StepContext, then: string[]): string {
  return bookkeepingBlock([...restoreStatements(ctx.baseline), ...then]);
}

function plan(ctx: StepContext, rows: readonly { version: string }[], options: { to?: string; only?: string }): Migration[] {
  const pending = pendingMigrations(ctx.migrations, rows, options.to);
  return options.only === undefined ? pending : pending.filter((m) => sameVersion(m.version, options.only!));
}

/**
 * Rolls back one version in a locked transaction, if it is still applied; returns its duration, or undefined
 * when another run rolled it back first.
 *
 * @example
 * ```ts
 * const ms = await revertStep(ctx, deadline, migration);
 * ```
 */
export function revertStep(ctx: StepContext, deadline: Deadline, target: Migration): Promise<number | undefined> {
  return withMigrationLock(ctx, deadline, async (tx) => {
    const rows = await ctx.history.readExisting(tx);
    refuseDirty(ctx, rows);
    const row = rows.find((r) => sameVersion(r.version, target.version));
    if (!row) return undefined; // another runner did it
    return await runScript(ctx, tx, target, "down", deadline, [ctx.history.removeStatement(row.version)]);
  }, undefined, statementLockTimeout(ctx.lockRetry));
}

/**
 * Runs one direction of a migration, then our bookkeeping (the session state put back, then `then`) and COMMIT,
 * in one message; returns its duration. Error positions are unchanged: the script comes first.
 */
async function runScript(
  ctx: StepContext,
  tx: LockedTransaction,
  m: Migration,
  direction: "up" | "down",
  deadline: Deadline,
  then: string[],
): Promise<number> {
  ctx.reporter.start(direction, m);
  const script = scriptOf(ctx, m, direction);
  const bookkeeping = closingSql(ctx, then);
  const started = performance.now();
  try {
    const body = await withoutTransactionWrapper(script);
    // The script, not the body: same answer (the wrapper is blanked with spaces), and its parse is kept.
    if (await endsOutsideQuotes(script)) await tx.commitWith(`${body}\n;\n${bookkeeping}`);
    else {
      await deadline.race(tx.exec(body)); // an unterminated quote or comment: Postgres reports it on the script alone
      await tx.commitWith(bookkeeping);
    }
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown };
    // A stop cancels the running statement on the server: report the stop, not the cancel.
    if (e?.code === "57014" && deadline.stopped) throw deadline.stopError(err);
    if (typeof e?.message === "string" && e.message.startsWith(BOOKKEEPING_MARK)) {
      const file = (direction === "up" ? m.source?.up : m.source?.down) ?? `migration ${m.version} (${direction})`;
      throw serverFailure(
        err,
        `migration ${m.version} (${file}) ran, but recording it in ${ctx.history.qualified} (nothing of it was committed)`,
        { version: m.version, file },
      );
    }
    throw sqlError(err, m, direction, script, undefined, deadline);
  }
  return performance.now() - started;
}
