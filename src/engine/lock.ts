/**
 * The migration lock: a transaction-scoped advisory lock, so it survives PgBouncer transaction pooling and is
 * released by COMMIT, ROLLBACK or a dead connection. Settings are SET LOCAL (never leak into a pooled
 * connection); a run that must stop cancels its running statement and rolls back.
 * @module
 */
import type { Deadline } from "../core/deadline.ts";
import { MigrationError, toConnectionError } from "../core/errors.ts";
import { serverFailure } from "./sql-error.ts";
import { quoteIdent } from "../core/sql-text.ts";
import { type Driver, lastRows, type Queryable } from "../drivers/driver.ts";
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
  // Plain SQL (no PL/pgSQL block to compile each step): the WHERE skips servers without the setting.
  "SELECT set_config('client_connection_check_interval', '1000', true) WHERE current_setting('client_connection_check_interval', true) IS NOT NULL";

/** The locked transaction `fn` works in. */
export interface LockedTransaction extends Queryable {
  /** The row of the `read` statement sent with the lock (read after the lock was taken). */
  readonly read: Record<string, unknown>;
  /**
   * Sends `sql` and COMMIT in one message: a step's last round trip. Rejects (and the transaction rolls back)
   * when `sql` fails; on PGlite the commit happens when `fn` returns.
   */
  commitWith(sql: string): Promise<void>;
}

/**
 * Runs `fn` in a transaction that holds the migration lock, READ COMMITTED, so that `read` (a SELECT of one
 * row, sent right after the lock is taken) sees what the previous holder committed. On a server the first
 * round trip is BEGIN, the settings, the try-lock and `read`; only when another run holds the lock a second one
 * waits for it. When the run must stop, the server statement is cancelled and the transaction rolls back
 * before this returns.
 *
 * @example
 * ```ts
 * await withMigrationLock(ctx, deadline, (tx) => history.readExisting(tx));
 * ```
 */
export async function withMigrationLock<T>(
  ctx: LockContext,
  deadline: Deadline,
  fn: (tx: LockedTransaction) => Promise<T>,
  read = "SELECT true AS ok",
  statementLockTimeoutMs?: number,
): Promise<T> {
  if (ctx.driver.embedded) return await embeddedLock(ctx, deadline, fn, read, statementLockTimeoutMs);
  const cancels: Promise<unknown>[] = [];
  try {
    return await ctx.driver.session(async (conn) => {
      let open = true; // until COMMIT went through
      let stopCancelling = () => {};
      try {
        const [first] = await lockRace(ctx, deadline, lastRows<Record<string, unknown>>(conn, lockOpeningSql(ctx, deadline.remainingMs(), read, false, statementLockTimeoutMs)));
        stopCancelling = cancelOnStop(ctx, deadline, cancels, first.orchwfpid as number, first.orchwfstarted as string);
        const rows = first.orchwflocked === "true" ? first : await waitForLock(ctx, conn, deadline, read, statementLockTimeoutMs);
        const tx: LockedTransaction = {
          exec: (script) => conn.exec(script),
          query: (text, params) => conn.query(text, params),
          script: (script) => lastRows(conn, [script]),
          read: rows,
          // Not raced against the deadline: the outcome of a COMMIT must be known. A stop cancels the statement.
          async commitWith(sql) {
            await conn.exec(`${sql};\nCOMMIT`);
            open = false;
          },
        };
        const result = await fn(tx);
        if (open) await conn.exec("COMMIT").catch((err) => { throw serverFailure(err, `committing a change to ${ctx.history.qualified}`); });
        open = false;
        return result;
      } catch (err) {
        // A lost connection is rolled back by the server; writing to it again would only fail inside the client.
        if (open && !connectionLost(err)) await conn.exec("ROLLBACK").catch(() => {});
        throw err;
      } finally {
        stopCancelling();
      }
    });
  } finally {
    // Not inside the session: with a one-connection pool the cancel needs the connection it frees.
    await Promise.all(cancels);
  }
}

