/**
 * golang-migrate's directory format, which is also this tool's own: `VERSION_name.up.sql` and an optional
 * `VERSION_name.down.sql`, plus (ours) repeatable `R__name.sql` files and `-- orchwf:` directives.
 * An empty or comment-only file is a no-op, as golang-migrate allows (its advice for irreversible downs).
 * @module
 */
import { MigrationError } from "../core/errors.ts";
import { applyRunDirectives, type Migration, migrationFromFiles, parseFileName, readDirectives, REPEATABLE_PREFIX, versionKey } from "../core/migration.ts";
import { badName, listDir, readSqlFile, readSqlFiles } from "./files.ts";

const EXPECTED = "VERSION_name.up.sql / VERSION_name.down.sql (VERSION is digits, e.g. 002_add_users.up.sql), or R__name.sql for a repeatable migration";

/** Looks like a migration file, in any case: refused unless it is exactly right. */
const NEAR_MISS = /\.sql$/i;
const MIGRATION_LIKE_DIR = /^\d+_|\.sql$/i;
const REPEATABLE = /^R__(.+)\.sql$/;

/**
 * Reads a golang-migrate style directory (this tool's own format). Not validated yet: `loadMigrations` does that.
 *
 * @example
 * ```ts
 * const list = await readGolangMigrate("./migrations");
 * ```
 */
export async function readGolangMigrate(dir: string): Promise<Migration[]> {
  const pairs = new Map<string, { up?: string; down?: string }>();
  const repeatables: string[] = [];
  for (const entry of await listDir(dir)) {
    if (entry.kind === "dir") {
      if (MIGRATION_LIKE_DIR.test(entry.name)) {
        throw badName(entry.path, "golang-migrate", EXPECTED, "a directory named like a migration (only files are read)");
      }
      continue;
    }
    if (!NEAR_MISS.test(entry.name)) continue; // README.md, .keep, …
    if (REPEATABLE.test(entry.name)) {
      repeatables.push(entry.path);
      continue;
    }
    const parsed = parseFileName(entry.name);
    if (!parsed) {
      const why = /\.(up|down)\.sql$/i.test(entry.name) && !/\.(up|down)\.sql$/.test(entry.name)
        ? "bad migration file name (the extension must be lower case: .up.sql or .down.sql)"
        : /^\d+_.+\.sql$/.test(entry.name)
        ? "bad migration file name (no .up or .down; a sqlx directory of VERSION_name.sql files needs --format sqlx when it also has .up.sql files)"
        : "bad migration file name";
      throw badName(entry.path, "golang-migrate", EXPECTED, why);
    }
    const key = versionKey(parsed.version);
    const pair = pairs.get(key) ?? {};
    const twin = pair[parsed.direction];
    if (twin !== undefined) throw duplicate(parsed.version, twin, entry.path);
    pair[parsed.direction] = entry.path;
    pairs.set(key, pair);
  }
  const files: { version: string; name: string; up: string; down?: string }[] = [];
  for (const { up, down } of pairs.values()) {
    if (up === undefined) {
      const { version, name } = parseFileName(baseName(down!))!;
      throw new MigrationError("INVALID_MIGRATION", `${down}: down migration without its up file ${version}_${name}.up.sql`, {
        version,
        file: down,
      });
    }
    const { version, name } = parseFileName(baseName(up))!;
    if (down !== undefined && baseName(down) !== `${version}_${name}.down.sql`) throw duplicate(version, up, down);
    files.push({ version, name, up, down });
  }
  // Every file read at once (a long history is thousands of files), then made into migrations in order.
  const texts = await readSqlFiles(files.flatMap((f) => (f.down === undefined ? [f.up] : [f.up, f.down])));
  let at = 0;
  const migrations: Migration[] = files.map(({ version, name, up, down }) =>
    migrationFromFiles({ version, name, up: texts[at++], down: down === undefined ? undefined : texts[at++], upFile: up, downFile: down })
  );
  for (const file of repeatables) migrations.push(await readRepeatable(file, baseName(file).replace(REPEATABLE, "$1")));
  return migrations;
}

/**
 * A repeatable migration from one file: version `R__name`, applied after every versioned one and again whenever
 * its text changes.
 *
 * @example
 * ```ts
 * const m = await readRepeatable("./migrations/R__views.sql", "views");
 * ```
 */
export async function readRepeatable(file: string, name: string): Promise<Migration> {
  const up = await readSqlFile(file);
  const directives = readDirectives(up, file);
  const m: Migration = {
    version: `${REPEATABLE_PREFIX}${name}`,
    description: directives.description ?? name.replace(/_/g, " "),
    up,
    repeatable: true,
    source: { up: file },
  };
  if (directives.noTransaction) m.transaction = false;
  applyRunDirectives(m, directives, undefined, file);
  return m;
}

function baseName(path: string): string {
  return path.replace(/^.*[\\/]/, "");
}

function duplicate(version: string, first: string, second: string): MigrationError {
  return new MigrationError("DUPLICATE_VERSION", `version ${version} is defined twice: ${first} and ${second}`, {
    version,
    file: second,
  });
}
