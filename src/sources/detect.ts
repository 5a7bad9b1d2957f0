/**
 * Which tool's format a migrations directory is in, from its names (and, for single-file formats, the marker
 * lines inside). Ambiguous directories are refused with a note to pass `--format` / `format`.
 * @module
 */
import { MigrationError } from "../core/errors.ts";
import { type DirEntry, listDir, readSqlFile } from "./files.ts";

/** The directory formats `loadMigrations` reads. `golang-migrate` is this tool's own format too. */
export type MigrationFormat = "golang-migrate" | "dbmate" | "goose" | "flyway" | "diesel" | "sqlx" | "node-pg-migrate";

/** Every format, for usage messages. */
export const MIGRATION_FORMATS: readonly MigrationFormat[] = ["golang-migrate", "dbmate", "goose", "flyway", "diesel", "sqlx", "node-pg-migrate"];

/**
 * Detects the format of `dir`. An empty directory is `golang-migrate` (this tool's own).
 *
 * @example
 * ```ts
 * await detectFormat("./db/migrations"); // "dbmate"
 * ```
 */
export async function detectFormat(dir: string): Promise<MigrationFormat> {
  const entries = await listDir(dir);
  const seen = new Map<MigrationFormat, string>(); // format -> a path that says so
  const note = (format: MigrationFormat, path: string) => {
    if (!seen.has(format)) seen.set(format, path);
  };
  for (const e of entries) {
    if (e.kind === "dir") {
      if (/^\d[\d-]*_/.test(e.name) && (await listDir(e.path)).some((f) => f.kind === "file" && /^(up|down)\.sql$/i.test(f.name))) {
        note("diesel", e.path);
      }
      continue;
    }
    if (/^[VU]\d+([._]\d+)*__.+\.sql$/i.test(e.name)) note("flyway", e.path);
    else if (/^R__.+\.sql$/.test(e.name)) note("flyway", e.path); // also ours, decided below
    else if (/^\d+_.*\.(up|down)\.sql$/i.test(e.name)) note("golang-migrate", e.path);
    else if (/^\d+_.*\.go$/.test(e.name)) note("goose", e.path);
    else if (/^\d+.*\.sql$/i.test(e.name)) {
      const text = await readSqlFile(e.path);
      if (/^--\s*\+goose\s+up\b/im.test(text)) note("goose", e.path);
      else if (/^--\s*migrate:up\b/m.test(text)) note("dbmate", e.path);
      else if (/^\s*--[\s-]*up\s+migration\b/im.test(text)) note("node-pg-migrate", e.path);
      else if (/^\d+_.+\.sql$/.test(e.name)) note("sqlx", e.path);
    }
  }
  // Flyway also reads subdirectories (db/migration/2024/V1__x.sql): with nothing at the top, look there.
  if (seen.size === 0) {
    const nested = await firstNestedSql(entries);
    if (nested && /^([VU]\d+([._]\d+)*|R)__.+\.sql$/i.test(nested.name)) note("flyway", nested.path);
  }
  // Repeatable R__ files next to VERSION_name.up.sql pairs are this tool's own format.
  if (seen.has("golang-migrate") && seen.has("flyway") && !entries.some((e) => /^[VU]\d/i.test(e.name) && /__/.test(e.name))) {
    seen.delete("flyway");
  }
  // A VERSION_name.sql next to .up.sql/.down.sql pairs is more likely a pair's forgotten ".up" than sqlx mixing
  // simple and reversible migrations (its CLI refuses to): golang-migrate, which refuses the name (--format sqlx reads it).
  if (seen.has("golang-migrate") && seen.has("sqlx")) seen.delete("sqlx");
  if (seen.size > 1) {
    const list = [...seen].map(([format, path]) => `${format} (${path})`).join(", ");
    throw new MigrationError(
      "INVALID_MIGRATION",
      `${dir}: the files look like more than one format: ${list}; keep one tool's files per directory, or pass --format (library: loadMigrations(dir, { format }))`,
      { file: dir },
    );
  }
  return seen.keys().next().value ?? "golang-migrate";
}

/**
 * The first `.sql` file found below the subdirectories of a directory (depth first, in name order).
 *
 * @example
 * ```ts
 * await firstNestedSql(await listDir("db/migration")); // { name: "V1__x.sql", path: "db/migration/2024/V1__x.sql", … }
 * ```
 */
export async function firstNestedSql(entries: readonly DirEntry[]): Promise<DirEntry | undefined> {
  for (const e of entries) {
    if (e.kind !== "dir" || e.name.startsWith(".")) continue;
    const inner = await listDir(e.path);
    const file = inner.find((f) => f.kind === "file" && /\.sql$/i.test(f.name)) ?? await firstNestedSql(inner);
    if (file) return file;
  }
  return undefined;
}

/**
 * A `--format` value checked against the known formats (undefined stays undefined: detect).
 *
 * @example
 * ```ts
 * parseFormat("dbmate"); // "dbmate"
 * ```
 */
export function parseFormat(text: string | undefined): MigrationFormat | undefined {
  if (text === undefined) return undefined;
  if ((MIGRATION_FORMATS as readonly string[]).includes(text)) return text as MigrationFormat;
  throw new MigrationError("USAGE", `unknown --format ${JSON.stringify(text)}; known: ${MIGRATION_FORMATS.join(", ")}`);
}