/** PGlite: one session in-process, nothing to cancel, round trips are free: the driver's transaction. */
function embeddedLock<T>(
  ctx: LockContext,
  deadline: Deadline,
  fn: (tx: LockedTransaction) => Promise<T>,
  read: string,
  statementLockTimeoutMs: number | undefined,
): Promise<T> {
  return ctx.driver.transaction(async (conn) => {
    const [first] = await lockRace(ctx, deadline, lastRows<Record<string, unknown>>(conn, lockOpeningSql(ctx, deadline.remainingMs(), read, true, statementLockTimeoutMs)));
    const rows = first.orchwflocked === "true" ? first : await waitForLock(ctx, conn, deadline, read, statementLockTimeoutMs);
    return await fn({
      exec: (script) => conn.exec(script),
      query: (text, params) => conn.query(text, params),
      script: (script) => lastRows(conn, [script]),
      read: rows,
      async commitWith(sql) {
        await deadline.race(conn.exec(sql));
        // PGlite ignores statement_timeout and cannot be interrupted: a step that ends late (or during which
        // the signal aborted) is rolled back here.
        await deadline.catchUp();
        deadline.check();
      },
    });
  });
}

/**
 * True when `err` says the connection is gone (terminated backend, server stopped, socket closed).
 *
 * @example
 * ```ts
 * if (!connectionLost(err)) await conn.exec("ROLLBACK");
 * ```
 */
