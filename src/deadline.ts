/**
 * The overall timeout and AbortSignal of one run, checked between steps and handed to the server
 * as statement_timeout.
 * @module
 */
import { MigrationError } from "./errors.ts";

/** Options every long operation takes. */
export interface RunOptions {
  /** Stop the run when this signal aborts (code `ABORTED`). */
  signal?: AbortSignal;
  /** Stop the run after this many milliseconds (code `TIMEOUT`). */
  timeoutMs?: number;
}

/**
 * Tracks one run's deadline.
 *
 * @example
 * ```ts
 * const deadline = new Deadline({ timeoutMs: 30_000 });
 * deadline.check(); // throws once 30 s have passed
 * ```
 */
export class Deadline {
  private readonly endsAt?: number;
  private readonly signal?: AbortSignal;
  private readonly timeoutMs?: number;

  constructor(options: RunOptions = {}) {
    this.signal = options.signal;
    this.timeoutMs = options.timeoutMs;
    if (options.timeoutMs !== undefined && options.timeoutMs > 0) this.endsAt = Date.now() + options.timeoutMs;
  }

  /** Milliseconds left, or undefined when there is no timeout. */
  remainingMs(): number | undefined {
    return this.endsAt === undefined ? undefined : Math.max(1, this.endsAt - Date.now());
  }

  /** True once the timeout has passed. */
  get expired(): boolean {
    return this.endsAt !== undefined && Date.now() >= this.endsAt;
  }

  /** Throws `ABORTED` or `TIMEOUT` when the run must stop. */
  check(): void {
    if (this.signal?.aborted) {
      throw new MigrationError("ABORTED", "migration run aborted by its AbortSignal", { cause: this.signal.reason });
    }
    if (this.expired) throw this.timeoutError();
  }

  /** The error for a run that ran out of time. */
  timeoutError(cause?: unknown): MigrationError {
    return new MigrationError("TIMEOUT", `migration run timed out after ${this.timeoutMs} ms`, { cause });
  }
}
