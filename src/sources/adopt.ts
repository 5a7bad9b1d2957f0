/**
 * Adopting the history another tool kept: read its version table (never write it), check it against the migration
 * files, and record exactly the versions it applied in our table (`Migrator.baseline({ versions })`, under the
 * migration lock). Disagreements (a dirty or failed row, a version without a file, a file changed since, a gap) are
 * refused with one report listing each.
 * @module
 */
import { createHash } from "node:crypto";
import type { RunOptions } from "../core/deadline.ts";
import { type ErrorCode, MigrationError } from "../core/errors.ts";
import { compareVersions, type Migration, versionKey } from "../core/migration.ts";
import { qualifiedName } from "../core/sql-text.ts";
import { type Database, toDriver } from "../drivers/detect.ts";
import type { Queryable } from "../drivers/driver.ts";
import type { BaselineOptions, BaselineResult } from "../engine/api.ts";
import { flywayChecksum } from "./flyway.ts";

/** Tools whose version table `adoptHistory` reads. */
export type SourceTool = "golang-migrate" | "dbmate" | "goose" | "flyway" | "diesel" | "sqlx" | "node-pg-migrate";

/** Each tool's default table, in the order auto-detection tries them. */
export const TOOL_TABLES: Readonly<Record<SourceTool, string>> = {
  flyway: "flyway_schema_history",
  goose: "goose_db_version",
  diesel: "__diesel_schema_migrations",
  sqlx: "_sqlx_migrations",
  "node-pg-migrate": "pgmigrations",
  "golang-migrate": "schema_migrations",
  dbmate: "schema_migrations",
};

/** Options of `adoptHistory` / `readToolHistory`. */
export interface AdoptOptions extends RunOptions {
  /** The tool; default: detected from which of the tables above exists (exactly one must). */
  from?: SourceTool;
  /** The tool's table name when it is not the default (dbmate's --migrations-table, goose's -table, ...). */
  table?: string;
  /** The schema of that table; default: the search_path. */
  schema?: string;
  /** Record the applied versions even when unapplied files sit between them (`migrate()` then applies those). */
  allowGaps?: boolean;
}

/** What the other tool's table says, checked against the files. */
export interface ToolHistory {
  from: SourceTool;
  /** The table read, as addressed in SQL. */
  table: string;
  /** Versions (and `R__name` repeatables) to record as applied, in order. */
  versions: string[];
  /** Each disagreement with the files; empty when they agree. */
  problems: { code: ErrorCode; message: string }[];
}

/** What adoption needs of a Migrator: its migrations and its baseline (a Migrator is one). */
export interface Baseliner {
  readonly migrations: readonly Migration[];
  baseline(options: BaselineOptions): Promise<BaselineResult>;
}

/** What `adoptHistory` did. */
export interface AdoptResult extends BaselineResult {
  from: SourceTool;
  table: string;
  /** Every version the other tool had applied (some may have been recorded in our table already). */
  versions: string[];
}

/**
 * Reads another tool's version table and checks it against `migrations`. Read-only.
 *
 * @example
 * ```ts
 * const history = await readToolHistory(sql, await loadMigrations("./db/migrations"), { from: "dbmate" });
 * if (history.problems.length > 0) console.error(history.problems);
 * ```
 */
