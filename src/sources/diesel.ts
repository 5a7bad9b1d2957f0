/**
 * diesel's format: one directory per migration, `VERSION_name/up.sql` and `down.sql` (optional), where VERSION is
 * the part before the first `_` without its dashes (`2019-02-26-002946_create_user` is 20190226002946, and
 * diesel's `00000000000000_diesel_initial_setup` is version 0). `metadata.toml` with `run_in_transaction = false`
 * runs it outside a transaction. Files beside the migration directories and hidden entries are ignored, as diesel
 * ignores them.
 * @module
 */
import { MigrationError } from "../core/errors.ts";
import { type Migration, migrationFromFiles } from "../core/migration.ts";
import { badName, listDir, readOptionalText } from "./files.ts";

const EXPECTED = "one directory per migration, VERSION_name/up.sql (+ down.sql, metadata.toml), e.g. 2019-02-26-002946_create_user/up.sql";
const DIR_NAME = /^(\d[\d-]*)_(.+)$/;

/**
 * Reads a diesel `migrations` directory.
 *
 * @example
 * ```ts
 * const list = await readDiesel("./migrations");
 * ```
 */
export async function readDiesel(dir: string): Promise<Migration[]> {
  const out: Migration[] = [];
  for (const entry of await listDir(dir)) {
    // As diesel does: only directories are migrations; files beside them (a README, a data file, even a .sql
    // one) and hidden entries are not read.
    if (entry.kind === "file" || entry.name.startsWith(".")) continue;
    const m = DIR_NAME.exec(entry.name);
    if (!m) throw badName(entry.path, "diesel", EXPECTED, "a directory not named VERSION_name");
    const version = m[1].replace(/-/g, "");
    const upFile = `${entry.path}/up.sql`;
    const downFile = `${entry.path}/down.sql`;
    const up = await readOptionalText(upFile);
    if (up === undefined) {
      const near = (await listDir(entry.path)).find((e) => e.name.toLowerCase() === "up.sql");
      throw near
        ? badName(near.path, "diesel", EXPECTED, "the file name must be lower case (up.sql, down.sql)")
        : new MigrationError("INVALID_MIGRATION", `${entry.path}: migration directory without up.sql`, { file: entry.path, version });
    }
    const down = await readOptionalText(downFile);
    const migration = migrationFromFiles({ version, name: m[2], up, down, upFile, downFile: down === undefined ? undefined : downFile });
    const metaFile = `${entry.path}/metadata.toml`;
    const meta = await readOptionalText(metaFile);
    if (meta !== undefined && runInTransaction(meta, metaFile) === false) migration.transaction = false;
    out.push(migration);
  }
  return out;
}

/** `run_in_transaction` from a metadata.toml (the only key diesel reads), or undefined when not set. */
function runInTransaction(toml: string, file: string): boolean | undefined {
  const lines = toml.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/#.*$/, "").trim();
    if (line === "") continue;
    const m = /^run_in_transaction\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === "true" || m[1] === "false") return m[1] === "true";
    throw new MigrationError("INVALID_MIGRATION", `${file}:${i + 1}: run_in_transaction must be true or false, not ${m[1]}`, { file });
  }
  return undefined;
}
