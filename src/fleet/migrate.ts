/**
 * `migrateFleet`: the Migrator over many databases (or tenant schemas of one), each with its own lock and history.
 * @module
 */
import type { Database } from "../drivers/detect.ts";
import type { MigrateOptions, MigrateResult, MigratorOptions } from "../engine/api.ts";
import { Migrator } from "../migrator.ts";
import { type FleetOptions, type FleetRecord, runFleet } from "./run.ts";

/** One database of a fleet: a name for the records (never a URL with a password), its client, and optionally a schema. */
export interface FleetDatabase {
  name: string;
  db: Database;
  /** A tenant schema: its own version table, and the search_path of its migrations. */
  schema?: string;
}

/**
 * Applies the pending migrations on every database of the fleet (see `runFleet` for concurrency, canary and
 * stopping); one record per database, in order.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import { migrateFleet } from "@orchwf/migrate";
 * const tenants = ["t1", "t2"].map((name) => ({ name, db: postgres(`postgres://app@db/${name}`) }));
 * const records = await migrateFleet(tenants, { concurrency: 8, canary: 1, onTarget: (r) => console.log(r.target, r.status) });
 * if (records.some((r) => r.status !== "ok")) process.exitCode = 1;
 * ```
 */
export function migrateFleet(
  targets: readonly FleetDatabase[],
  options: MigratorOptions & MigrateOptions & FleetOptions<MigrateResult> = {},
): Promise<FleetRecord<MigrateResult>[]> {
  const { concurrency, canary, continueOnError, onTarget, to, allowDrift, timeoutMs, signal, ...migrator } = options;
  return runFleet(
    targets,
    (t) => new Migrator(t.db, { ...migrator, schema: t.schema ?? migrator.schema }).migrate({ to, allowDrift, timeoutMs, signal }),
    { concurrency, canary, continueOnError, onTarget, label: (t) => t.name },
  );
}
