/**
 * Progress of a run: one reporter feeds both the user's logger (one line each) and `onEvent` (structured).
 * @module
 */
import type { Migration } from "../core/migration.ts";

/** Where progress goes; `console` fits. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

/** Progress of a run, for a CLI or a log. */
export type MigrationEvent =
  | { type: "start"; direction: "up" | "down"; version: string; description: string }
  | { type: "done"; direction: "up" | "down"; version: string; description: string; durationMs: number }
  | { type: "warning"; message: string }
  | RetryEvent
  | BatchEvent;

/**
 * One batch of a `-- orchwf:batch` statement committed (engine/batch.ts). The last batch of a statement has
 * `rows: 0`: the statement found nothing left to do.
 *
 * @example
 * ```ts
 * new Migrator(sql, { onEvent: (e) => e.type === "batch" && console.log(`batch ${e.batch}: ${e.rows} rows`) });
 * ```
 */
export interface BatchEvent {
  type: "batch";
  direction: "up" | "down";
  version: string;
  description: string;
  /** 1-based line of the `-- orchwf:batch` directive in the file. */
  line: number;
  /** 1-based number of this batch of the statement, in this run. */
  batch: number;
  /** Rows this batch changed (its command tag's count). */
  rows: number;
  /** Rows changed by the statement's batches so far, in this run. */
  totalRows: number;
  /** From BEGIN to COMMIT of this batch. */
  durationMs: number;
}

/**
 * A migration's statement waited for a table lock longer than the DDL lock timeout (SQLSTATE 55P03): its
 * transaction was rolled back (a no-transaction migration: that statement alone failed) and is tried again after
 * `delayMs`.
 */
export interface RetryEvent {
  type: "retry";
  direction: "up" | "down";
  version: string;
  description: string;
  /** The attempt about to start (2 for the first retry) and the most there will be. */
  attempt: number;
  of: number;
  /** The wait before it (backoff with jitter). */
  delayMs: number;
  /** PostgreSQL's message, e.g. `canceling statement due to lock timeout`, with the file:line:column. */
  reason: string;
  /** In a no-transaction migration: the statement tried again (the ones before it are not). */
  statement?: string;
}

/** One migration that ran. */
export interface MigrationRun {
  version: string;
  description: string;
  durationMs: number;
}

/**
 * Emits each event once, to whichever of logger and onEvent the user gave.
 *
 * @example
 * ```ts
 * const reporter = new Reporter(console);
 * reporter.start("up", migration);
 * const run = reporter.done("up", migration, 12.3); // logs "applied 002 add users (12.3 ms)"
 * ```
 */
export class Reporter {
  constructor(private readonly logger?: Logger, private readonly onEvent?: (event: MigrationEvent) => void) {}

  /** A migration starts running in `direction`. */
  start(direction: "up" | "down", m: Migration): void {
    this.onEvent?.({ type: "start", direction, version: m.version, description: m.description });
  }

  /** A migration finished; returns what the run result lists. */
  done(direction: "up" | "down", m: Migration, durationMs: number): MigrationRun {
    const run = { version: m.version, description: m.description, durationMs: Math.round(durationMs * 10) / 10 };
    this.onEvent?.({ type: "done", direction, ...run });
    this.logger?.info(`${direction === "up" ? "applied" : "rolled back"} ${m.version} ${m.description} (${run.durationMs} ms)`);
    return run;
  }

  /** A migration (or one statement of a no-transaction one) is tried again after a lock timeout. */
  retry(event: Omit<RetryEvent, "type">): void {
    this.onEvent?.({ type: "retry", ...event });
    const what = event.statement === undefined ? `migration ${event.version}` : `a statement of migration ${event.version}`;
    this.logger?.info(`${what} waited too long for a lock (${event.reason.split("\n")[0]}); attempt ${event.attempt} of ${event.of} in ${event.delayMs} ms`);
  }

  /** One batch of a batched statement committed. */
  batch(event: Omit<BatchEvent, "type">): void {
    this.onEvent?.({ type: "batch", ...event, durationMs: Math.round(event.durationMs * 10) / 10 });
    this.logger?.info(`migration ${event.version}, line ${event.line}: batch ${event.batch} changed ${event.rows} rows (${event.totalRows} so far) in ${Math.round(event.durationMs)} ms`);
  }

  /** Something the user should know that does not stop the run. */
  warn(message: string): void {
    this.onEvent?.({ type: "warning", message });
    this.logger?.warn(message);
  }

  /** A line for the log only (resolve, baseline). */
  info(message: string): void {
    this.logger?.info(message);
  }
}
