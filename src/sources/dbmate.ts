/**
 * dbmate's format: one `VERSION_name.sql` file per migration (VERSION: the leading digits), cut by
 * `-- migrate:up` and `-- migrate:down` lines; `transaction:false` after a marker runs it outside a transaction.
 * @module
 */
import { MigrationError } from "../core/errors.ts";
import type { Migration } from "../core/migration.ts";
import { sections } from "./files.ts";
import { numberedFiles, singleFileMigration, upAndDown } from "./single-file.ts";

const MARKER = /^--\s*migrate:(up|down)\b(.*)$/;

/**
 * Reads a dbmate migrations directory (`db/migrations` by default in dbmate).
 *
 * @example
 * ```ts
 * const list = await readDbmate("./db/migrations");
 * ```
 */
export async function readDbmate(dir: string): Promise<Migration[]> {
  const files = await numberedFiles(dir, "dbmate", /^(\d+)_?(.*)\.sql$/, "VERSION_name.sql (VERSION: digits, e.g. 20240131120000_create_users.sql)");
  return files.map((file) => {
    const options = new Map<string, string>();
    const parts = sections(file.text, (line, n) => {
      const m = MARKER.exec(line.trimEnd());
      if (!m) return undefined;
      for (const option of m[2].trim().split(/\s+/).filter((o) => o !== "")) {
        if (!/^transaction:(true|false)$/.test(option)) {
          throw new MigrationError("INVALID_MIGRATION", `${file.path}:${n}: unknown dbmate option "${option}" (known: transaction:false)`, {
            file: file.path,
          });
        }
      }
      if (/\btransaction:false\b/.test(m[2])) options.set(m[1], "false");
      return m[1];
    });
    const { up, down } = upAndDown(file, parts, {
      up: "-- migrate:up",
      down: "-- migrate:down",
      noun: " line",
      missingUp: 'no "-- migrate:up" line; dbmate migrations start with "-- migrate:up" (and may have a "-- migrate:down" part)',
      second: "; a dbmate file has one of each",
      ordered: true,
    });
    const transaction = !options.has("up") && !options.has("down");
    return singleFileMigration(file, up, down, transaction);
  });
}
