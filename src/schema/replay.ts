/**
 * Replay: a throwaway database with migrations applied, to learn what schema they produce. By default an
 * in-process PGlite (loaded lazily); with `scratchUrl`, a database created for the occasion on that server and
 * dropped afterwards, for SQL PGlite cannot run (extensions it lacks, server-specific features).
 * @module
 */
import type { PGlite } from "@electric-sql/pglite";
import { MigrationError } from "../core/errors.ts";
import { type Migration, validateMigrations, withoutTransactionWrapper } from "../core/migration.ts";
import { quoteIdent } from "../core/sql-text.ts";
import { toDriver } from "../drivers/detect.ts";
import type { Driver } from "../drivers/driver.ts";
import { History } from "../engine/history.ts";
import { Migrator } from "../migrator.ts";
import { extensionsFor, type PGliteExtension } from "../sources/extensions.ts";
import { scratchPGlite } from "./scratch-pglite.ts";

/** Options of `replayMigrations`. */
export interface ReplayOptions {
  /** Version table name (default `orchwf_migrations`) and schema, as for the Migrator. */
  table?: string;
  schema?: string;
  /** A server to replay on instead of PGlite: a database is created there (CREATEDB needed) and dropped at the end. */
  scratchUrl?: string;
  /**
   * Makes the PGlite instance, with the extensions the migrations create (the CLI's single binary passes its
   * embedded assets). Default: an empty PGlite from initdb's cached output (`scratchPGlite`).
   */
  createPGlite?: (options: { extensions: Record<string, PGliteExtension> }) => Promise<PGlite>;
  /** Values of `${name}` placeholders, as for the Migrator. */
  placeholders?: Readonly<Record<string, string>>;
}

/** A replayed database: query it, then close it (which drops a scratch database). */
export interface Replay {
  /** The database, as a Driver. */
  driver: Driver;
  /** The PGlite instance, when replayed on PGlite (for pg_dump in WebAssembly). */
  pglite?: PGlite;
  /** A URL of the scratch database (replays on a server only), for the server's pg_dump. */
  url?: string;
  /** "pglite (in memory)" or the scratch server's URL without password. */
  label: string;
  /** The version table as `schema.table`, to leave out of snapshots. */
  versionTable: string;
  close(): Promise<void>;
}

/**
 * Applies `migrations` (in version order) to a fresh throwaway database and returns it, open.
 *
 * @example
 * ```ts
 * const replay = await replayMigrations(await loadMigrations("./migrations"));
 * try { console.log(snapshotToText(await snapshotSchema(replay.driver))); } finally { await replay.close(); }
 * ```
 */
export async function replayMigrations(migrations: readonly Migration[], options: ReplayOptions = {}): Promise<Replay> {
  const replay = options.scratchUrl ? await openScratch(options.scratchUrl) : await openPGlite(migrations, options.createPGlite);
  try {
    const history = new History(options.schema, options.table ?? "orchwf_migrations");
    await replay.driver.transaction((tx) => history.ensure(tx));
    if (migrations.length > 0 && !(await replayAtOnce(replay.driver, migrations, history, options.schema))) {
      // One by one, as `up` does: the failing migration is named with its file, line and column.
      await new Migrator(replay.driver, { migrations, table: options.table, schema: options.schema, placeholders: options.placeholders }).migrate({ allowDrift: true });
    }
    const [row] = await replay.driver.query<{ name: string }>(
      `SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.oid = to_regclass($1)`,
      [history.qualified],
    );
    return { ...replay, versionTable: row.name };
  } catch (err) {
    await replay.close().catch(() => {});
    throw err;
  }
}

/**
 * The fast path: every script and its version-table row in one transaction and one round trip (a throwaway
 * database needs no lock and no per-migration commit). False, with everything rolled back, when a migration runs
 * outside a transaction or anything fails: the caller then replays one by one for a precise error.
 */
async function replayAtOnce(driver: Driver, migrations: readonly Migration[], history: History, schema?: string): Promise<boolean> {
  // Transaction-local settings would reach the later scripts here, unlike one transaction per migration.
  if (migrations.some((m) => m.transaction === false || /\bSET\s+LOCAL\b|\bset_config\s*\(/i.test(m.up))) return false;
  // Placeholders are replaced by the Migrator (values, built-ins): those run one by one.
  if (migrations.some((m) => m.placeholders !== undefined && (m.placeholders === "goose" || m.up.includes("${")))) return false;
  const sorted = validateMigrations(migrations);
  const parts = schema === undefined ? [] : [`SET LOCAL search_path TO ${quoteIdent(schema)}`];
  for (const m of sorted) parts.push(await withoutTransactionWrapper(m.up, m.source?.up), history.recordStatement(m));
  try {
    // "\n;\n" ends a script whose last line is a comment or has no semicolon.
    await driver.transaction((tx) => tx.exec(parts.join("\n;\n")));
    return true;
  } catch {
    return false;
  }
}

/** How a replay on PGlite is labelled in reports. */
export const PGLITE_LABEL = "pglite (in memory)";

async function openPGlite(migrations: readonly Migration[], create: ReplayOptions["createPGlite"]): Promise<Omit<Replay, "versionTable">> {
  // The extensions the migrations create (pg_trgm, ltree…) are loaded; one PGlite lacks is refused naming its file.
  const extensions = await extensionsFor(migrations);
  const pglite = create ? await create({ extensions }) : await scratchPGlite({ extensions });
  return { driver: toDriver(pglite), pglite, label: PGLITE_LABEL, close: () => pglite.close() };
}

async function openScratch(serverUrl: string): Promise<Omit<Replay, "versionTable">> {
  const { default: postgres } = await import("postgres");
  let url: URL;
  try {
    url = new URL(serverUrl);
  } catch {
    // Nothing of the URL is quoted: an unencoded "/", "?" or "#" in the password is what usually breaks it.
    throw new MigrationError(
      "USAGE",
      "invalid --scratch URL (not shown, it may hold a password): expected postgres://user@host:5432/db; percent-encode the user name and password (/ as %2F, ? as %3F, # as %23, @ as %40), or leave the password out of the URL and set PGPASSWORD",
    );
  }
  const name = `orchwf_scratch_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    await admin.unsafe(`CREATE DATABASE ${quoteIdent(name)}`);
  } catch (err) {
    await admin.end({ timeout: 5 });
    throw new MigrationError(
      "USAGE",
      `cannot create a scratch database on the --scratch server: ${(err as Error).message} (the user needs CREATEDB)`,
      { cause: err },
    );
  }
  url.pathname = `/${name}`;
  const sql = postgres(url.toString(), { max: 1, onnotice: () => {}, connect_timeout: 10 });
  const label = `${url.protocol}//${url.username ? `${url.username}@` : ""}${url.host}/${name} (scratch, dropped after)`;
  return {
    driver: toDriver(sql),
    url: url.toString(),
    label,
    async close() {
      await sql.end({ timeout: 5 });
      try {
        await admin.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
      } finally {
        await admin.end({ timeout: 5 });
      }
    },
  };
}
