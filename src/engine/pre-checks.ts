/**
 * Runs a migration's pre-migration checks in the transaction that is about to apply it (or, for a no-transaction
 * migration, the one that would claim it): the first one that is false, NULL or fails refuses the migration with
 * `CHECK_FAILED`, and the transaction rolls back, so nothing of it is applied.
 * @module
 */
import type { Deadline } from "../core/deadline.ts";
import { MigrationError, toConnectionError } from "../core/errors.ts";
import type { Migration, MigrationCheck } from "../core/migration.ts";
import { checkFailed, checkQuery, type CheckResult } from "../core/pre-checks.ts";
import type { Queryable } from "../drivers/driver.ts";

/**
 * Evaluates one check on `q`: its result and, when it failed to run, the server's message. A stop, a timeout or a
 * lost connection is thrown as it is (it says nothing about the data).
 *
 * @example
 * ```ts
 * const { result } = await evaluateCheck(tx, { sql: "(SELECT count(*) FROM t) = 0" }, deadline);
 * ```
 */
export async function evaluateCheck(q: Queryable, check: MigrationCheck, deadline: Deadline): Promise<{ result: CheckResult; error?: string }> {
  try {
    // The extended protocol takes one statement only: a check cannot smuggle in a second one.
    const [row] = await deadline.race(q.query<{ orchwf_check: string }>(checkQuery(check)));
    return { result: row.orchwf_check as CheckResult };
  } catch (err) {
    if (err instanceof MigrationError) throw err;
    const e = err as { code?: string; message?: string };
    if (e?.code === "57014" && deadline.stopped) throw deadline.stopError(err);
    const lost = toConnectionError(err);
    if (lost) throw lost;
    return { result: "error", error: `${e?.message ?? String(err)}${e?.code ? ` (SQLSTATE ${e.code})` : ""}` };
  }
}

/**
 * Evaluates every check of `m` (given resolved, e.g. with placeholders replaced) in order; throws `CHECK_FAILED`
 * at the first that does not hold.
 *
 * @example
 * ```ts
 * await runChecks(tx, migration, migration.checks ?? [], deadline);
 * ```
 */
export async function runChecks(q: Queryable, m: Migration, checks: readonly MigrationCheck[], deadline: Deadline): Promise<void> {
  for (const [i, check] of checks.entries()) {
    const { result, error } = await evaluateCheck(q, check, deadline);
    if (result !== "true") throw checkFailed(m, check, i, result, error);
  }
}
