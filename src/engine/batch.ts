/**
 * Running a `-- orchwf:batch` statement: BEGIN; the statement; COMMIT, again and again on the migration's own
 * connection until the statement reports 0 rows. Each batch commits on its own, so no lock on the table outlives a
 * batch, and a run killed part way loses at most the batch in flight (rolled back by the server): the statement
 * picks the rows not done yet by itself, so running it again continues where the committed batches stopped.
 * @module
 */
import type { Deadline } from "../core/deadline.ts";
import type { BatchDirective } from "../core/batch.ts";
import { MigrationError } from "../core/errors.ts";
import type { Queryable } from "../drivers/driver.ts";
import type { BatchEvent } from "./events.ts";

/**
 * What the batches of one statement did so far (kept across lock-wait retries of the statement).
 *
 * @example
 * ```ts
 * const progress: BatchProgress = { batches: 0, rows: 0 };
 * ```
 */
export interface BatchProgress {
  batches: number;
  rows: number;
}

/**
 * Runs `statement` in batches until one changes no row. A stop of the run (timeout, abort) cancels the batch in
 * flight (its transaction rolls back) or ends the loop between two batches; the error is thrown then, as is a
 * failing batch's (after its ROLLBACK). Never sleeps without a `pauseMs`.
 *
 * @example
 * ```ts
 * const progress = { batches: 0, rows: 0 };
 * await runBatches(conn, "UPDATE t SET n = n + 1, done = true WHERE id IN (SELECT id FROM t WHERE NOT done LIMIT 10000)",
 *   { statement: 0, line: 2 }, deadline, progress, (e) => console.log(e.batch, e.rows));
 * ```
 */
export async function runBatches(
  conn: Queryable,
  statement: string,
  directive: BatchDirective,
  deadline: Deadline,
  progress: BatchProgress,
  report: (event: Pick<BatchEvent, "line" | "batch" | "rows" | "totalRows" | "durationMs">) => void,
): Promise<void> {
  if (!conn.execCount) {
    throw new MigrationError("UNSUPPORTED_DRIVER", `this driver cannot report a statement's row count (Queryable.execCount), which "-- orchwf:batch" needs to know when it is done`);
  }
  for (;;) {
    deadline.check(); // between batches: nothing half done
    const started = performance.now();
    const rows = await oneBatch(conn, statement, deadline);
    progress.batches++;
    progress.rows += rows;
    report({ line: directive.line, batch: progress.batches, rows, totalRows: progress.rows, durationMs: performance.now() - started });
    if (rows === 0) return;
    if (directive.pauseMs) await deadline.sleep(directive.pauseMs);
  }
}

/** BEGIN; statement; COMMIT. A failure (or a cancel by the run's stop) rolls the batch back and is thrown. */
async function oneBatch(conn: Queryable, statement: string, deadline: Deadline): Promise<number> {
  const cancel = new AbortController();
  const unregister = deadline.onStop(() => cancel.abort()); // drivers that can, cancel the batch on the server
  await conn.exec("BEGIN");
  try {
    const rows = await conn.execCount!(statement, cancel.signal);
    await conn.exec("COMMIT");
    return rows;
  } catch (err) {
    await conn.exec("ROLLBACK").catch(() => {}); // a lost connection rolls back on the server by itself
    throw deadline.stopped && (err as { code?: unknown })?.code === "57014" ? deadline.stopError(err) : err;
  } finally {
    unregister();
  }
}
