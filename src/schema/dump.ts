/**
 * dump: an executable, deterministic schema file. A real dumper does the work: pg_dump compiled to WebAssembly
 * (`@electric-sql/pglite-tools`, an optional peer dependency loaded lazily; without it the snapshot writer stands
 * in, and says so) on PGlite databases and replays, the server's own `pg_dump` when it
 * is installed and has the server's major version, our snapshot writer otherwise. The output is normalised (no
 * version banner, no psql-only lines) and ends with the version table's rows as INSERTs.
 * @module
 */
import { Buffer } from "node:buffer";
import { spawn } from "node:child_process";
import process from "node:process";
import type { PGlite } from "@electric-sql/pglite";
import { orchwfMigrations } from "../builtin.ts";
import { MigrationError } from "../core/errors.ts";
import { checksum, compareVersions, type Migration, versionKey } from "../core/migration.ts";
import { quoteIdent, quoteLiteral } from "../core/sql-text.ts";
import { type Database, toDriver } from "../drivers/detect.ts";
import type { Queryable } from "../drivers/driver.ts";
import { isPGlite } from "../drivers/pglite.ts";
import { History } from "../engine/history.ts";
import { packageVersion, pgliteVersion, readCachedJson, writeCachedJson } from "./disk-cache.ts";
import { replayMigrations, type ReplayOptions } from "./replay.ts";
import { SNAPSHOT_FORMAT, snapshotSchema } from "./snapshot.ts";
import { snapshotToSql } from "./snapshot-sql.ts";

/** Which program wrote a dump. */
export type Dumper = "pglite-tools" | "pg_dump" | "snapshot";

/** Options of the dump functions. */
export interface DumpOptions extends ReplayOptions {
  /** Force one dumper; default: pglite-tools on PGlite, the server's pg_dump when its major version matches, else snapshot. */
  dumper?: Dumper;
  /** For a live server: its URL, which the server's pg_dump needs (a password is passed through PGPASSWORD). */
  url?: string;
  /** Leave the version table and its rows out (squash does: the Migrator makes the table itself). */
  withoutVersionTable?: boolean;
  /** Dump the rows of every table too, as INSERTs (squash keeps the data its migrations wrote). */
  withData?: boolean;
}

/** A dump and how it was made. */
export interface SchemaDump {
  /** The SQL text: load it into an empty database with `psql -f` or any client's multi-statement exec. */
  sql: string;
  /** `pglite-tools`, `pg_dump` or `snapshot`. */
  dumper: Dumper;
  /** Version of the dumper (pg_dump's), when there is one. */
  dumperVersion: string | null;
  /** Versions recorded in the version table, written as INSERTs at the end. */
  versions: string[];
  /** Why the default dumper was not used (pglite-tools not installed), for the caller to show; else undefined. */
  notice?: string;
}

/**
 * Dumps the schema the migrations produce: replays them into a fresh PGlite (or a scratch database) and dumps that.
 *
 * @example
 * ```ts
 * const { sql } = await dumpMigrations(await loadMigrations("./migrations"));
 * await writeFile("schema.sql", sql);
 * ```
 */
export async function dumpMigrations(migrations: readonly Migration[] = orchwfMigrations, options: DumpOptions = {}): Promise<SchemaDump> {
  // A dump of a PGlite replay is determined by the migrations and the programs: kept on disk for the next run.
  const key = options.scratchUrl ? undefined : await replayDumpKey(migrations, options);
  const cached = key && await readCachedJson<SchemaDump>(key);
  if (cached) return cached;
  const replay = await replayMigrations(migrations, options);
  try {
    const dump = await dumpDatabase(replay.pglite ?? replay.driver, { ...options, url: replay.url ?? options.url });
    if (key) await writeCachedJson(key, dump);
    return dump;
  } finally {
    await replay.close();
  }
}

async function replayDumpKey(migrations: readonly Migration[], options: DumpOptions): Promise<unknown[] | undefined> {
  const pglite = await pgliteVersion();
  const tools = await packageVersion("@electric-sql/pglite-tools", () => import.meta.resolve("@electric-sql/pglite-tools/pg_dump"));
  if (!pglite) return undefined;
  const { dumper, withData, withoutVersionTable, table, schema, placeholders } = options;
  return ["dump-replay", SNAPSHOT_FORMAT, pglite, tools ?? null, { dumper, withData, withoutVersionTable, table, schema, placeholders }, migrations.map((m) => [versionKey(m.version), checksum(m.up), m.transaction !== false])];
}

/**
 * Dumps the schema of a database (only reads it). PGlite: pg_dump in WebAssembly on the instance itself; a server:
 * its `pg_dump` when `options.url` is given and the installed pg_dump has the server's major version, else the
 * snapshot writer.
 *
 * @example
 * ```ts
 * const { sql, dumper } = await dumpDatabase(postgres(url), { url });
 * ```
 */
