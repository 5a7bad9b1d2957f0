/**
 * The migration lock: a transaction-scoped advisory lock, so it survives PgBouncer transaction pooling and is
 * released by COMMIT, ROLLBACK or a dead connection. Settings are SET LOCAL (never leak into a pooled
 * connection); a run that must stop cancels its running statement and rolls back.
 * @module
 */
import type { Deadline } from "../core/deadline.ts";
import { MigrationError, toConnectionError } from "../core/errors.ts";
import { quoteIdent } from "../core/sql-text.ts";
import type { Driver, Queryable } from "../drivers/driver.ts";
import type { History } from "./history.ts";

/** What the lock needs to know about the Migrator. */
export interface LockContext {
  driver: Driver;
  history: History;
  /** Postgres `lock_timeout` for the lock and for table locks taken by migrations. */
  lockTimeoutMs: number;
  /** The schema the user named, made the search_path of the transaction. */
  schema?: string;
}

/**
 * Makes the server notice a client that died (SIGKILL, lost network) within a second even in the middle of a
 * long statement, so it rolls back and releases the migration lock instead of finishing first (PostgreSQL 14+;
 * ignored where unsupported).
 */
const NOTICE_DEAD_CLIENT =
  "DO $orchwf$ BEGIN PERFORM set_config('client_connection_check_interval', '1000', true); EXCEPTION WHEN OTHERS THEN NULL; END $orchwf$";

/**
 * Runs `fn` in a transaction that holds the migration lock. READ COMMITTED, so that the history read after the
 * lock sees what the previous holder committed. When the run must stop, a server statement is cancelled and the
 * transaction rolls back before this returns.
 *
 * @example
 * ```ts
 * await withMigrationLock(ctx, deadline, (tx) => history.readExisting(tx));
 * ```
 */
export async function withMigrationLock<T>(ctx: LockContext, deadline: Deadline, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  const cancels: Promise<unknown>[] = [];
  try {
    return await ctx.driver.transaction(async (tx) => {
      await deadline.race(tx.exec(settingsSql(ctx, deadline).join(";\n")));
      const { stopCancelling, locked } = await cancelOnStop(ctx, tx, deadline, cancels);
      try {
        try {
          if (!locked) await deadline.race(tx.query("SELECT pg_advisory_xact_lock($1::bigint)", [ctx.history.lockKey]));
        } catch (err) {
          throw lockError(ctx, err, deadline);
        }
        return await fn(tx);
      } finally {
        stopCancelling();
      }
    });
  } finally {
    // Not inside the transaction: with a one-connection pool the cancel needs the connection it frees.
    await Promise.all(cancels);
  }
}

/** The transaction's settings, as statements. */
function settingsSql(ctx: LockContext, deadline: Deadline): string[] {
  const remaining = deadline.remainingMs();
  const settings = [
    "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
    `SET LOCAL lock_timeout = ${Math.max(1, Math.round(ctx.lockTimeoutMs))}`,
  ];
  if (remaining !== undefined) settings.push(`SET LOCAL statement_timeout = ${remaining}`);
  if (ctx.schema !== undefined) settings.push(`SET LOCAL search_path TO ${quoteIdent(ctx.schema)}`);
  if (!ctx.driver.embedded) settings.push(NOTICE_DEAD_CLIENT);
  return settings;
}

/**
 * On a server, cancels this transaction's running statement when the run must stop (signal or timeout). The
 * cancel names the backend *and* its transaction start, so arriving late it cannot hit the next user of that
 * pooled connection. The same round trip tries the migration lock: uncontended (the usual case), the blocking
 * wait is skipped.
 */
async function cancelOnStop(
  ctx: LockContext,
  tx: Queryable,
  deadline: Deadline,
  cancels: Promise<unknown>[],
): Promise<{ stopCancelling: () => void; locked: boolean }> {
  if (ctx.driver.embedded) return { stopCancelling: () => {}, locked: false }; // PGlite: one statement at a time, nothing to cancel
  const [{ pid, started, locked }] = await deadline.race(
    tx.query<{ pid: number; started: string; locked: boolean }>(
      "SELECT pg_backend_pid() AS pid, (extract(epoch FROM now()) * 1000000)::bigint::text AS started, pg_try_advisory_xact_lock($1::bigint) AS locked",
      [ctx.history.lockKey],
    ),
  );
  const stopCancelling = deadline.onStop(() => {
    cancels.push(
      ctx.driver.query(
        "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE pid = $1 AND (extract(epoch FROM xact_start) * 1000000)::bigint = $2::bigint",
        [pid, started],
      ).catch(() => {}),
    );
  });
  return { stopCancelling, locked: locked === true };
}

/** LOCK_TIMEOUT when the lock wait timed out, TIMEOUT when the run's deadline cancelled it. */
function lockError(ctx: LockContext, err: unknown, deadline: Deadline): unknown {
  const code = (err as { code?: string }).code;
  if (code === "55P03") {
    return new MigrationError(
      "LOCK_TIMEOUT",
      `could not take the migration lock on ${ctx.history.qualified} within ${ctx.lockTimeoutMs} ms: another migration run holds it`,
      { cause: err },
    );
  }
  if (code === "57014" && deadline.expired) return deadline.timeoutError(err);
  return toConnectionError(err) ?? err;
}
