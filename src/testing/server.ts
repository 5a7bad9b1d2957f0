/**
 * Test databases on a real PostgreSQL server: the template-database pattern. The migrations run once into a
 * template database named after a hash of what makes the schema (versions, checksums, table, schema, server
 * version); every test database is then `CREATE DATABASE test_x TEMPLATE tpl`, a file copy on the server.
 * Building takes a cluster-wide advisory lock, so parallel workers and processes build each template once.
 * @module
 */
import { createHash } from "node:crypto";
import process from "node:process";
import postgres from "postgres";
import { orchwfMigrations } from "../builtin.ts";
import { ConnectionError, MigrationError } from "../core/errors.ts";
import { checksum, type Migration, validateMigrations } from "../core/migration.ts";
import { quoteIdent, quoteLiteral } from "../core/sql-text.ts";
import { Migrator, toConnectionError } from "../migrator.ts";

/** Options of `createServerTestDatabase`. */
export interface ServerTestDatabaseOptions<Client = postgres.Sql> {
  /** URL of the PostgreSQL server (any database on it; the user must be allowed to CREATE DATABASE). */
  url: string;
  /** Migrations to apply; default the built-in OrchWF schema. Pass `[...orchwfMigrations, ...yours]` for both. */
  migrations?: readonly Migration[];
  /** Version table name; default `orchwf_migrations`. */
  table?: string;
  /** Schema of the version table and of the migrations. */
  schema?: string;
  /**
   * Opens the client your code uses on the test database's URL; default postgres.js (`postgres(url)`).
   * E.g. `(url) => new pg.Pool({ connectionString: url })` or `(url) => new Bun.SQL(url)`. It is closed with
   * `end()` (postgres.js, pg) or `close()` (Bun SQL) before the database is dropped.
   */
  connect?: (url: string) => Client | Promise<Client>;
  /**
   * Templates of one family replace each other: building a new one drops the family's templates of other
   * hashes. Default `table` and `schema`; give each migration set its own family if several run at once.
   */
  family?: string;
  /** Prefix of every database name made here; default `orchwf_test`. */
  prefix?: string;
  /**
   * PostgreSQL 15+'s `CREATE DATABASE ... STRATEGY`: `"wal_log"` (the server's default) copies page by page through
   * the WAL, `"file_copy"` copies the files after a checkpoint: often faster for larger templates, on servers with
   * fsync off. Default: the server's.
   */
  strategy?: "wal_log" | "file_copy";
  /** Told when this process built a template (not when it found one): its name and how long migrating took. */
  onTemplateBuilt?: (info: { template: string; ms: number }) => void;
}

/** One test database on the server; `close()` (or `await using`) drops it. */
export interface ServerTestDatabase<Client = postgres.Sql> {
  /** The client, connected to this database. */
  readonly sql: Client;
  /** URL of this database (the server URL with its name). */
  readonly url: string;
  /** The database's name. */
  readonly name: string;
  /** The template it was cloned from. */
  readonly template: string;
  /** Closes the client and drops the database. */
  close(): Promise<void>;
  /** The same as `close()`, for `await using db = await createServerTestDatabase(...)`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Admin connections (one session each), by server URL. */
const admins = new Map<string, postgres.Sql>();
/** Templates known to exist, by server URL and key; a failed build is removed so the next call builds again. */
const templates = new Map<string, Promise<string>>();
let counter = 0;

/**
 * A new database on a real PostgreSQL server with every migration applied, for one test: a clone of a
 * template migrated once (per set of migrations and server) under an advisory lock, so that parallel test
 * processes build it once. Close it when done; it is dropped.
 *
 * @example
 * ```ts
 * import { createServerTestDatabase } from "@orchwf/migrate/testing";
 * await using db = await createServerTestDatabase({ url: process.env.TEST_DATABASE_URL! });
 * await db.sql`INSERT INTO orchwf_workflow_instances (id, workflow_id) VALUES ('w1', 'flow')`;
 * ```
 */
export function createServerTestDatabase(options: ServerTestDatabaseOptions<postgres.Sql> & { connect?: undefined }): Promise<ServerTestDatabase<postgres.Sql>>;
/**
 * The same with the client `connect` opens (pg, Bun SQL, ...).
 *
 * @example
 * ```ts
 * import pg from "pg";
 * const db = await createServerTestDatabase({ url, connect: (u) => new pg.Pool({ connectionString: u }) });
 * try { await db.sql.query("SELECT 1"); } finally { await db.close(); }
 * ```
 */
export function createServerTestDatabase<Client>(options: ServerTestDatabaseOptions<Client>): Promise<ServerTestDatabase<Client>>;
export async function createServerTestDatabase<Client>(options: ServerTestDatabaseOptions<Client>): Promise<ServerTestDatabase<Client>> {
  const server = parseServerUrl(options.url);
  const migrations = validateMigrations(options.migrations ?? orchwfMigrations);
  const prefix = options.prefix ?? "orchwf_test";
  if (!/^[a-z_][a-z0-9_]{0,29}$/.test(prefix)) throw new MigrationError("USAGE", `prefix must be a lower-case identifier of at most 30 characters, not ${JSON.stringify(prefix)}`);
  const admin = adminFor(options.url);
  const template = await templateFor(admin, options.url, migrations, options, prefix);
  const name = `${prefix}_${process.pid}_${++counter}_${Math.random().toString(36).slice(2, 8)}`;
  const strategy = options.strategy === undefined ? "" : ` STRATEGY ${options.strategy === "file_copy" ? "FILE_COPY" : "WAL_LOG"}`;
  await clone(admin, name, template, strategy, () => templateFor(admin, options.url, migrations, options, prefix, true));
  server.pathname = `/${name}`;
  const url = server.toString();
  let client: Client;
  try {
    client = options.connect ? await options.connect(url) : postgres(url, { onnotice: () => {} }) as Client;
  } catch (err) {
    await drop(admin, name);
    throw err;
  }
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      try {
        await closeClient(client);
      } finally {
        await drop(admin, name);
      }
    })();
  return { sql: client, url, name, template, close, [Symbol.asyncDispose]: close };
}

