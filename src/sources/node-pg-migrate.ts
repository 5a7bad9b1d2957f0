/**
 * node-pg-migrate's SQL format: `TIMESTAMP_name.sql` files cut by `-- Up Migration` and `-- Down Migration`.
 * Its JavaScript and TypeScript migrations cannot be run and are refused, naming the file.
 * @module
 */
import type { Migration } from "../core/migration.ts";
import { sections } from "./files.ts";
import { numberedFiles, singleFileMigration, upAndDown } from "./single-file.ts";

const MARKER = /^\s*--[\s-]*(up|down)\s+migration\b/i;

/**
 * Reads a node-pg-migrate directory of SQL migrations.
 *
 * @example
 * ```ts
 * const list = await readNodePgMigrate("./migrations");
 * ```
 */
export async function readNodePgMigrate(dir: string): Promise<Migration[]> {
  const files = await numberedFiles(
    dir,
    "node-pg-migrate",
    /^(\d+)[_-]?(.*)\.sql$/,
    "TIMESTAMP_name.sql with -- Up Migration / -- Down Migration (e.g. 1700000000000_create-users.sql)",
    /^\d+.*\.(c|m)?(js|ts)$/,
  );
  return files.map((file) => {
    const parts = sections(file.text, (line) => MARKER.exec(line)?.[1].toLowerCase());
    const { up, down } = upAndDown(file, parts, {
      up: "-- Up Migration",
      down: "-- Down Migration",
      noun: " line",
      missingUp: 'no "-- Up Migration" line',
      ordered: false,
    });
    return singleFileMigration(file, up, down, true);
  });
}
