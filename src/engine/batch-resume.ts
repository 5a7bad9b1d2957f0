/**
 * Resuming a batched migration whose run died. A migration whose every statement is `-- orchwf:batch`ed can run
 * again from its first statement at any time: each statement only picks rows not done yet, and every committed
 * batch stays. So the claim (dirty row, no execution time) such a run leaves behind when its process is killed is
 * not a reason to stop: the next `up` runs the migration again and settles the row.
 *
 * Whether the claiming run is still alive is told by a session advisory lock it holds on the connection that runs
 * the batches (one key per version table and version): PostgreSQL releases it when that connection ends, as it does
 * when the process dies. A run takes it only when no backend holds it (pg_locks, so a lock left on a pooled server
 * connection behind PgBouncer, or held by this very session, counts as alive): the run that gets it is the only
 * one running the batches. A claimer that finds it taken (a resumer came first) leaves the migration to that run.
 * Why only all-batched migrations: the version table does not record which statement a run reached, so a
 * statement that is not batched (not safe to run twice) may or may not have run; such a migration stays `DIRTY`.
 * @module
 */
import { createHash } from "node:crypto";
import { allBatched, batchPlan } from "../core/batch.ts";
import { checksum, type Migration, versionKey } from "../core/migration.ts";
import type { AppliedRow } from "../core/plan.ts";
import { parseStatements } from "../core/split.ts";
import type { Queryable } from "../drivers/driver.ts";
import { migrationOf } from "./dirty.ts";
import { scriptOf, type StepContext } from "./step-context.ts";

/**
 * True when `m` is a no-transaction migration whose up script is batched statements only (resumable).
 *
 * @example
 * ```ts
 * if (await resumable(ctx, migration)) ...
 * ```
 */
export async function resumable(ctx: Pick<StepContext, "resolved">, m: Migration): Promise<boolean> {
  if (m.transaction !== false) return false;
  if (m.placeholders !== undefined && !ctx.resolved?.has(m)) return false; // its SQL as sent is not known here
  const script = scriptOf(ctx, m, "up");
  if (!script.includes("orchwf:batch")) return false;
  const statements = await parseStatements(script).catch(() => []);
  return allBatched(batchPlan(script, statements, false), statements.length);
}

/**
 * The migration to resume for a dirty row, if it is one: a claim without an execution time (applying, or its run
 * died), of a resumable migration whose SQL is still the one claimed. Whether its run is gone is `takeRunLock`'s.
 *
 * @example
 * ```ts
 * const m = await resumeCandidate(ctx, busyRow);
 * ```
 */
export async function resumeCandidate(ctx: StepContext, row: AppliedRow): Promise<Migration | undefined> {
  if (!row.dirty || row.executionMs !== null) return undefined;
  const m = migrationOf(ctx, row.version);
  if (!m || row.checksum !== checksum(m.up)) return undefined;
  return (await resumable(ctx, m)) ? m : undefined;
}

/**
 * Takes the run lock of `version` on `conn` if no backend holds it; true when taken. Released by `releaseRunLock`
 * (or by the connection's end).
 *
 * @example
 * ```ts
 * if (!(await takeRunLock(conn, ctx, "002"))) return "skipped";
 * ```
 */
export async function takeRunLock(conn: Queryable, ctx: Pick<StepContext, "history">, version: string): Promise<boolean> {
  const [row] = await conn.query<{ taken: boolean }>(runLockSql(ctx, version).take);
  return row?.taken === true;
}

/**
 * Releases what `takeRunLock` took (a pooled connection would otherwise keep it).
 *
 * @example
 * ```ts
 * await releaseRunLock(conn, ctx, "002", lost);
 * ```
 */
export async function releaseRunLock(conn: Queryable, ctx: Pick<StepContext, "history">, version: string, connectionLost: boolean): Promise<void> {
  if (!connectionLost) await conn.query(runLockSql(ctx, version).release).catch(() => {});
}

/**
 * True when the version's row is still a claim without an execution time: checked once the lock is taken, since
 * the run that held it may have settled the row just before letting go.
 *
 * @example
 * ```ts
 * if (!(await stillClaimed(conn, ctx, "002"))) return "skipped";
 * ```
 */
export async function stillClaimed(conn: Queryable, ctx: Pick<StepContext, "history">, version: string): Promise<boolean> {
  const rows = await conn.query(`SELECT 1 FROM ${ctx.history.qualified} WHERE version = $1 AND dirty AND execution_ms IS NULL`, [version]);
  return rows.length > 0;
}

/**
 * The SQL that takes and releases the run lock of `version` (for `up --dry-run` too).
 *
 * @example
 * ```ts
 * runLockSql(ctx, "002").take; // "SELECT CASE WHEN EXISTS (… pg_locks …) THEN false ELSE pg_try_advisory_lock(-123…) END AS taken"
 * ```
 */
export function runLockSql(ctx: Pick<StepContext, "history">, version: string): { take: string; release: string } {
  const key = runLockKey(ctx, version);
  // pg_try_advisory_lock alone would succeed in a session that holds the lock already (it is re-entrant).
  const held = `SELECT FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = ${key} ` +
    `AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;
  return { take: `SELECT CASE WHEN EXISTS (${held}) THEN false ELSE pg_try_advisory_lock(${key}) END AS taken`, release: `SELECT pg_advisory_unlock(${key})` };
}

/** A bigint advisory-lock key of its own (decimal text), apart from the migration lock's `history.lockKey`. */
function runLockKey(ctx: Pick<StepContext, "history">, version: string): string {
  const digest = createHash("sha256").update(`orchwf-migrate-run\0${ctx.history.lockKey}\0${versionKey(version)}`).digest();
  return new DataView(digest.buffer, digest.byteOffset, 8).getBigInt64(0).toString();
}