export async function readToolHistory(db: Database, migrations: readonly Migration[], options: AdoptOptions = {}): Promise<ToolHistory> {
  const q = toDriver(db);
  const from = options.from ?? (await detectTool(q, options));
  if (!(from in TOOL_TABLES)) {
    throw new MigrationError("USAGE", `unknown tool ${JSON.stringify(from)} for baseline --from; known: ${Object.keys(TOOL_TABLES).sort().join(", ")}`);
  }
  const table = qualifiedName(options.schema, options.table ?? TOOL_TABLES[from]);
  const columns = await columnsOf(q, table);
  if (columns.size === 0) {
    throw new MigrationError("USAGE", `${from}'s version table ${table} does not exist here; check --db, or name it with --from-table NAME and --schema NAME (library: table, schema)`);
  }
  const files = new Map(migrations.map((m) => [versionKey(m.version), m]));
  const problems: ToolHistory["problems"] = [];
  const applied = new Set<string>(); // versionKeys
  const unknown = (version: string, why = "") =>
    problems.push({ code: "UNKNOWN_VERSION", message: `${table} has version ${version} applied${why}, but no migration file has it; restore the file, or point --dir at the directory that has it` });
  const take = (version: string) => {
    const key = versionKey(String(version));
    if (files.has(key)) applied.add(key);
    else unknown(String(version));
  };
  if (from === "golang-migrate" || from === "dbmate") {
    const shape = columns.has("dirty") ? "golang-migrate" : "dbmate";
    if (shape !== from) {
      throw new MigrationError("USAGE", `${table} looks like ${shape}'s table (${columns.has("dirty") ? "it has" : "it has no"} a dirty column), not ${from}'s; use --from ${shape}`);
    }
  }
  switch (from) {
    case "golang-migrate": {
      // One row: the current version; every file version up to it is applied (golang-migrate applies in order).
      const rows = await q.query<{ version: string; dirty: boolean }>(`SELECT version::text AS version, dirty FROM ${table}`);
      if (rows.length > 1) problems.push({ code: "INVALID_MIGRATION", message: `${table} has ${rows.length} rows; golang-migrate keeps exactly one` });
      for (const row of rows) {
        if (row.dirty) {
          problems.push({
            code: "DIRTY",
            message: `${table} says version ${row.version} is dirty: golang-migrate failed part way through it. Repair the database, then run \`migrate force ${row.version}\` (or the previous version) with golang-migrate`,
          });
        }
        if (Number(row.version) < 0) continue; // golang-migrate's "no version"
        if (!files.has(versionKey(row.version))) unknown(row.version, " (the current version)");
        for (const m of migrations) if (!m.repeatable && compareVersions(m.version, row.version) <= 0) applied.add(versionKey(m.version));
      }
      break;
    }
    case "dbmate":
    case "diesel":
      for (const row of await q.query<{ version: string }>(`SELECT version::text AS version FROM ${table}`)) take(row.version);
      break;
    case "goose": {
      // The latest row of a version says whether it is applied; version 0 is goose's own initial row.
      const rows = await q.query<{ version: string; applied: boolean }>(
        `SELECT DISTINCT ON (version_id) version_id::text AS version, is_applied AS applied FROM ${table} ORDER BY version_id, id DESC`,
      );
      for (const row of rows) if (row.version !== "0" && row.applied) take(row.version);
      break;
    }
    case "sqlx": {
      const rows = await q.query<{ version: string; success: boolean; checksum: Uint8Array | string }>(
        `SELECT version::text AS version, success, encode(checksum, 'hex') AS checksum FROM ${table} ORDER BY version`,
      );
      for (const row of rows) {
        if (!row.success) {
          problems.push({ code: "DIRTY", message: `${table} says migration ${row.version} failed part way (success = false); repair the database and that row with sqlx first` });
          continue;
        }
        take(row.version);
        const m = files.get(versionKey(row.version));
        if (m && createHash("sha384").update(m.up).digest("hex") !== String(row.checksum)) {
          problems.push({ code: "CHECKSUM_MISMATCH", message: `${m.source?.up ?? m.version} changed since sqlx applied version ${row.version} (its SHA-384 differs from ${table}.checksum); restore the file` });
        }
      }
      break;
    }
    case "node-pg-migrate": {
      const byName = new Map(migrations.map((m) => [(m.source?.up ?? "").replace(/^.*[\\/]/, "").replace(/\.sql$/, ""), m]));
      for (const row of await q.query<{ name: string }>(`SELECT name FROM ${table} ORDER BY run_on, id`)) {
        const m = byName.get(row.name);
        if (m) applied.add(versionKey(m.version));
        else unknown(row.name);
      }
      break;
    }
    case "flyway":
      await readFlywayHistory(q, table, migrations, files, applied, problems, unknown);
      break;
  }
  // A gap: an unapplied file below the highest applied version (another tool may have skipped it on purpose).
  const versioned = migrations.filter((m) => !m.repeatable);
  const highest = versioned.filter((m) => applied.has(versionKey(m.version))).at(-1);
  if (highest && !options.allowGaps) {
    const gaps = versioned.filter((m) => !applied.has(versionKey(m.version)) && compareVersions(m.version, highest.version) < 0);
    if (gaps.length > 0) {
      problems.push({
        code: "UNKNOWN_VERSION",
        message: `${gaps.map((m) => m.source?.up ?? m.version).join(", ")} ${gaps.length > 1 ? "are" : "is"} not applied according to ${table}, but ${from} applied the later version ${highest.version}; apply ${gaps.length > 1 ? "them" : "it"} with ${from} first, or pass --allow-gaps (library: allowGaps) to let \`up\` apply ${gaps.length > 1 ? "them" : "it"}`,
      });
    }
  }
  const versions = migrations.filter((m) => applied.has(versionKey(m.version))).map((m) => m.version);
  return { from, table, versions, problems };
}

/**
 * Adopts another tool's history: `readToolHistory`, refuse when it disagrees with the files, else record exactly
 * those versions as applied (not run) with `migrator.baseline({ versions })`, under the migration lock. The other
 * tool's table is never written; `migrator.migrate()` then applies only what is new.
 *
 * @example
 * ```ts
 * const migrations = await loadMigrations("./db/migrations"); // dbmate's files, as they are
 * const migrator = new Migrator(sql, { migrations });
 * await adoptHistory(sql, migrator, { from: "dbmate" });
 * await migrator.migrate();
 * ```
 */
