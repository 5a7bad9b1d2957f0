/**
 * Which database the CLI talks to, and opening it: `--db`, else ORCHWF_DB_URL, else DATABASE_URL, else the
 * embedded default (PGlite in ./.orchwf/pgdata). postgres:// URLs go through postgres.js; pglite: URLs open
 * PGlite in-process, loaded only then (a Postgres-only run never pays for the WebAssembly).
 * @module
 */
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import process from "node:process";
import postgres from "postgres";
import { ConnectionError, MigrationError } from "../core/errors.ts";
import { toConnectionError } from "../migrator.ts";
import { maskUrl, parsePostgresUrl, type PostgresTarget } from "./postgres-url.ts";
import { createConnection } from "node:net";
import { lockDirectory } from "./pglite-lock.ts";
import { pgliteAssets } from "./pglite-assets.ts";

export { maskUrl, urlSecrets } from "./postgres-url.ts";

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
  /** Lets go of the database: waits a few seconds for queries still running, or none when `now`. */
  close(options?: { now?: boolean }): Promise<void>;
}

/** How to open it. */
export interface OpenOptions {
  /** Keep retrying a refused connection (a database still starting) until this deadline (epoch ms). */
  waitUntil?: number;
  /** Told once, when the first attempt failed and `waitUntil` makes it retry: why it failed. */
  onWait?: (why: string) => void;
  /** Connect timeout of one attempt, in seconds. */
  connectTimeoutSeconds?: number;
  /** pglite: URLs only: the `extensions` option of PGlite.create (see sources/extensions.ts). */
  extensions?: Record<string, unknown>;
  /**
   * pglite: URLs only: the database must exist already (`NO_DATABASE` otherwise), for the commands that only read
   * or undo: a typo in the path must not create a directory and a new, empty database.
   */
  mustExist?: boolean;
  /**
   * Aborted when the run must stop (--timeout, a signal) while it is still connecting: the attempt is dropped at
   * once (a server that accepts TCP and never answers would otherwise hold the process until connect_timeout).
   */
  stop?: AbortSignal;
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
  if (/^pglite:/i.test(url)) return await openPGlite(url.slice("pglite:".length), options.extensions, options.mustExist);
  throw new MigrationError(
    "USAGE",
    `unsupported database URL ${maskUrl(url)}: expected postgres://…, postgresql://…, pglite:PATH or pglite:memory`,
  );
}

async function openPostgres(url: string, options: OpenOptions): Promise<OpenDatabase> {
  const target = parsePostgresUrl(url, process.env); // masks the password before anything else
  const connect = (ssl: PostgresTarget["ssl"]) =>
    postgres({
      // Arrays, one entry per host (postgres.js takes them, though its types say otherwise): a string would be
      // split at ":" by postgres.js, which breaks IPv6 addresses.
      host: target.hosts as unknown as string,
      port: target.ports as unknown as number,
      path: target.socket,
      database: target.database,
      user: target.user,
      pass: target.password,
      ssl: ssl as postgres.Options<Record<string, never>>["ssl"],
      connection: target.settings,
      target_session_attrs: target.targetSessionAttrs as postgres.Options<Record<string, never>>["target_session_attrs"],
      // Two: the run uses one; a stop (Ctrl-C, --timeout) cancels its statement through the other at once.
      max: 2,
      onnotice: () => {},
      connect_timeout: options.connectTimeoutSeconds ?? target.connectTimeoutSeconds ?? 10,
      idle_timeout: 0,
      max_lifetime: null,
      // No round trip for the server's array types: none of our queries returns an array (migrations' own results
      // are never read), and the fetch was a tenth of a `status`.
      fetch_types: false,
    });
  let ssl = target.ssl;
  let waited = false;
  for (;;) {
    const sql = connect(ssl);
    const close = (how?: { now?: boolean }) => sql.end({ timeout: how?.now ? 0 : 5 });
    const drop = () => void close({ now: true }).catch(() => {});
    options.stop?.addEventListener("abort", drop);
    try {
      await sql`select 1`;
      return { db: sql, label: target.label, secrets: target.secrets, close };
    } catch (err) {
      await close({ now: true }).catch(() => {});
      // sslmode=allow: libpq starts unencrypted and tries again with encryption when the server demands it.
      if (target.sslmode === "allow" && ssl === false && /no encryption/i.test(String((err as Error)?.message))) {
        ssl = { rejectUnauthorized: false };
        continue;
      }
      const connection = toConnectionError(err) ?? (isTlsFailure(err) ? new ConnectionError(String((err as Error).message), err) : undefined);
      const retry = connection && options.waitUntil !== undefined && Date.now() + 500 < options.waitUntil;
      if (!retry) {
        if (!connection) throw err;
        const why = await sslRefusal(target, err);
        throw new ConnectionError(`${why ?? connection.message} (${target.label})`, err);
      }
      if (!waited) options.onWait?.(connection.message);
      waited = true;
      await new Promise((r) => setTimeout(r, 500));
    } finally {
      options.stop?.removeEventListener("abort", drop);
    }
  }
}

