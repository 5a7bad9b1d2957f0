/**
 * Reads a directory of golang-migrate style files (`VERSION_name.up.sql` / `.down.sql`).
 * @module
 */
import { readdir, readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { MigrationError } from "../core/errors.ts";
import { unreadableFile } from "../core/error-codes.ts";
import { type Migration, migrationFromFiles, parseFileName, validateMigrations } from "../core/migration.ts";

/**
 * Loads every migration in `dir`, sorted by version. Files that do not end in `.sql` are ignored;
 * a `.sql` file with a bad name, a version twice, a down without an up, an empty or non-UTF-8 file
 * is an error naming the file.
 *
 * @example
 * ```ts
 * import { loadMigrations, Migrator } from "@orchwf/migrate";
 * const migrator = new Migrator(sql, { migrations: await loadMigrations("./migrations") });
 * ```
 */
export async function loadMigrations(dir: string): Promise<Migration[]> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    if (code === "EACCES" || code === "EPERM") throw unreadableFile(cause, dir);
    throw new MigrationError("INVALID_MIGRATION", `cannot read migrations directory ${dir}: ${(cause as Error).message}`, {
      file: dir,
      cause,
    });
  }
  // Keyed by numeric version, so "001" and "1" collide as they would in the version order.
  const pairs = new Map<string, { up?: string; down?: string }>();
  for (const fileName of names.filter((n) => n.endsWith(".sql")).sort()) {
    const file = join(dir, fileName);
    const parsed = parseFileName(fileName);
    if (!parsed) {
      throw new MigrationError(
        "BAD_FILE_NAME",
        `${file}: bad migration file name; expected VERSION_name.up.sql or VERSION_name.down.sql (VERSION is digits, e.g. 002_add_users.up.sql)`,
        { file },
      );
    }
    const key = BigInt(parsed.version).toString();
    const pair = pairs.get(key) ?? {};
    const twin = pair[parsed.direction];
    if (twin !== undefined) throw duplicate(parsed.version, twin, file);
    pair[parsed.direction] = file;
    pairs.set(key, pair);
  }
  const migrations: Migration[] = [];
  for (const { up, down } of pairs.values()) {
    if (up === undefined) {
      const { version, name } = parseFileName(basename(down!))!;
      throw new MigrationError("INVALID_MIGRATION", `${down}: down migration without its up file ${version}_${name}.up.sql`, {
        version,
        file: down,
      });
    }
    const { version, name } = parseFileName(basename(up))!;
    if (down !== undefined && basename(down) !== `${version}_${name}.down.sql`) throw duplicate(version, up, down);
    migrations.push(
      migrationFromFiles({
        version,
        name,
        up: await readUtf8(up, version),
        down: down === undefined ? undefined : await readUtf8(down, version),
        upFile: up,
        downFile: down,
      }),
    );
  }
  return validateMigrations(migrations);
}

function duplicate(version: string, first: string, second: string): MigrationError {
  return new MigrationError("DUPLICATE_VERSION", `version ${version} is defined twice: ${first} and ${second}`, {
    version,
    file: second,
  });
}

/** Reads a file as strict UTF-8 (dropping a BOM); a bad byte is an error naming file and line. */
async function readUtf8(file: string, version: string): Promise<string> {
  const bytes = await readFile(file).catch((err: unknown) => {
    throw unreadableFile(err, file, version);
  });
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    const line = firstBadUtf8Line(bytes);
    throw new MigrationError(
      "INVALID_MIGRATION",
      `${file}:${line}: migration ${version} is not valid UTF-8; save the file as UTF-8`,
      { version, file },
    );
  }
}

function firstBadUtf8Line(bytes: Uint8Array): number {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let line = 1;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      try {
        decoder.decode(bytes.subarray(start, i));
      } catch {
        return line;
      }
      line++;
      start = i + 1;
    }
  }
  return line;
}
