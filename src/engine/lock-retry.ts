/**
 * Short DDL lock waits, retried. A statement that waits for a table lock holds its place in the lock queue, and
 * every query on that table after it waits behind it: one long report plus one ALTER TABLE stalls the application
 * for as long as the ALTER waits. So a migration's statements wait at most `ddlLockTimeoutMs` (PostgreSQL's
 * `lock_timeout`), and on `lock_timeout` (SQLSTATE 55P03) the migration's transaction is rolled back (nothing of
 * it stays, the queue behind it drains) and tried again after an exponential backoff with jitter, up to `retries`
 * more times or the run's deadline.
 * @module
 */
import type { Deadline } from "../core/deadline.ts";
import { MigrationError } from "../core/errors.ts";
import type { Migration } from "../core/migration.ts";
import type { Reporter } from "./events.ts";

/**
 * The default DDL lock wait: 2 s. Short enough that the queries queued behind a waiting ALTER stall at most that
 * long; long enough for the statements of a busy OLTP table to let go (README: Short lock waits, retried).
 */
export const DEFAULT_DDL_LOCK_TIMEOUT_MS = 2_000;

/** The default number of retries after the first attempt: 10 (about 2.5 minutes of waiting in all, at most). */
export const DEFAULT_LOCK_RETRIES = 10;

/** The first backoff and its ceiling: 0.5 s, 1 s, 2 s, ... 30 s, each with jitter (a random part of it). */
const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;

/** How a run's statements wait for table locks. */
export interface LockRetryPolicy {
  /** `lock_timeout` for the migrations' statements in ms; 0: no separate limit (they wait as long as the migration lock). */
  ddlLockTimeoutMs: number;
  /** Retries after the first attempt when a statement's lock wait timed out. */
  retries: number;
}

/**
 * Checks library or CLI values and fills in the defaults.
 *
 * @example
 * ```ts
 * lockRetryPolicy({ ddlLockTimeoutMs: 500 }); // { ddlLockTimeoutMs: 500, retries: 10 }
 * ```
 */
export function lockRetryPolicy(options: { ddlLockTimeoutMs?: number; lockRetries?: number }, fallback?: LockRetryPolicy): LockRetryPolicy {
  const ddlLockTimeoutMs = options.ddlLockTimeoutMs ?? fallback?.ddlLockTimeoutMs ?? DEFAULT_DDL_LOCK_TIMEOUT_MS;
  const retries = options.lockRetries ?? fallback?.retries ?? DEFAULT_LOCK_RETRIES;
  if (typeof ddlLockTimeoutMs !== "number" || !(ddlLockTimeoutMs >= 0) || !Number.isFinite(ddlLockTimeoutMs)) {
    throw new MigrationError("USAGE", `ddlLockTimeoutMs must be 0 (no separate limit) or a positive number of milliseconds, not ${String(ddlLockTimeoutMs)}`);
  }
  if (!Number.isInteger(retries) || retries < 0) throw new MigrationError("USAGE", `lockRetries must be a whole number 0 or more, not ${String(retries)}`);
  return { ddlLockTimeoutMs: Math.round(ddlLockTimeoutMs), retries };
}

/**
 * True when `err` (a server error, or our SqlError around one) is a lock wait that timed out: SQLSTATE 55P03.
 *
 * @example
 * ```ts
 * if (isLockTimeout(err)) await retry();
 * ```
 */
export function isLockTimeout(err: unknown): boolean {
  const e = err as { sqlState?: unknown; code?: unknown; cause?: unknown } | undefined;
  return e?.sqlState === "55P03" || e?.code === "55P03" || (e?.cause !== undefined && e.cause !== err && (e.cause as { code?: unknown })?.code === "55P03");
}

/**
 * The wait before retry number `retry` (1-based): 0.5 s doubled each time up to 30 s, of which a random half is
 * taken off ("equal jitter"), so runs that failed together do not come back together.
 *
 * @example
 * ```ts
 * backoffMs(1, () => 0.5); // 375
 * ```
 */
