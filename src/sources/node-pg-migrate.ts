/**
 * node-pg-migrate's SQL format: `TIMESTAMP_name.sql` files cut by `-- Up Migration` and `-- Down Migration`.
 * Its JavaScript and TypeScript migrations cannot be run and are refused, naming the file.
 * @module
 */
import { MigrationError } from "../core/errors.ts";
import type { Migration } from "../core/migration.ts";
import { sections } from "./files.ts";
import { numberedFiles, requireCommentOnly, singleFileMigration } from "./single-file.ts";

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
    const ups = parts.get("up") ?? [];
    const downs = parts.get("down") ?? [];
    if (ups.length !== 1 || downs.length > 1) {
      throw new MigrationError(
        "INVALID_MIGRATION",
        ups.length === 0
          ? `${file.path}: no "-- Up Migration" line`
          : `${file.path}:${(ups.length > 1 ? ups[1] : downs[1]).line}: a second "-- ${ups.length > 1 ? "Up" : "Down"} Migration" line`,
        { file: file.path },
      );
    }
    requireCommentOnly(parts.get("preamble")![0].text, file.path, "-- Up Migration");
    return singleFileMigration(file, ups[0].text, downs[0]?.text, true);
  });
}
