/**
 * The overall timeout and AbortSignal of one run: handed to the server as statement_timeout, checked between
 * steps, and enforced on the client too (PGlite does not enforce statement_timeout, and a signal must stop a run
 * that waits on the server).
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
 * Tracks one run's deadline and signal. Call `dispose()` when the run ends.
 *
 * @example
 * ```ts
 * const deadline = new Deadline({ timeoutMs: 30_000 });
 * try {
 *   await deadline.race(driver.exec("SELECT 1")); // rejects with TIMEOUT once 30 s have passed
 *   deadline.check();
 * } finally {
 *   deadline.dispose();
 * }
 * ```
 */
export class Deadline {
  private readonly endsAt?: number;
  private readonly signal?: AbortSignal;
  private readonly timeoutMs?: number;
  private readonly listeners = new Set<() => void>();
  private timer?: ReturnType<typeof setTimeout>;
  private readonly fire = (): void => {
    for (const listener of [...this.listeners]) listener();
  };

  constructor(options: RunOptions = {}) {
    this.signal = options.signal;
    this.timeoutMs = options.timeoutMs;
    if (options.timeoutMs !== undefined && options.timeoutMs > 0) {
      this.endsAt = Date.now() + options.timeoutMs;
      this.timer = setTimeout(this.fire, options.timeoutMs);
      // Do not keep a process alive for a deadline alone.
      (this.timer as { unref?: () => void }).unref?.();
    }
    this.signal?.addEventListener("abort", this.fire, { once: true });
  }

  /** Milliseconds left, or undefined when there is no timeout. */
  remainingMs(): number | undefined {
    return this.endsAt === undefined ? undefined : Math.max(1, this.endsAt - Date.now());
  }

  /** True once the timeout has passed. */
  get expired(): boolean {
    return this.endsAt !== undefined && Date.now() >= this.endsAt;
  }

  /** True once the run must stop (signal aborted or time is up). */
  get stopped(): boolean {
    return this.signal?.aborted === true || this.expired;
  }

  /** Throws `ABORTED` or `TIMEOUT` when the run must stop. */
  check(): void {
    if (this.stopped) throw this.stopError();
  }

  /** The error for a run that must stop: `ABORTED` when the signal fired, else `TIMEOUT`. */
  stopError(cause?: unknown): MigrationError {
    if (this.signal?.aborted) {
      return new MigrationError("ABORTED", "migration run aborted by its AbortSignal", { cause: cause ?? this.signal.reason });
    }
    return this.timeoutError(cause);
  }

  /** The error for a run that ran out of time. */
  timeoutError(cause?: unknown): MigrationError {
    return new MigrationError("TIMEOUT", `migration run timed out after ${this.timeoutMs} ms`, { cause });
  }

  /**
   * Settles like `work`, unless the run must stop first: then rejects with `ABORTED`/`TIMEOUT` at once
   * (the work itself goes on until it ends; callers roll back or cancel it).
   */
  race<T>(work: Promise<T>): Promise<T> {
    work.catch(() => {}); // a late failure of abandoned work is not unhandled
    if (this.stopped) return Promise.reject(this.stopError());
    return new Promise<T>((resolve, reject) => {
      const stop = () => reject(this.stopError());
      this.listeners.add(stop);
      work.then(
        (value) => {
          this.listeners.delete(stop);
          resolve(value);
        },
        (err) => {
          this.listeners.delete(stop);
          reject(err);
        },
      );
    });
  }

  /**
   * Lets timers that came due while a step blocked the event loop (PGlite runs SQL synchronously in-process)
   * fire, so that an abort requested "during" the step is seen before the step commits. Free without a signal.
   */
  async catchUp(): Promise<void> {
    if (this.signal && !this.signal.aborted) await new Promise((resolve) => setTimeout(resolve, 0));
  }

  /** Calls `fn` once when the run must stop (while registered); returns the unregister function. */
  onStop(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Waits `ms`, or less when the run must stop (then rejects). */
  sleep(ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const wait = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    });
    return this.race(wait).finally(() => clearTimeout(timer));
  }

  /** Releases the timer and the signal listener. */
  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.signal?.removeEventListener("abort", this.fire);
    this.listeners.clear();
  }
}
