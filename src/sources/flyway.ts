/**
 * Flyway's SQL format: `V1_2__name.sql` (version 1.2), `U1_2__name.sql` (its undo: our down), `R__name.sql`
 * (repeatable: applied after the versioned ones whenever its checksum changes). Subdirectories are scanned, as
 * Flyway does. A migration runs in a transaction unless `executeInTransaction=false` is set (a `V…sql.conf` file or
 * a `-- flyway:executeInTransaction=false` line), or its statements cannot run in one (CREATE INDEX CONCURRENTLY,
 * VACUUM, …), which Flyway detects itself. `${name}` placeholders are replaced at run time, as Flyway does.
 * @module
 */
import { MigrationError } from "../core/errors.ts";
import { type Migration, REPEATABLE_PREFIX, versionKey } from "../core/migration.ts";
import { placeholderStandIns } from "../core/placeholders.ts";
import { needsNoTransaction, parseStatements } from "../core/split.ts";
import { badName, listDir, readOptionalText, readSqlFile } from "./files.ts";

const EXPECTED = "V<version>__<description>.sql (e.g. V1__init.sql, V1_2__add_users.sql), U<version>__<description>.sql, or R__<description>.sql";
const NAME = /^([VU])(\d+(?:[._]\d+)*)__(.+)\.sql$/;
const REPEATABLE = /^R__(.+)\.sql$/;

/**
 * Reads a Flyway `db/migration` directory (recursively).
 *
 * @example
 * ```ts
 * const list = await readFlyway("./src/main/resources/db/migration");
 * ```
 */
export async function readFlyway(dir: string): Promise<Migration[]> {
  const files: { path: string; name: string }[] = [];
  const walk = async (d: string) => {
    for (const entry of await listDir(d)) {
      if (entry.kind === "dir") await walk(entry.path);
      else if (/\.sql$/i.test(entry.name)) files.push(entry);
    }
  };
  await walk(dir);
  const versioned = new Map<string, Migration>();
  const undo = new Map<string, { path: string; text: string }>();
  const out: Migration[] = [];
  for (const file of files) {
    const r = REPEATABLE.exec(file.name);
    if (r) {
      const up = await readSqlFile(file.path);
      const m: Migration = {
        version: `${REPEATABLE_PREFIX}${r[1]}`,
        description: describe(r[1]),
        up,
        repeatable: true,
        source: { up: file.path },
      };
      if (!(await inTransaction(file.path, up))) m.transaction = false;
      if (await replacesPlaceholders(file.path, up)) m.placeholders = "flyway";
      out.push(m);
      continue;
    }
    const v = NAME.exec(file.name);
    if (!v) {
      const why = /^B\d/.test(file.name)
        ? "Flyway baseline migrations (B…__) are not supported; run `baseline --from flyway` on a database Flyway made instead"
        : /\.sql$/.test(file.name) ? "bad migration file name" : "bad migration file name (the extension must be lower case .sql)";
      throw badName(file.path, "Flyway", EXPECTED, why);
    }
    const version = v[2].replace(/_/g, ".");
    const key = versionKey(version);
    const text = await readSqlFile(file.path);
    if (v[1] === "U") {
      const twin = undo.get(key);
      if (twin) throw duplicate(version, twin.path, file.path);
      undo.set(key, { path: file.path, text });
      continue;
    }
    const twin = versioned.get(key);
    if (twin) throw duplicate(version, twin.source!.up!, file.path);
    const m: Migration = { version, description: describe(v[3]), up: text, source: { up: file.path } };
    if (!(await inTransaction(file.path, text))) m.transaction = false;
    if (await replacesPlaceholders(file.path, text)) m.placeholders = "flyway";
    versioned.set(key, m);
    out.push(m);
  }
  for (const [key, u] of undo) {
    const m = versioned.get(key);
    if (!m) {
      throw new MigrationError("INVALID_MIGRATION", `${u.path}: undo migration without its versioned migration (V…__…sql of the same version)`, { file: u.path });
    }
    m.down = u.text;
    m.source!.down = u.path;
    if (await replacesPlaceholders(u.path, u.text)) m.placeholders = "flyway";
    if (!(await inTransaction(u.path, u.text))) m.transaction = false;
  }
  return out;
}

function describe(name: string): string {
  return name.replace(/_/g, " ");
}

function duplicate(version: string, first: string, second: string): MigrationError {
  return new MigrationError("DUPLICATE_VERSION", `version ${version} is defined twice: ${first} and ${second}`, { version, file: second });
}

/** A per-script setting of Flyway (`.sql.conf` file, or a `-- flyway:NAME=VALUE` line), if set. */
async function scriptSetting(path: string, text: string, name: string): Promise<boolean | undefined> {
  const conf = await readOptionalText(`${path}.conf`);
  const setting = new RegExp(`^\\s*(?:--\\s*flyway:)?${name}\\s*=\\s*(true|false)\\s*$`, "im").exec(
    `${conf ?? ""}\n${text.split(/\r?\n/).filter((l) => /^\s*--\s*flyway:/.test(l)).join("\n")}`,
  );
  return setting ? setting[1] === "true" : undefined;
}

/** Flyway replaces `${name}` placeholders unless the script turns it off (`placeholderReplacement=false`). */
async function replacesPlaceholders(path: string, text: string): Promise<boolean> {
  return (await scriptSetting(path, text, "placeholderReplacement")) !== false;
}

/** Flyway's per-script setting (`.sql.conf` file or an in-script line), else its own detection. */
async function inTransaction(path: string, text: string): Promise<boolean> {
  const setting = await scriptSetting(path, text, "executeInTransaction");
  if (setting !== undefined) return setting;
  // Flyway's detection, by PostgreSQL's grammar; a file that does not parse stays transactional and is reported,
  // with its line, by the checks before the run.
  const statements = await parseStatements(placeholderStandIns(text, "flyway")).catch(() => []);
  return !statements.some((st) => needsNoTransaction(st) !== undefined);
}

/**
 * Flyway's checksum of a script: CRC-32 over its lines (without line endings, BOM dropped), as a signed 32-bit
 * integer, as Flyway stores it in `flyway_schema_history.checksum`.
 *
 * @example
 * ```ts
 * flywayChecksum("CREATE TABLE t (id int);\n");
 * ```
 */
export function flywayChecksum(text: string): number {
  let crc = 0xffffffff;
  const lines = text.replace(/^\uFEFF/, "").split(/\r\n|\r|\n/);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop(); // readLine yields no line after the last ending
  const encoder = new TextEncoder();
  for (const line of lines) {
    for (const byte of encoder.encode(line)) {
      crc ^= byte;
      for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
    }
  }
  return (crc ^ 0xffffffff) | 0;
}
