/**
 * A transactional step in one round trip. After a step it ran itself, the run knows what the version table holds
 * and which migration comes next; it sends, in one message: BEGIN and the limits, the try-lock, a guard, the
 * migration, the bookkeeping, COMMIT, and the digest of the versions the table then holds. The guard (read after
 * the lock, in its own statement, so it sees what the lock's previous holder committed) fails unless the lock was
 * free and the table holds exactly what the run knows: then nothing of the message took effect, the transaction is
 * rolled back and the step goes the long way (step.ts: read, then apply). Exactly once and in order as before.
 * Only for drivers whose cancel reaches the server: a stop cancels the message, which rolls back whole.
 * @module
 */
import type { Deadline } from "../core/deadline.ts";
import type { Migration } from "../core/migration.ts";
import { withoutTransactionWrapper } from "../core/split.ts";
import type { VersionSet } from "./history.ts";
import { statementLockTimeout } from "./lock-retry.ts";
import { connectionLost, foldedOpeningSql, STEP_GUARD_MARK } from "./lock.ts";
import { BOOKKEEPING_MARK, endsOutsideQuotes, serverFailure, sqlError } from "./sql-error.ts";
import { checksOf, scriptOf, type StepContext } from "./step-context.ts";

/** What a one-message step did: applied (with the digest the table now has), or refused by its guard. */
export type FoldedOutcome = { applied: true; durationMs: number; digest: string } | { applied: false };

/**
 * Whether the run may send `next` in one message: a server driver that can cancel, a transactional migration
 * that is not repeatable (a repeatable's row is replaced, and the step after it reads afresh) and has no
 * pre-migration checks.
 *
 * @example
 * ```ts
 * if (canFold(ctx, next)) await foldedStep(ctx, deadline, next, known, closing);
 * ```
 */
export function canFold(ctx: StepContext, next: Migration): boolean {
  // Pre-migration checks run as statements of their own before the SQL (engine/pre-checks.ts): the long way.
  return !ctx.driver.embedded && ctx.driver.cancels === true && typeof ctx.driver.script === "function" &&
    next.transaction !== false && !next.repeatable && checksOf(ctx, next).length === 0;
}

/**
 * The statements of the one message, in order: the opening with its guard, the migration's SQL, then `closing`
 * (the bookkeeping block), COMMIT, and the digest read. Also what `up --dry-run` prints for such a step.
 *
 * @example
 * ```ts
 * const [opening, after] = foldedSql(ctx, undefined, known, migration, closingSql(ctx, recordApplied(ctx, m, true)));
 * ```
 */
export function foldedSql(
  ctx: StepContext,
  remainingMs: number | undefined,
  known: VersionSet,
  next: Migration,
  closing: string,
): { opening: string[]; closing: string[] } {
  return {
    opening: foldedOpeningSql(ctx, remainingMs, ctx.history.unchangedSql(known), statementLockTimeout(ctx.lockRetry)),
    closing: [closing, "COMMIT", `SELECT (${known.digestWith(next.version)})::text AS orchwfdigest`],
  };
}

/**
 * Sends `next` in one message (see the module notes). Throws the migration's error (rolled back) as the long way
 * does; returns `{ applied: false }` when the guard refused, with nothing changed.
 *
 * @example
 * ```ts
 * const outcome = await foldedStep(ctx, deadline, next, known, closingSql(ctx, recordApplied(ctx, next, true)));
 * ```
 */
export async function foldedStep(
  ctx: StepContext,
  deadline: Deadline,
  next: Migration,
  known: VersionSet,
  closing: string,
): Promise<FoldedOutcome> {
  const script = scriptOf(ctx, next, "up"); // placeholders substituted
  // A script ending inside a quote or comment needs its own message (the long way says where).
  if (!(await endsOutsideQuotes(script))) return { applied: false };
  const body = await withoutTransactionWrapper(script);
  const sql = foldedSql(ctx, deadline.remainingMs(), known, next, closing);
  const prefix = sql.opening.map((s) => `${s};\n`).join("");
  const message = `${prefix}${body}\n;\n${sql.closing.join(";\n")}`;
  deadline.check();
  // Said before it runs (progress, and what a stop rolled back); a refused guard (another run got there first)
  // is followed by the long way, which says it again for the migration it then finds.
  ctx.reporter.start("up", next);
  const started = performance.now();
  try {
    const digest = await ctx.driver.session(async (conn) => {
      const cancel = new AbortController();
      const unregister = deadline.onStop(() => cancel.abort());
      try {
        const [row] = await conn.script!<{ orchwfdigest: string }>(message, cancel.signal);
        return row.orchwfdigest;
      } catch (err) {
        // An error anywhere before COMMIT leaves the transaction aborted: end it on this connection.
        if (!connectionLost(err)) await conn.exec("ROLLBACK").catch(() => {});
        throw err;
      } finally {
        unregister();
      }
    });
    return { applied: true, durationMs: performance.now() - started, digest };
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown; position?: unknown };
    if (typeof e?.message === "string" && e.message.includes(STEP_GUARD_MARK)) return { applied: false };
    if (e?.code === "57014" && deadline.stopped) throw deadline.stopError(err);
    if (typeof e?.message === "string" && e.message.startsWith(BOOKKEEPING_MARK)) {
      const file = next.source?.up ?? `migration ${next.version} (up)`;
      throw serverFailure(err, `migration ${next.version} (${file}) ran, but recording it in ${ctx.history.qualified} (nothing of it was committed)`, {
        version: next.version,
        file,
      });
    }
    // The server counts the position from the message's start: make it the script's (the prefix is ours).
    const position = Number(e?.position);
    if (position > 0 && e && typeof e === "object") {
      const shifted = position - Array.from(prefix).length;
      (e as { position?: string }).position = shifted > 0 ? String(shifted) : undefined;
    }
    throw sqlError(err, next, "up", script, undefined, deadline);
  }
}