export function backoffMs(retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (retry - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * Runs `attempt` and, while it fails on a lock wait that timed out, again after a backoff (reported as a `retry`
 * event), at most `policy.retries` more times and never past the deadline. The last failure is thrown, with how
 * many attempts were made.
 *
 * @example
 * ```ts
 * const outcome = await withLockRetries(policy, deadline, reporter, () => migration, "up", () => applyStep(...));
 * ```
 */
export async function withLockRetries<T>(
  policy: LockRetryPolicy,
  deadline: Deadline,
  reporter: Reporter,
  migrationOf: (err: unknown) => Migration | undefined,
  direction: "up" | "down",
  attempt: () => Promise<T>,
  statement?: string,
): Promise<T> {
  for (let retry = 1;; retry++) {
    try {
      return await attempt();
    } catch (err) {
      const m = isLockTimeout(err) ? migrationOf(err) : undefined;
      if (!m) throw err;
      const delayMs = backoffMs(retry);
      const left = deadline.remainingMs();
      if (retry > policy.retries || (left !== undefined && left <= delayMs)) throw gaveUp(err, retry, left !== undefined && left <= delayMs);
      reporter.retry({ direction, version: m.version, description: m.description, attempt: retry + 1, of: policy.retries + 1, delayMs, reason: reasonOf(err), statement });
      await deadline.sleep(delayMs);
    }
  }
}

function reasonOf(err: unknown): string {
  const e = err as { detail?: unknown; message?: unknown };
  return String(typeof e.detail === "string" ? e.detail : e.message ?? err);
}

/** The last lock-timeout failure, its message saying how often it was tried and why it stopped trying. */
function gaveUp(err: unknown, attempts: number, outOfTime: boolean): unknown {
  if (!(err instanceof Error) || attempts === 1 && !outOfTime) return err;
  const why = outOfTime ? "the run's --timeout leaves no time for another" : "no retries left (--lock-retries; library: lockRetries)";
  err.message = `${err.message}\ngave up after ${attempts} attempt${attempts === 1 ? "" : "s"} (each rolled back, nothing of it stays): ${why}`;
  return err;
}

/**
 * The `lock_timeout` a migration's transaction sets for its statements, or undefined when the policy sets none (the
 * migration lock's wait stays in force).
 *
 * @example
 * ```ts
 * statementLockTimeout({ ddlLockTimeoutMs: 0, retries: 0 }); // undefined
 * ```
 */
export function statementLockTimeout(policy: LockRetryPolicy | undefined): number | undefined {
  return policy && policy.ddlLockTimeoutMs > 0 ? policy.ddlLockTimeoutMs : undefined;
}

/** A statement that sets `lock_timeout` itself: from there on, the migration's own value is left alone. */
const OWN_LOCK_TIMEOUT = /^(SET|RESET)\s+(SESSION\s+|LOCAL\s+)?lock_timeout\b/i;

/**
 * The session's `lock_timeout` while a no-transaction migration runs statement by statement: the DDL lock timeout
 * for ordinary statements; the session's own value (RESET) for `CONCURRENTLY` ones, which wait for older
 * transactions by design and never make other queries queue behind them (their lock conflicts with no reads or
 * writes); nothing at all once the migration set `lock_timeout` itself. The session is put back afterwards (see
 * session-state.ts).
 *
 * @example
 * ```ts
 * const locks = new SessionLockTimeout(policy);
 * locks.before("ALTER TABLE t ADD COLUMN c int"); // "SET lock_timeout = 2000"
 * locks.before("CREATE INDEX CONCURRENTLY i ON t (c)"); // "RESET lock_timeout"
 * ```
 */
export class SessionLockTimeout {
  private short = false;
  private own = false;

  constructor(private readonly policy: LockRetryPolicy | undefined) {}

  /** The statement to send before `statement`, when the session's lock_timeout must change for it. */
  before(statement: string): string | undefined {
    const ms = statementLockTimeout(this.policy);
    if (ms === undefined || this.own) return undefined;
    if (OWN_LOCK_TIMEOUT.test(statement)) {
      this.own = true;
      return undefined;
    }
    const wantShort = !/\bCONCURRENTLY\b/i.test(statement);
    if (wantShort === this.short) return undefined;
    this.short = wantShort;
    return wantShort ? `SET lock_timeout = ${ms}` : "RESET lock_timeout";
  }
}
