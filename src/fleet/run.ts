/**
 * A run over many targets: at most `concurrency` at once, the first `canary` targets alone first, and at the first
 * failure no new target started (unless `continueOnError`); every target gets a record, in the given order. Each
 * target's work is independent (its own connection, lock and history), so a fleet run is as safe as N single runs,
 * also when two overlap, and running it again continues where each target stands.
 * @module
 */
import { MigrationError } from "../core/errors.ts";

/** How a fleet runs. */
export interface FleetOptions<R> {
  /** Targets worked on at once; default 4. */
  concurrency?: number;
  /** The first N targets run first; if any of them fails, no other target is touched. */
  canary?: number;
  /** Go on with the other targets after a failure (default: start no new target; running ones finish). */
  continueOnError?: boolean;
  /** Called once per target as it ends (skipped ones too). */
  onTarget?: (record: FleetRecord<R>) => void;
}

/** What happened to one target. */
export interface FleetRecord<R> {
  /** The target as shown: a URL with its password masked, or a schema. */
  target: string;
  status: "ok" | "failed" | "skipped";
  /** The work's result, when it succeeded. */
  result?: R;
  /** The error code (README, "Errors") and message, when it failed. */
  error?: { code: string; message: string };
  durationMs: number;
}

/**
 * Runs `work` on every target (see the module notes); the records come back in the targets' order.
 *
 * @example
 * ```ts
 * const records = await runFleet(urls, (url) => migrateOne(url), { label: maskUrl, concurrency: 8 });
 * ```
 */
export async function runFleet<T, R>(
  targets: readonly T[],
  work: (target: T) => Promise<R>,
  options: FleetOptions<R> & { label: (target: T) => string; describe?: (err: unknown) => { code: string; message: string } },
): Promise<FleetRecord<R>[]> {
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
  const canary = Math.max(0, Math.floor(options.canary ?? 0));
  const describe = options.describe ?? describeError;
  const records: (FleetRecord<R> | undefined)[] = new Array(targets.length);
  let stop = false;
  const runOne = async (i: number): Promise<void> => {
    const started = performance.now();
    const target = options.label(targets[i]);
    let record: FleetRecord<R>;
    try {
      record = { target, status: "ok", result: await work(targets[i]), durationMs: 0 };
    } catch (err) {
      record = { target, status: "failed", error: describe(err), durationMs: 0 };
      if (!options.continueOnError) stop = true;
    }
    record.durationMs = Math.round(performance.now() - started);
    records[i] = record;
    options.onTarget?.(record);
  };
  const pool = async (indexes: number[], alwaysStop: boolean): Promise<void> => {
    let next = 0;
    const worker = async () => {
      while (next < indexes.length && !stop) await runOne(indexes[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, indexes.length) }, worker));
    if (alwaysStop && records.some((r) => r?.status === "failed")) stop = true;
  };
  const all = targets.map((_, i) => i);
  await pool(all.slice(0, canary), true);
  await pool(all.slice(canary), false);
  return Array.from(records, (r, i) => { // not records.map: it skips the holes of targets never started
    if (r) return r;
    const skipped: FleetRecord<R> = { target: options.label(targets[i]), status: "skipped", durationMs: 0 };
    options.onTarget?.(skipped);
    return skipped;
  });
}

function describeError(err: unknown): { code: string; message: string } {
  return { code: err instanceof MigrationError ? err.code : "ERROR", message: err instanceof Error ? err.message : String(err) };
}