export async function dumpDatabase(db: Database, options: DumpOptions = {}): Promise<SchemaDump> {
  const driver = toDriver(db);
  const history = new History(options.schema, options.table ?? "orchwf_migrations");
  const [found] = await driver.query<{ schema: string | null; name: string | null; major: number | string }>(
    `SELECT n.nspname AS schema, c.relname AS name, current_setting('server_version_num')::int / 10000 AS major
       FROM (SELECT to_regclass($1) AS oid) r LEFT JOIN pg_class c ON c.oid = r.oid LEFT JOIN pg_namespace n ON n.oid = c.relnamespace`,
    [history.qualified],
  );
  const table = found?.name ? { schema: found.schema!, name: found.name } : undefined;
  const exclude = options.withoutVersionTable && table ? `${table.schema}.${table.name}` : undefined;
  const rows = table && !options.withoutVersionTable ? await history.read(driver) : [];
  rows.sort((a, b) => (/^\d+$/.test(a.version) && /^\d+$/.test(b.version) ? compareVersions(a.version, b.version) : a.version < b.version ? -1 : 1));

  let body: string;
  let dumper: Dumper;
  let dumperVersion: string | null = null;
  let notice: string | undefined;
  let choice = options.dumper ?? (isPGlite(db) ? "pglite-tools" : options.url && (await serverPgDump(Number(found.major))) ? "pg_dump" : "snapshot");
  const pgDump = choice === "pglite-tools" && isPGlite(db) ? await loadPgliteDump() : undefined;
  if (choice === "pglite-tools" && isPGlite(db) && pgDump === undefined) {
    if (options.dumper === "pglite-tools" || options.withData) {
      throw new MigrationError("USAGE", `${options.withData ? "keeping the data in a dump of PGlite" : "the pglite-tools dumper"} needs ${PGLITE_TOOLS}, which is not installed: ${INSTALL_PGLITE_TOOLS}`);
    }
    notice = `${PGLITE_TOOLS} is not installed: the snapshot dumper wrote this dump (for pg_dump's output: ${INSTALL_PGLITE_TOOLS})`;
    choice = "snapshot";
  }
  if (choice === "pglite-tools") {
    if (!isPGlite(db) || pgDump === undefined) throw new MigrationError("USAGE", "the pglite-tools dumper works on a PGlite database only");
    ({ text: body, version: dumperVersion } = await pgliteDump(pgDump, db as PGlite, exclude, options.withData === true));
    dumper = "pglite-tools";
  } else if (choice === "pg_dump") {
    const bin = await serverPgDump(Number(found.major));
    if (!options.url || !bin) {
      throw new MigrationError("USAGE", `pg_dump ${found.major} is not installed here (or no URL was given); use the snapshot dumper`);
    }
    ({ text: body, version: dumperVersion } = await runPgDump(bin.path, options.url, exclude, options.withData === true));
    dumper = "pg_dump";
  } else {
    if (options.withData) throw new MigrationError("USAGE", "the snapshot dumper writes no data; use pg_dump or PGlite");
    body = snapshotToSql(
      await snapshotSchema(driver, { excludeTables: table ? [`${table.schema}.${table.name}`] : [] }),
      table && !exclude ? await versionTableDdl(driver, table) : undefined,
    );
    dumper = "snapshot";
  }
  // pg_dump's SETs are session settings (an empty search_path above all): undo them for whoever loads the file next.
  const sql = [normalize(body).trimEnd(), "", ...insertRows(table, rows), "", "RESET ALL;"].join("\n").replace(/\n{3,}/g, "\n\n") + "\n";
  return { sql, dumper, dumperVersion, versions: rows.map((r) => r.version), ...(notice ? { notice } : {}) };
}

/** pg_dump's arguments, the same for both pg_dumps. */
function dumpArgs(excludeTable: string | undefined, withData: boolean): string[] {
  const args = ["--no-owner", "--no-privileges", "--no-tablespaces"];
  args.push(withData ? "--column-inserts" : "--schema-only");
  if (excludeTable) args.push(`--exclude-table=${excludeTable.split(".").map(quoteIdent).join(".")}`);
  return args;
}

const PGLITE_TOOLS = "@electric-sql/pglite-tools (pg_dump for PGlite)";
const INSTALL_PGLITE_TOOLS = "npm i -D @electric-sql/pglite-tools (or bun add -d, deno add npm:@electric-sql/pglite-tools)";

type PgDump = typeof import("@electric-sql/pglite-tools/pg_dump").pgDump;

/**
 * pg_dump for PGlite, or undefined when `@electric-sql/pglite-tools` is not installed. An optional peer dependency
 * (it pins one PGlite version as its own peer): loaded on demand, so only dump and squash pay for its WebAssembly
 * and a project without it keeps a single PGlite.
 */
