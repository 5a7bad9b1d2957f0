/**
 * sqlx's format: `VERSION_name.sql` (simple, irreversible) or `VERSION_name.up.sql` + `.down.sql` (reversible);
 * VERSION a 64-bit integer. A file whose first line is `-- no-transaction` runs outside a transaction.
 * @module
 */
import { MigrationError } from "../core/errors.ts";
import { type Migration, migrationFromFiles, versionKey } from "../core/migration.ts";
import { badName, listDir, readSqlFile } from "./files.ts";

const EXPECTED = "VERSION_name.sql, or VERSION_name.up.sql + VERSION_name.down.sql (e.g. 20240131120000_create_users.sql)";
const NAME = /^(\d+)_(.+?)(\.up|\.down)?\.sql$/;

/**
 * Reads a sqlx `migrations` directory.
 *
 * @example
 * ```ts
 * const list = await readSqlx("./migrations");
 * ```
 */
export async function readSqlx(dir: string): Promise<Migration[]> {
  const byVersion = new Map<string, { version: string; name: string; up?: string; down?: string; simple?: boolean }>();
  for (const entry of await listDir(dir)) {
    if (entry.kind === "dir") {
      if (/^\d+_|\.sql$/i.test(entry.name)) throw badName(entry.path, "sqlx", EXPECTED, "a directory named like a migration (only files are read)");
      continue;
    }
    if (!/\.sql$/i.test(entry.name)) continue;
    const m = NAME.exec(entry.name);
    if (!m) {
      throw badName(entry.path, "sqlx", EXPECTED, /\.sql$/.test(entry.name) ? "bad migration file name" : "bad migration file name (the extension must be lower case)");
    }
    const key = versionKey(m[1]);
    const slot = byVersion.get(key) ?? { version: m[1], name: m[2] };
    const direction = m[3] === ".down" ? "down" : "up";
    if (slot[direction] !== undefined || (slot.simple && direction === "up") || (m[3] === undefined && slot.up !== undefined)) {
      throw new MigrationError("DUPLICATE_VERSION", `version ${m[1]} is defined twice: ${slot.up ?? slot.down} and ${entry.path}`, {
        version: m[1],
        file: entry.path,
      });
    }
    slot[direction] = entry.path;
    if (m[3] === undefined) slot.simple = true;
    byVersion.set(key, slot);
  }
  const out: Migration[] = [];
  for (const slot of byVersion.values()) {
    if (slot.up === undefined) {
      throw new MigrationError("INVALID_MIGRATION", `${slot.down}: down migration without its up file`, { file: slot.down, version: slot.version });
    }
    if (slot.simple && slot.down !== undefined) {
      throw new MigrationError("INVALID_MIGRATION", `${slot.down}: a simple migration (${slot.up}) has no down; rename it to .up.sql to make it reversible`, {
        file: slot.down,
        version: slot.version,
      });
    }
    const up = await readSqlFile(slot.up);
    const down = slot.down === undefined ? undefined : await readSqlFile(slot.down);
    const m = migrationFromFiles({ version: slot.version, name: slot.name, up, down, upFile: slot.up, downFile: slot.down });
    if (up.startsWith("-- no-transaction") || down?.startsWith("-- no-transaction")) m.transaction = false;
    out.push(m);
  }
  return out;
}