export async function adoptHistory(db: Database, migrator: Baseliner, options: AdoptOptions = {}): Promise<AdoptResult> {
  const history = await readToolHistory(db, migrator.migrations, options);
  if (history.problems.length > 0) {
    const lines = history.problems.map((p) => `  - ${p.message}`).join("\n");
    throw new MigrationError(
      history.problems[0].code,
      `baseline --from ${history.from}: ${history.table} disagrees with the migration files; nothing was recorded:\n${lines}`,
    );
  }
  const { baselined } = await migrator.baseline({ versions: history.versions, signal: options.signal, timeoutMs: options.timeoutMs });
  return { from: history.from, table: history.table, versions: history.versions, baselined };
}

async function columnsOf(q: Queryable, table: string): Promise<Set<string>> {
  const rows = await q.query<{ attname: string }>(
    "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped",
    [table],
  );
  return new Set(rows.map((r) => r.attname));
}

async function detectTool(q: Queryable, options: AdoptOptions): Promise<SourceTool> {
  const found: SourceTool[] = [];
  for (const tool of ["flyway", "goose", "diesel", "sqlx", "node-pg-migrate", "golang-migrate"] as const) {
    const columns = await columnsOf(q, qualifiedName(options.schema, options.table ?? TOOL_TABLES[tool]));
    if (columns.size === 0) continue;
    found.push(tool === "golang-migrate" && !columns.has("dirty") ? "dbmate" : tool);
    if (options.table !== undefined) break;
  }
  if (found.length === 1) return found[0];
  throw new MigrationError(
    "USAGE",
    found.length === 0
      ? `no other tool's version table found (looked for ${[...new Set(Object.values(TOOL_TABLES))].join(", ")}); name the tool with --from, and its table with --from-table if it was renamed`
      : `more than one tool's version table found (${found.join(", ")}); pick one with --from`,
  );
}

/** Flyway: rows by installed_rank; failed rows refused; undone and deleted versions dropped; a baseline row covers
 * every version up to it; repeatables count as applied when their latest checksum is the file's. */
async function readFlywayHistory(
  q: Queryable,
  table: string,
  migrations: readonly Migration[],
  files: Map<string, Migration>,
  applied: Set<string>,
  problems: ToolHistory["problems"],
  unknown: (version: string, why?: string) => void,
): Promise<void> {
  const rows = await q.query<{ version: string | null; description: string; type: string; checksum: number | null; success: boolean; script: string }>(
    `SELECT version, description, type, checksum, success, script FROM ${table} ORDER BY installed_rank`,
  );
  const versioned = new Map<string, { version: string; checksum: number | null; script: string }>();
  const repeatable = new Map<string, number | null>(); // description -> latest checksum
  for (const row of rows) {
    if (!row.success) {
      problems.push({
        code: "DIRTY",
        message: `${table} has a failed migration: ${row.version ?? row.description} (${row.script}); fix the database, then run \`flyway repair\``,
      });
      continue;
    }
    if (row.type === "SCHEMA" || row.type === "DELETE" && row.version === null) continue;
    if (row.type === "BASELINE" && row.version !== null) {
      for (const m of migrations) if (!m.repeatable && compareVersions(m.version, row.version) <= 0) applied.add(versionKey(m.version));
      continue;
    }
    if (row.version === null) {
      repeatable.set(row.description, row.checksum);
      continue;
    }
    const key = versionKey(row.version);
    if (row.type === "UNDO_SQL" || row.type === "DELETE") versioned.delete(key);
    else versioned.set(key, { version: row.version, checksum: row.checksum, script: row.script });
  }
  for (const [key, row] of versioned) {
    const m = files.get(key);
    if (!m) {
      unknown(row.version, ` (${row.script})`);
      continue;
    }
    applied.add(key);
    if (row.checksum !== null && flywayChecksum(m.up) !== Number(row.checksum)) {
      problems.push({
        code: "CHECKSUM_MISMATCH",
        message: `${m.source?.up ?? m.version} changed since Flyway applied version ${row.version} (checksum ${flywayChecksum(m.up)}, ${table} has ${row.checksum}); restore the file, or run \`flyway repair\` if the change is intended`,
      });
    }
  }
  for (const m of migrations) {
    if (!m.repeatable) continue;
    const recorded = repeatable.get(m.description);
    // Unchanged since Flyway ran it: applied. Changed or never run: left pending, so `up` runs it (as Flyway would).
    if (recorded !== undefined && recorded !== null && Number(recorded) === flywayChecksum(m.up)) applied.add(versionKey(m.version));
  }
}
