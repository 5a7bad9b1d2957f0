/**
 * Which database the CLI talks to, and opening it: `--db`, else ORCHWF_DB_URL, else DATABASE_URL, else the
 * embedded default (PGlite in ./.orchwf/pgdata). postgres:// URLs go through postgres.js; pglite: URLs open
 * PGlite in-process, loaded only then (a Postgres-only run never pays for the WebAssembly).
 * @module
 */
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import process from "node:process";
import postgres from "postgres";
import { ConnectionError, MigrationError } from "../core/errors.ts";
import { toConnectionError } from "../migrator.ts";
import { redactUrl } from "../core/redact.ts";
import { lockDirectory } from "./pglite-lock.ts";
import { pgliteAssets } from "./pglite-assets.ts";

/** The embedded default's URL. */
export const DEFAULT_DB_URL = "pglite:./.orchwf/pgdata";

/** A database URL and where it came from. */
export interface DbChoice {
  url: string;
  source: "--db" | "ORCHWF_DB_URL" | "DATABASE_URL" | "default";
}

/**
 * Picks the database URL from the flag, then the environment, then the embedded default.
 *
 * @example
 * ```ts
 * chooseDatabase(undefined, { DATABASE_URL: "postgres://localhost/app" }); // { url: "postgres://localhost/app", source: "DATABASE_URL" }
 * ```
 */
export function chooseDatabase(flag: string | undefined, env: Record<string, string | undefined>): DbChoice {
  if (flag) return { url: flag, source: "--db" };
  if (env.ORCHWF_DB_URL) return { url: env.ORCHWF_DB_URL, source: "ORCHWF_DB_URL" };
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, source: "DATABASE_URL" };
  return { url: DEFAULT_DB_URL, source: "default" };
}

/** An open database and how to let go of it. */
export interface OpenDatabase {
  /** The client, for `new Migrator(db)`. */
  db: object;
  /** The URL with its password masked, for messages. */
  label: string;
  /** Passwords to mask in any message (drivers sometimes quote them). */
  secrets: string[];
  close(): Promise<void>;
}

/** How to open it. */
export interface OpenOptions {
  /** Keep retrying a refused connection (a database still starting) until this deadline (epoch ms). */
  waitUntil?: number;
  /** Connect timeout of one attempt, in seconds. */
  connectTimeoutSeconds?: number;
  /** pglite: URLs only: the `extensions` option of PGlite.create (see sources/extensions.ts). */
  extensions?: Record<string, unknown>;
}

/**
 * Opens the database a URL names and checks that it answers.
 *
 * @example
 * ```ts
 * const { db, close } = await openDatabase("pglite:memory");
 * try { await new Migrator(db).migrate(); } finally { await close(); }
 * ```
 */
export async function openDatabase(url: string, options: OpenOptions = {}): Promise<OpenDatabase> {
  if (/^postgres(ql)?:\/\//i.test(url)) return await openPostgres(url, options);
  if (/^pglite:/i.test(url)) return await openPGlite(url.slice("pglite:".length), options.extensions);
  throw new MigrationError(
    "USAGE",
    `unsupported database URL ${redactUrl(url)}: expected postgres://…, postgresql://…, pglite:PATH or pglite:memory`,
  );
}

async function openPostgres(url: string, options: OpenOptions): Promise<OpenDatabase> {
  let password = "";
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    throw new MigrationError("USAGE", `invalid database URL ${redactUrl(url)}`);
  }
  const sql = postgres(url, {
    max: 1, // one session: a CLI runs one thing at a time, and a script with its own BEGIN needs it
    onnotice: () => {},
    connect_timeout: options.connectTimeoutSeconds ?? 10,
    idle_timeout: 0,
    max_lifetime: null,
  });
  const close = () => sql.end({ timeout: 5 });
  for (;;) {
    try {
      await sql`select 1`;
      break;
    } catch (err) {
      const connection = toConnectionError(err);
      const retry = connection && options.waitUntil !== undefined && Date.now() + 500 < options.waitUntil;
      if (!retry) {
        await close().catch(() => {});
        if (!connection) throw err;
        throw new ConnectionError(`${connection.message} (${redactUrl(url)})`, err);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  return { db: sql, label: redactUrl(url), secrets: password ? [password] : [], close };
}

async function openPGlite(path: string, extensions?: Record<string, unknown>): Promise<OpenDatabase> {
  const { PGlite } = await import("@electric-sql/pglite");
  const assets = { ...(await pgliteAssets()), ...(extensions ? { extensions: extensions as never } : {}) };
  if (path === "memory" || path === "") {
    const db = await PGlite.create({ ...assets });
    return { db, label: "pglite:memory", secrets: [], close: () => db.close() };
  }
  const dir = resolve(path);
  mkdirSync(dir, { recursive: true });
  const lock = lockDirectory(dir);
  try {
    const db = await PGlite.create({ dataDir: dir, ...assets });
    return {
      db,
      label: `pglite:${path}`,
      secrets: [],
      async close() {
        try {
          await db.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (err) {
    lock.release();
    throw new ConnectionError(`cannot open the PGlite database in ${dir}: ${(err as Error).message}`, err);
  }
}

/** Makes sure the lock of a PGlite directory goes when the process is stopped (Ctrl-C). */
export function releaseOnSignal(close: () => Promise<void>): () => void {
  const onSignal = () => {
    close().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  return () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
}