async function loadPgliteDump(): Promise<PgDump | undefined> {
  try {
    return (await import("@electric-sql/pglite-tools/pg_dump")).pgDump;
  } catch (err) {
    if (isModuleMissing(err)) return undefined;
    throw err;
  }
}

/** A failed import because the package is not installed (each runtime words it its own way). */
function isModuleMissing(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  const message = String((err as Error)?.message ?? err);
  return code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND" ||
    (/pglite-tools/.test(message) && /cannot find|could not find|not found|failed to resolve|unable to (?:resolve|load)/i.test(message));
}

async function pgliteDump(pgDump: PgDump, pg: PGlite, excludeTable: string | undefined, withData: boolean): Promise<{ text: string; version: string | null }> {
  const file = await pgDump({ pg, args: dumpArgs(excludeTable, withData) });
  const text = await file.text();
  // pg_dump leaves its read-only transaction open on the instance it dumped, and an empty search_path.
  if (pg.isInTransaction()) await pg.exec("ROLLBACK");
  await pg.exec("RESET ALL");
  return { text, version: /-- Dumped by pg_dump version (\S+)/.exec(text)?.[1] ?? null };
}

let pgDumpProbe: Promise<{ path: string; major: number } | undefined> | undefined;

/** The installed `pg_dump` (ORCHWF_PG_DUMP or PATH), when its major version is the server's. */
async function serverPgDump(serverMajor: number): Promise<{ path: string; major: number } | undefined> {
  pgDumpProbe ??= (async () => {
    const path = process.env.ORCHWF_PG_DUMP || "pg_dump";
    const out = await run(path, ["--version"], {}).catch(() => undefined);
    const major = out === undefined ? undefined : /(\d+)(?:\.\d+)?/.exec(out.stdout)?.[1];
    return major === undefined ? undefined : { path, major: Number(major) };
  })();
  const found = await pgDumpProbe;
  return found && found.major === serverMajor ? found : undefined;
}

async function runPgDump(bin: string, url: string, excludeTable: string | undefined, withData: boolean): Promise<{ text: string; version: string | null }> {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = ""; // never on a command line (ps shows it): PGPASSWORD instead
  const env: Record<string, string> = { ...process.env as Record<string, string> };
  if (password) env.PGPASSWORD = password;
  const { stdout, stderr, code } = await run(bin, [...dumpArgs(excludeTable, withData), `--dbname=${parsed.toString()}`], env);
  if (code !== 0) throw new MigrationError("SQL_ERROR", `pg_dump failed (exit ${code}): ${stderr.trim()}`);
  return { text: stdout, version: /-- Dumped by pg_dump version (\S+)/.exec(stdout)?.[1] ?? null };
}

function run(cmd: string, args: string[], env: Record<string, string>): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: Object.keys(env).length ? env : undefined, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code) => resolve({ stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), code: code ?? 1 }));
  });
}

/**
 * The same text on every run and machine, loadable by any client on PostgreSQL 12 and later: no version banner,
 * no psql-only `\restrict` lines (their key is random), no settings older servers do not know.
 */
function normalize(text: string): string {
  return text
    .replace(/\r\n/g, "\n")
    .split("\n")
    .filter((line) =>
      !/^-- Dumped (from database|by pg_dump) version /.test(line) && !/^\\(un)?restrict\b/.test(line) &&
      !/^SET transaction_timeout = /.test(line)
    )
    .join("\n")
    .replace(/\n{3,}/g, "\n\n");
}

/** The version table's rows as INSERTs: version, description and checksum (times differ per run, so they are left out). */
function insertRows(table: { schema: string; name: string } | undefined, rows: { version: string; description: string | null; checksum: string | null }[]): string[] {
  if (!table || rows.length === 0) return [];
  const target = `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
  const lit = (v: string | null) => (v === null ? "NULL" : quoteLiteral(v));
  return [
    "--",
    `-- Applied migrations (${rows.length}): the version table's rows`,
    "--",
    "",
    ...rows.map((r) => `INSERT INTO ${target} (version, description, checksum) VALUES (${lit(r.version)}, ${lit(r.description)}, ${lit(r.checksum)});`),
  ];
}

/** The version table's own definition, for the snapshot writer (snapshots leave it out of comparisons, a dump needs it). */
async function versionTableDdl(q: Queryable, table: { schema: string; name: string }): Promise<string> {
  const snapshot = await snapshotSchema(q, { schemas: [table.schema] });
  const prefix = `${table.schema}.${table.name}`;
  const own = snapshot.objects.filter((o) =>
    (o.kind === "table" && o.name === prefix) || ((o.kind === "column" || o.kind === "constraint") && o.name.startsWith(`${prefix}.`))
  );
  return snapshotToSql({ schemas: [table.schema], objects: own }).trim();
}
