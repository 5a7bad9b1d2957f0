/**
 * One transactional step: under the migration lock, re-read the version table, apply the lowest pending version
 * (or revert one) and record it, all in one transaction.
 * @module
 */
import type { Deadline } from "../core/deadline.ts";
import { type Migration, sameVersion, withoutTransactionWrapper } from "../core/migration.ts";
import { type AppliedRow, pendingMigrations } from "../core/plan.ts";
import type { Queryable } from "../drivers/driver.ts";
import type { Reporter } from "./events.ts";
import { type LockContext, withMigrationLock } from "./lock.ts";
import { refuseDirty } from "./no-transaction.ts";
import { endsOutsideQuotes, sqlError } from "./sql-error.ts";

/** What every step needs: the lock's context, the migrations and where progress goes. */
export interface StepContext extends LockContext {
  migrations: readonly Migration[];
  reporter: Reporter;
}

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
 * One locked transaction: re-read the table, apply the lowest pending version up to `to` (among `only`, when
 * given), record it.
 *
 * @example
 * ```ts
 * const outcome = await applyStep(ctx, deadline, { to: "005" });
 * ```
 */
export function applyStep(
  ctx: StepContext,
  deadline: Deadline,
  options: { to?: string; only?: string } = {},
): Promise<StepOutcome> {
  return withMigrationLock(ctx, deadline, async (tx): Promise<StepOutcome> => {
    let rows: { version: string; dirty: boolean }[] = await ctx.history.readVersions(tx); // fresh, only what the plan needs
    if (rows.some((r) => r.dirty)) { // rare: read the whole rows, again, for the wait's details
      const full = await ctx.history.readExisting(tx);
      const busy = full.find((r) => r.dirty);
      if (busy) return { kind: "busy", row: busy };
      rows = full;
    }
    let pending = pendingMigrations(ctx.migrations, rows, options.to);
    if (options.only !== undefined) pending = pending.filter((m) => sameVersion(m.version, options.only!));
    const next = pending[0];
    if (!next) return { kind: "done" };
    if (next.transaction === false) {
      await ctx.history.claim(tx, next); // committed now: others wait for this row, on any connection
      return { kind: "claimed", migration: next };
    }
    // Only the run's last commit waits for the WAL flush; it flushes the earlier ones too (see README, Benchmarks).
    const flush = pending.length > 1 ? ";\nSET LOCAL synchronous_commit = off" : "";
    const durationMs = await runScript(ctx, tx, next, "up", deadline, ctx.history.recordStatement(next) + flush);
    return { kind: "applied", migration: next, durationMs };
  });
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
    const ms = await runScript(ctx, tx, target, "down", deadline);
    await ctx.history.remove(tx, row.version);
    return ms;
  });
}

/** Runs one direction of a migration in the current transaction, then `then` (our bookkeeping); returns its duration. */
async function runScript(
  ctx: StepContext,
  tx: Queryable,
  m: Migration,
  direction: "up" | "down",
  deadline: Deadline,
  then?: string,
): Promise<number> {
  ctx.reporter.start(direction, m);
  const script = direction === "up" ? m.up : m.down!;
  const started = performance.now();
  try {
    // `then` (the history row) goes in the same round trip, after the script: error positions are unchanged.
    const body = withoutTransactionWrapper(script);
    if (then !== undefined && endsOutsideQuotes(body)) await deadline.race(tx.exec(`${body}\n;\n${then}`));
    else {
      await deadline.race(tx.exec(body)); // an unterminated quote or comment: Postgres reports it on the script alone
      if (then !== undefined) await deadline.race(tx.exec(then));
    }
    // PGlite ignores statement_timeout and cannot be interrupted: a step that ends late (or during which the
    // signal aborted) is rolled back here.
    if (ctx.driver.embedded) await deadline.catchUp();
    deadline.check();
  } catch (err) {
    throw sqlError(err, m, direction, script, undefined, deadline);
  }
  return performance.now() - started;
}