export function connectionLost(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e && depth < 4; depth++) {
    if (toConnectionError(e)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** The first message of a locked transaction: its failures are ours (a read-only server, no rights on the table). */
async function lockRace<T>(ctx: LockContext, deadline: Deadline, work: Promise<T>): Promise<T> {
  try {
    return await deadline.race(work);
  } catch (err) {
    throw serverFailure(err, `taking the migration lock and reading ${ctx.history.qualified}`);
  }
}

/** Takes the lock without waiting; the outcome goes into a transaction-local setting the next statement reads. */
function tryLockSql(ctx: LockContext): string {
  return `SELECT set_config('orchwf.locked', pg_try_advisory_xact_lock(${ctx.history.lockKey})::text, true)`;
}

/**
 * Another run holds the lock: wait for it (at most the migration lock's timeout), then read. With a statement lock
 * timeout, the transaction's lock_timeout goes back to it once the lock is held.
 */
async function waitForLock(
  ctx: LockContext,
  conn: Queryable,
  deadline: Deadline,
  read: string,
  statementLockTimeoutMs: number | undefined,
): Promise<Record<string, unknown>> {
  const lock = `SELECT pg_advisory_xact_lock(${ctx.history.lockKey})`;
  const wait = statementLockTimeoutMs === undefined
    ? [lock, read]
    : [migrationLockTimeoutSql(ctx), lock, statementLockTimeoutSql(statementLockTimeoutMs), read];
  try {
    const [row] = await deadline.race(lastRows<Record<string, unknown>>(conn, wait));
    return row;
  } catch (err) {
    throw lockError(ctx, err, deadline);
  }
}

/**
 * The first message of a locked transaction, statement by statement: BEGIN (on a server), the limits, the
 * try-lock and `read`. Also what `up --dry-run` prints, so it shows exactly what is sent.
 *
 * @example
 * ```ts
 * lockOpeningSql(ctx, undefined, "SELECT true AS ok", false); // ["BEGIN ISOLATION LEVEL READ COMMITTED", …]
 * ```
 */
export function lockOpeningSql(
  ctx: LockContext,
  remainingMs: number | undefined,
  read: string,
  embedded: boolean,
  statementLockTimeoutMs?: number,
): string[] {
  // Once the try-lock ran, the migration's statements wait for their table locks at most this long.
  const statements = statementLockTimeoutMs === undefined ? [] : [statementLockTimeoutSql(statementLockTimeoutMs)];
  return embedded
    ? [
      "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
      ...settingsSql(ctx, remainingMs),
      tryLockSql(ctx),
      ...statements,
      `SELECT current_setting('orchwf.locked') AS orchwflocked, r.* FROM (${read}) r`,
    ]
    : [
      "BEGIN ISOLATION LEVEL READ COMMITTED",
      ...settingsSql(ctx, remainingMs),
      NOTICE_DEAD_CLIENT,
      tryLockSql(ctx),
      ...statements,
      `SELECT pg_backend_pid() AS orchwfpid, (extract(epoch FROM now()) * 1000000)::bigint::text AS orchwfstarted, current_setting('orchwf.locked') AS orchwflocked, r.* FROM (${read}) r`,
    ];
}

/** In the message of the guard statement of a one-message step that found the lock taken or the table changed. */
export const STEP_GUARD_MARK = "orchwf-step-guard";

/**
 * The opening of a one-message step (engine/folded-step.ts): as `lockOpeningSql` on a server, but instead of reading
 * the table, a guard that fails (its error names STEP_GUARD_MARK) unless the try-lock succeeded and `unchanged` (a
 * boolean expression over the table, read after the lock) holds. Its failure aborts the rest of the message.
 *
 * @example
 * ```ts
 * foldedOpeningSql(ctx, undefined, history.unchangedSql(known)); // ["BEGIN ISOLATION LEVEL READ COMMITTED", …]
 * ```
 */
export function foldedOpeningSql(
  ctx: LockContext,
  remainingMs: number | undefined,
  unchanged: string,
  statementLockTimeoutMs?: number,
): string[] {
  return [
    "BEGIN ISOLATION LEVEL READ COMMITTED",
    ...settingsSql(ctx, remainingMs),
    NOTICE_DEAD_CLIENT,
    tryLockSql(ctx),
    // The cast fails at run time only (current_setting is not folded into a constant when the query is planned).
    ...(statementLockTimeoutMs === undefined ? [] : [statementLockTimeoutSql(statementLockTimeoutMs)]),
    `SELECT CASE WHEN current_setting('orchwf.locked') = 'true' AND ${unchanged} THEN 0 ELSE ('${STEP_GUARD_MARK} ' || current_setting('orchwf.locked'))::int END AS orchwfguard`,
  ];
}

/** The migration lock's wait: `lock_timeout` while the transaction waits for the advisory lock. */
function migrationLockTimeoutSql(ctx: LockContext): string {
  return `SET LOCAL lock_timeout = ${Math.max(1, Math.round(ctx.lockTimeoutMs))}`;
}

/**
 * A migration's statements' wait for table locks (`ms` 0: PostgreSQL's "no limit" is not meant, the migration
 * lock's wait stays; callers pass undefined then).
 *
 * @example
 * ```ts
 * statementLockTimeoutSql(2000); // "SET LOCAL lock_timeout = 2000"
 * ```
 */
export function statementLockTimeoutSql(ms: number): string {
  return `SET LOCAL lock_timeout = ${Math.max(1, Math.round(ms))}`;
}

/** The transaction's limits (and the user's schema), SET LOCAL so they never leak into a pooled connection. */
function settingsSql(ctx: LockContext, remaining: number | undefined): string[] {
  const settings = [migrationLockTimeoutSql(ctx)];
  // The time left, or none: a database- or role-level statement_timeout (ALTER DATABASE … SET) is for the
  // application's queries, not for a migration's DDL and backfills.
  settings.push(`SET LOCAL statement_timeout = ${remaining ?? 0}`);
  if (ctx.schema !== undefined) settings.push(`SET LOCAL search_path TO ${quoteIdent(ctx.schema)}`);
  return settings;
}

/**
 * When the run must stop (signal or timeout), cancels this transaction's running statement. The cancel names
 * the backend *and* its transaction start, so arriving late it cannot hit the next user of that pooled
 * connection.
 */
function cancelOnStop(ctx: LockContext, deadline: Deadline, cancels: Promise<unknown>[], pid: number, started: string): () => void {
  return deadline.onStop(() => {
    cancels.push(
      ctx.driver.query(
        "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE pid = $1 AND (extract(epoch FROM xact_start) * 1000000)::bigint = $2::bigint",
        [pid, started],
      ).catch(() => {}),
    );
  });
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
  return serverFailure(err, `waiting for the migration lock on ${ctx.history.qualified}`);
}