/**
 * Closes the admin connections `createServerTestDatabase` keeps (one per server URL) and forgets the templates
 * it knows of (they stay on the server for the next run). Call it once at the end of a test file if your runner
 * waits for open sockets.
 *
 * @example
 * ```ts
 * after(() => closeServerTestDatabases());
 * ```
 */
export async function closeServerTestDatabases(): Promise<void> {
  const all = [...admins.values()];
  admins.clear();
  templates.clear();
  versions.clear();
  await Promise.all(all.map((a) => a.end({ timeout: 5 })));
}

/**
 * The template's name for a set of migrations: `<prefix>_tpl_<hash>` where the hash covers the versions,
 * checksums, transaction flags, table, schema and the server's version.
 *
 * @example
 * ```ts
 * templateName(orchwfMigrations, { table: "orchwf_migrations" }, 150004); // "orchwf_test_tpl_3f2a…"
 * ```
 */
export function templateName(
  migrations: readonly Migration[],
  options: { table?: string; schema?: string; prefix?: string },
  serverVersionNum: number,
): string {
  const hash = createHash("sha256").update(JSON.stringify([
    1, // the layout of this key
    options.table ?? "orchwf_migrations",
    options.schema ?? null,
    serverVersionNum,
    migrations.map((m) => [BigInt(m.version).toString(), checksum(m.up), m.transaction !== false]),
  ])).digest("hex").slice(0, 20);
  return `${options.prefix ?? "orchwf_test"}_tpl_${hash}`;
}

function parseServerUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MigrationError("USAGE", `createServerTestDatabase needs a postgres:// URL, not ${JSON.stringify(url)}`);
  }
  if (!/^postgres(ql)?:$/.test(parsed.protocol)) {
    throw new MigrationError("USAGE", `createServerTestDatabase needs a postgres:// URL, not ${JSON.stringify(url)}`);
  }
  return parsed;
}

function adminFor(url: string): postgres.Sql {
  let admin = admins.get(url);
  if (!admin) {
    // One session: CREATE/DROP DATABASE run one at a time anyway. Idle for 2 s, it lets go (so runners exit).
    admin = postgres(url, { max: 1, onnotice: () => {}, idle_timeout: 2, connect_timeout: 10 });
    admins.set(url, admin);
  }
  return admin;
}

/** Runs admin SQL; "cannot reach the server" becomes a ConnectionError that names the (masked) URL. */
async function adminQuery<T extends object[]>(admin: postgres.Sql, text: string): Promise<T> {
  try {
    return await admin.unsafe(text) as unknown as T;
  } catch (err) {
    const connection = toConnectionError(err);
    // ConnectionError masks the URL's password: the URL is quoted here as the user wrote it.
    if (connection) throw new ConnectionError(`${connection.message} (test database server ${urlOf(admin)})`, err);
    throw err;
  }
}

function urlOf(admin: postgres.Sql): string {
  for (const [url, a] of admins) if (a === admin) return url;
  return "";
}

async function templateFor(
  admin: postgres.Sql,
  url: string,
  migrations: Migration[],
  options: ServerTestDatabaseOptions<unknown>,
  prefix: string,
  rebuild = false,
): Promise<string> {
  const name = templateName(migrations, { ...options, prefix }, await serverVersion(admin, url));
  const key = `${url}\n${name}`;
  let known = templates.get(key);
  if (!known || rebuild) {
    known = ensureTemplate(admin, url, name, migrations, options, prefix);
    templates.set(key, known);
    // Never cache a failure: the next call builds (and reports) again.
    known.catch(() => templates.delete(key));
  }
  return await known;
}

