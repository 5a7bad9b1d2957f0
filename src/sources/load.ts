/**
 * Reads a migrations directory in any supported format (detected, or forced) into the one Migration model.
 * @module
 */
import { MigrationError } from "../core/errors.ts";
import { type Migration, validateMigrations } from "../core/migration.ts";
import { readDbmate } from "./dbmate.ts";
import { detectFormat, firstNestedSql, MIGRATION_FORMATS, type MigrationFormat } from "./detect.ts";
import { readDiesel } from "./diesel.ts";
import { listDir } from "./files.ts";
import { readFlyway } from "./flyway.ts";
import { readGolangMigrate } from "./golang-migrate.ts";
import { readGoose } from "./goose.ts";
import { readNodePgMigrate } from "./node-pg-migrate.ts";
import { readSqlx } from "./sqlx.ts";

export type { MigrationFormat } from "./detect.ts";

/** Options of `loadMigrations`. */
export interface LoadOptions {
  /** The directory's format; default: detected from its files (see README, "Migration files"). */
  format?: MigrationFormat;
}

const READERS: Record<MigrationFormat, (dir: string) => Promise<Migration[]>> = {
  "golang-migrate": readGolangMigrate,
  dbmate: readDbmate,
  goose: readGoose,
  flyway: readFlyway,
  diesel: readDiesel,
  sqlx: readSqlx,
  "node-pg-migrate": readNodePgMigrate,
};

/**
 * Loads every migration in `dir`, sorted by version (repeatables last). The format is detected per directory:
 * golang-migrate pairs (`VERSION_name.up.sql` / `.down.sql`, this tool's own, with `R__name.sql` repeatables),
 * dbmate, goose, Flyway, diesel, sqlx, node-pg-migrate (SQL). Files that are not `.sql` are ignored; a `.sql`
 * file or a directory with a name the format does not accept, a version twice, an unreadable file, a NUL byte or
 * a non-UTF-8 byte is an error naming the file. Symlinks are followed.
 *
 * @example
 * ```ts
 * import { loadMigrations, Migrator } from "@orchwf/migrate";
 * const migrator = new Migrator(sql, { migrations: await loadMigrations("./migrations") });
 * const dbmate = await loadMigrations("./db/migrations", { format: "dbmate" });
 * ```
 */
export async function loadMigrations(dir: string, options: LoadOptions = {}): Promise<Migration[]> {
  const format = options.format ?? (await detectFormat(dir));
  const read = READERS[format];
  if (!read) {
    throw new MigrationError("USAGE", `unknown migration format ${JSON.stringify(format)}; known: ${MIGRATION_FORMATS.join(", ")}`);
  }
  const migrations = validateMigrations(await read(dir));
  if (migrations.length === 0) await refuseUnreadSql(dir, format);
  for (const m of migrations) if (m.source) m.source.format = format;
  return migrations;
}

/** No migration, yet SQL files: they are named for another tool or kept where this format does not look. */
async function refuseUnreadSql(dir: string, format: MigrationFormat): Promise<void> {
  const entries = await listDir(dir);
  const sql = entries.find((e) => e.kind === "file" && /\.sql$/i.test(e.name)) ?? await firstNestedSql(entries);
  if (!sql) return;
  throw new MigrationError(
    "INVALID_MIGRATION",
    `${dir}: no ${format} migration found, but it holds SQL files (${sql.path}); name them as that format expects (see README, "Migration files"), or pass --format`,
    { file: sql.path },
  );
}
