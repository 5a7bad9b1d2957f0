/**
 * `verifyMigrations`: verify (schema/verify.ts) on a fresh in-process PGlite, or on a scratch database you name,
 * with a Migrator of its own.
 * @module
 */
import { orchwfMigrations } from "../builtin.ts";
import type { Migration } from "../core/migration.ts";
import { toDriver } from "../drivers/detect.ts";
import { Migrator } from "../migrator.ts";
import { extensionsFor } from "../sources/extensions.ts";
import { scratchPGlite } from "./scratch-pglite.ts";
import { type VerifyOptions, type VerifyReport, verifyOn } from "./verify.ts";

/**
 * Proves each migration reversible: for every version in order it snapshots the schema, applies up, snapshots,
 * applies down and checks the schema is exactly as before (else throws `VerifyError`, code `VERIFY_FAILED`, naming
 * the version, the down file and every object left behind, removed or changed), then applies up again and checks it
 * gives the same schema as the first time. Runs on a fresh in-process PGlite unless `options.db` is given; a
 * migration without a down script is applied and reported as skipped. A given database ends fully migrated.
 *
 * @example
 * ```ts
 * import { loadMigrations, renderVerifyReport, verifyMigrations } from "@orchwf/migrate";
 * const report = await verifyMigrations(await loadMigrations("./migrations"));
 * console.log(renderVerifyReport(report));
 * ```
 */
export async function verifyMigrations(
  migrations: readonly Migration[] = orchwfMigrations,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  if (options.db !== undefined) return verifyWith(options.db, migrations, options);
  const pglite = await scratchPGlite({ extensions: await extensionsFor(migrations, options.extensions) });
  try {
    return await verifyWith(pglite, migrations, options, "pglite (in memory)");
  } finally {
    await pglite.close();
  }
}


function verifyWith(db: object, migrations: readonly Migration[], options: VerifyOptions, label?: string): Promise<VerifyReport> {
  const driver = toDriver(db);
  const { table, schema, lockTimeoutMs, logger, onEvent } = options;
  return verifyOn(driver, new Migrator(driver, { migrations, table, schema, lockTimeoutMs, logger, onEvent }), options, label);
}