/** server_version_num, asked once per server URL (a round trip saved on every later call). */
const versions = new Map<string, Promise<number>>();
function serverVersion(admin: postgres.Sql, url: string): Promise<number> {
  let known = versions.get(url);
  if (!known) {
    known = adminQuery<{ v: string }[]>(admin, "SELECT current_setting('server_version_num') AS v").then((rows) => Number(rows[0].v));
    versions.set(url, known);
    known.catch(() => versions.delete(url));
  }
  return known;
}

/** Finds or builds the template under a cluster-wide advisory lock (all processes, all workers). */
async function ensureTemplate(
  admin: postgres.Sql,
  url: string,
  name: string,
  migrations: Migration[],
  options: ServerTestDatabaseOptions<unknown>,
  prefix: string,
): Promise<string> {
  const isReady = `SELECT 1 FROM pg_database WHERE datname = ${quoteLiteral(name)} AND datistemplate`;
  if ((await adminQuery<object[]>(admin, isReady)).length > 0) return name;
  const lockKey = `hashtext(${quoteLiteral(`orchwf-test-template:${name}`)})`;
  const session = await admin.reserve();
  try {
    await session.unsafe(`SELECT pg_advisory_lock(${lockKey})`);
    try {
      if ((await session.unsafe(isReady)).length > 0) return name; // another process built it while we waited
      // A half-built one (its builder died) is not a template yet: start over.
      await session.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
      await session.unsafe(`CREATE DATABASE ${quoteIdent(name)}`);
      const target = new URL(url);
      target.pathname = `/${name}`;
      const db = postgres(target.toString(), { max: 1, onnotice: () => {} });
      const started = performance.now();
      try {
        await new Migrator(db, { migrations, table: options.table, schema: options.schema }).migrate();
      } catch (err) {
        await db.end({ timeout: 5 });
        await session.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
        throw err;
      }
      await db.end({ timeout: 5 });
      const family = options.family ?? `${options.schema ?? ""}.${options.table ?? "orchwf_migrations"}`;
      await session.unsafe(`COMMENT ON DATABASE ${quoteIdent(name)} IS ${quoteLiteral(`orchwf test template; family ${family}`)}`);
      // A template: cloned by file copy, and nobody may connect to it (a connection would block every clone).
      await session.unsafe(`ALTER DATABASE ${quoteIdent(name)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
      await dropStale(session, name, prefix, family);
      options.onTemplateBuilt?.({ template: name, ms: performance.now() - started });
      return name;
    } finally {
      await session.unsafe(`SELECT pg_advisory_unlock(${lockKey})`).catch(() => {});
    }
  } finally {
    session.release();
  }
}

/** Drops the family's templates of other hashes (older migrations); one still being cloned is left for next time. */
async function dropStale(session: postgres.ReservedSql, current: string, prefix: string, family: string): Promise<void> {
  const stale = await session.unsafe<{ datname: string }[]>(
    `SELECT d.datname FROM pg_database d JOIN pg_shdescription s ON s.objoid = d.oid AND s.classoid = 'pg_database'::regclass
     WHERE d.datistemplate AND d.datname LIKE ${quoteLiteral(`${prefix}_tpl_%`)} AND d.datname <> ${quoteLiteral(current)}
       AND s.description = ${quoteLiteral(`orchwf test template; family ${family}`)}`,
  );
  for (const { datname } of stale) {
    try {
      await session.unsafe(`ALTER DATABASE ${quoteIdent(datname)} WITH IS_TEMPLATE false`);
      await session.unsafe(`DROP DATABASE IF EXISTS ${quoteIdent(datname)}`);
    } catch {
      // In use this very moment: the next build drops it.
    }
  }
}

/** CREATE DATABASE name TEMPLATE template; if the template vanished (dropped as stale by another process), rebuild once. */
async function clone(admin: postgres.Sql, name: string, template: string, strategy: string, rebuild: () => Promise<string>): Promise<void> {
  try {
    await adminQuery(admin, `CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}${strategy}`);
  } catch (err) {
    if ((err as { code?: string }).code !== "3D000") throw err;
    await adminQuery(admin, `CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(await rebuild())}${strategy}`);
  }
}

async function drop(admin: postgres.Sql, name: string): Promise<void> {
  await adminQuery(admin, `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
}

async function closeClient(client: unknown): Promise<void> {
  const c = client as { end?: (o?: unknown) => Promise<void>; close?: () => Promise<void> };
  if (typeof c.end === "function") await c.end();
  else if (typeof c.close === "function") await c.close();
}
