/**
 * One call at server start: bring the OrchWF schema up to date.
 * @module
 */
import type { RunOptions } from "./core/deadline.ts";
import type { Database } from "./drivers/detect.ts";
import { type MigrateResult, Migrator, type MigratorOptions } from "./migrator.ts";

/** Options of `quickSetup`: the Migrator's, plus the run's signal and timeout. */
export interface QuickSetupOptions extends RunOptions, Omit<MigratorOptions, "migrations"> {}

/**
 * Applies every pending built-in OrchWF migration. Idempotent and safe to call from many processes at once.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import { quickSetup } from "@orchwf/migrate";
 * const sql = postgres(process.env.DATABASE_URL!);
 * await quickSetup(sql, { timeoutMs: 30_000 });
 * ```
 */
export function quickSetup(db: Database, options: QuickSetupOptions = {}): Promise<MigrateResult> {
  const { signal, timeoutMs, ...migratorOptions } = options;
  return new Migrator(db, migratorOptions).migrate({ signal, timeoutMs });
}