/** Errors of the TLS layer (certificate checks, a server that speaks no TLS) are connection failures too. */
function isTlsFailure(err: unknown): boolean {
  const code = String((err as { code?: unknown })?.code ?? "");
  return /^(ERR_TLS|ERR_SSL|CERT_|UNABLE_TO|SELF_SIGNED|DEPTH_ZERO|ERR_OSSL)/.test(code) ||
    /TLS|SSL|certificate|socket disconnected/i.test(String((err as Error)?.message));
}

/**
 * When encryption was required and connecting failed, says so plainly if the reason is that the server does not
 * speak SSL at all (postgres.js then fails with an opaque socket error). Asks the server once (SSLRequest).
 */
async function sslRefusal(target: PostgresTarget, err: unknown): Promise<string | undefined> {
  if (target.socket || !["require", "verify-ca", "verify-full"].includes(target.sslmode)) return undefined;
  if (/certificate|self.signed|unable to verify|hostname|altnames/i.test(String((err as Error)?.message))) {
    return `cannot connect to the database: the server's certificate was rejected (sslmode=${target.sslmode}): ${(err as Error).message}`;
  }
  const host = target.hosts[0];
  const port = target.ports[0];
  const answer = await new Promise<string | undefined>((resolve) => {
    const socket = createConnection({ host, port });
    const done = (value: string | undefined) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(3000, () => done(undefined));
    socket.once("error", () => done(undefined));
    socket.once("connect", () => socket.write(new Uint8Array([0, 0, 0, 8, 4, 210, 22, 47]))); // SSLRequest
    socket.once("data", (data: Uint8Array) => done(String.fromCharCode(data[0])));
  });
  if (answer !== "N") return undefined;
  return `cannot connect to the database: the server at ${host.includes(":") ? `[${host}]` : host}:${port} does not support SSL, ` +
    `but the URL asks for sslmode=${target.sslmode}; enable SSL on the server, or use sslmode=prefer (encrypt when possible) or sslmode=disable`;
}

async function openPGlite(path: string, extensions?: Record<string, unknown>, mustExist = false): Promise<OpenDatabase> {
  if (mustExist && path !== "memory" && path !== "") refuseMissingPGlite(path);
  const { PGlite } = await import("@electric-sql/pglite");
  const assets = { ...(await pgliteAssets()), ...(extensions ? { extensions: extensions as never } : {}) };
  // A new database starts from initdb's kept output (schema/scratch-pglite.ts): seconds saved on every new one.
  const { scratchPGlite } = await import("../schema/scratch-pglite.ts");
  if (path === "memory" || path === "") {
    const db = await scratchPGlite({ ...assets });
    return { db, label: "pglite:memory", secrets: [], close: () => db.close() };
  }
  const dir = resolve(path);
  const lock = lockDirectory(dir); // creates it; clear errors for a read-only place or a file in the way
  try {
    const fresh = !existsSync(join(lock.dir, "PG_VERSION"));
    const db = fresh ? await scratchPGlite({ dataDir: lock.dir, ...assets }) : await PGlite.create({ dataDir: lock.dir, ...assets });
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

/**
 * Refuses (`NO_DATABASE`) a PGlite path with no database in it: a directory that does not exist, or one without
 * PostgreSQL's PG_VERSION file (empty, or something else). Creates nothing.
 */
function refuseMissingPGlite(path: string): void {
  const dir = resolve(path);
  const why = !existsSync(dir)
    ? "the directory does not exist"
    : !statSync(dir).isDirectory()
    ? undefined // a file in the way: the lock's own USAGE error says so
    : !existsSync(join(dir, "PG_VERSION"))
    ? "the directory holds no database (no PG_VERSION file)"
    : undefined;
  if (why === undefined) return;
  throw new MigrationError(
    "NO_DATABASE",
    `no PGlite database at ${dir} (--db pglite:${path}): ${why}; this command only works on an existing database and creates none. ` +
      `Check the path, or create the database with orchwf-migrate up (or baseline)`,
    { file: dir },
  );
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
