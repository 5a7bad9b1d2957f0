/**
 * Test databases on a real PostgreSQL server: the template-database pattern. The migrations run once into a
 * template database named after a hash of what makes the schema (versions, checksums, table, schema, server
 * version); every test database is then `CREATE DATABASE test_x TEMPLATE tpl`, a file copy on the server.
 * Building takes a cluster-wide advisory lock, so parallel workers and processes build each template once.
 * The next clone is made in the background while a test runs (as IntegreSQL does), so a test waits only for its
 * client to connect; databases a dead process left behind are dropped by the next run on the same machine.
 * @module
 */
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import process from "node:process";
import postgres from "postgres";
import { orchwfMigrations } from "../builtin.ts";
import { ConnectionError, MigrationError } from "../core/errors.ts";
import { checksum, type Migration, validateMigrations, versionKey } from "../core/migration.ts";
import { bootId, pidExists } from "../core/process-identity.ts";
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
  /**
   * Clone the next database in the background while this one is in use, so the next test does not wait for
   * `CREATE DATABASE`. Default: when the server runs with `fsync=off` (a test server), where it halves the cost
   * per test; with fsync on, the `DROP DATABASE` of a test then has to write that clone to disk (its checkpoint),
   * which costs more than the wait saved (BENCHMARKS.md). The clone no test took is dropped by
   * `closeServerTestDatabases()`, when the process is about to exit, or by the next run.
   */
  prepare?: boolean;
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

/** Admin connections, by server URL: two sessions, so a background clone does not hold up a test's drop. */
const admins = new Map<string, postgres.Sql>();
/** Templates known to exist, by server URL and key; a failed build is removed so the next call builds again. */
const templates = new Map<string, Promise<string>>();
/** A database cloned ahead for the next test (its name, undefined if that failed), by server URL, template and strategy. */
const prepared = new Map<string, { url: string; made: Promise<string | undefined> }>();
/** Leftovers of dead processes on this machine, swept once per server URL and prefix. */
const swept = new Map<string, Promise<void>>();
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
  parseServerUrl(options.url); // a clear USAGE error before anything connects
  const migrations = validateMigrations(options.migrations ?? orchwfMigrations);
  const prefix = options.prefix ?? "orchwf_test";
  if (!/^[a-z_][a-z0-9_]{0,29}$/.test(prefix)) throw new MigrationError("USAGE", `prefix must be a lower-case identifier of at most 30 characters, not ${JSON.stringify(prefix)}`);
  const admin = adminFor(options.url);
  const template = await templateFor(admin, options.url, migrations, options, prefix);
  sweepOnce(admin, options.url, prefix);
  const strategy = options.strategy === undefined ? "" : ` STRATEGY ${options.strategy === "file_copy" ? "FILE_COPY" : "WAL_LOG"}`;
  const key = `${options.url}\n${template}\n${strategy}`;
  // A clone made ahead if there is one (awaited if still being made: it is further along than a new one would be).
  const ahead = prepared.get(key);
  prepared.delete(key);
  const name = (ahead && await ahead.made) || await clone(admin, newName(prefix), template, strategy, () => templateFor(admin, options.url, migrations, options, prefix, true));
  if (options.prepare ?? !(await serverInfo(admin, options.url)).fsync) prepareNext(admin, options.url, key, template, strategy, prefix);
  const url = databaseUrl(options.url, name);
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
        await drop(adminFor(options.url), name); // not the admin of the clone: closeServerTestDatabases may have ended it
      }
    })();
  return { sql: client, url, name, template, close, [Symbol.asyncDispose]: close };
}

/** `<prefix>_<machine>_<pid>_<n>_<random>`: the machine tag and pid let a later run tell a dead process's leftovers. */
function newName(prefix: string): string {
  return `${prefix}_${machineTag()}_${process.pid}_${++counter}_${Math.random().toString(36).slice(2, 8)}`;
}

/** Six hex digits of this machine's host name and boot: containers and machines sharing one server differ. */
let machine: string | undefined;
function machineTag(): string {
  return machine ??= createHash("sha256").update(`${hostname()}\n${bootId() ?? ""}`).digest("hex").slice(0, 6);
}

/** Starts cloning the next test's database; a failure only means the next test clones its own. */
function prepareNext(admin: postgres.Sql, url: string, key: string, template: string, strategy: string, prefix: string): void {
  if (prepared.has(key)) return; // a concurrent test already started one
  const name = newName(prefix);
  const made = (async () => {
    await adminQuery(admin, `CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}${strategy}`);
    // The first session in a database builds its catalog cache files; the test's client then starts faster.
    const warm = postgres(databaseUrl(url, name), { max: 1, onnotice: () => {}, fetch_types: false });
    await warm`SELECT 1`.catch(() => {}).finally(() => warm.end({ timeout: 1 }));
    return name;
  })().catch(() => undefined);
  prepared.set(key, { url, made });
  exitHook();
}

/** Drops the clones made ahead that no test took. */
async function dropPrepared(): Promise<void> {
  const waiting = [...prepared.values()];
  prepared.clear();
  await Promise.all(waiting.map(async ({ url, made }) => {
    const name = await made;
    const admin = admins.get(url);
    if (name && admin) await drop(admin, name).catch(() => {});
  }));
}

/** When the event loop runs dry (the tests are done and nobody called closeServerTestDatabases), clean up. */
let hooked = false;
function exitHook(): void {
  if (hooked) return;
  hooked = true;
  process.on("beforeExit", () => {
    if (admins.size > 0) void closeServerTestDatabases();
  });
}

/**
 * Drops this machine's test databases whose process is gone (a crashed or killed test run, a runner that exited
 * without cleaning up). A database of another machine, or of a live process, is never touched.
 */
function sweepOnce(admin: postgres.Sql, url: string, prefix: string): void {
  const key = `${url}\n${prefix}`;
  if (swept.has(key)) return;
  const mine = `${prefix}_${machineTag()}_`;
  swept.set(key, (async () => {
    const rows = await adminQuery<{ datname: string }[]>(admin, `SELECT datname FROM pg_database WHERE starts_with(datname, ${quoteLiteral(mine)})`);
    for (const { datname } of rows) {
      const pid = Number(datname.slice(mine.length).split("_")[0]);
      if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !pidExists(pid)) await drop(admin, datname);
    }
  })().catch(() => {})); // best effort: the tests go on either way
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
  await Promise.all(swept.values());
  await dropPrepared();
  const all = [...admins.values()];
  admins.clear();
  swept.clear();
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
    migrations.map((m) => [versionKey(m.version), checksum(m.up), m.transaction !== false]),
  ])).digest("hex").slice(0, 20);
  return `${options.prefix ?? "orchwf_test"}_tpl_${hash}`;
}

/** The server URL with another database's name. */
function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
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
    // Idle for 2 s, a session lets go (so runners exit).
    admin = postgres(url, { max: 2, onnotice: () => {}, idle_timeout: 2, connect_timeout: 10 });
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
  const name = templateName(migrations, { ...options, prefix }, (await serverInfo(admin, url)).version);
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

/** server_version_num and fsync, asked once per server URL (a round trip saved on every later call). */
const versions = new Map<string, Promise<{ version: number; fsync: boolean }>>();
function serverInfo(admin: postgres.Sql, url: string): Promise<{ version: number; fsync: boolean }> {
  let known = versions.get(url);
  if (!known) {
    known = adminQuery<{ v: string; fsync: string }[]>(admin, "SELECT current_setting('server_version_num') AS v, current_setting('fsync') AS fsync")
      .then((rows) => ({ version: Number(rows[0].v), fsync: rows[0].fsync !== "off" }));
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
async function clone(admin: postgres.Sql, name: string, template: string, strategy: string, rebuild: () => Promise<string>): Promise<string> {
  try {
    await adminQuery(admin, `CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(template)}${strategy}`);
  } catch (err) {
    if ((err as { code?: string }).code !== "3D000") throw err;
    await adminQuery(admin, `CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(await rebuild())}${strategy}`);
  }
  return name;
}

/**
 * Drops a test database. A client's `end()` can resolve before its server sessions are gone (pg's Pool does), and
 * FORCE would then kill them under the client, which reports the 57P01 as an unhandled error: so the server waits
 * up to 2 s for the sessions to leave on their own (milliseconds normally) and forces only what is still there.
 */
async function drop(admin: postgres.Sql, name: string): Promise<void> {
  await adminQuery(
    admin,
    `DO $orchwf$ BEGIN
  FOR i IN 1..200 LOOP
    EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = ${quoteLiteral(name)});
    PERFORM pg_sleep(0.01);
  END LOOP;
END $orchwf$`,
  );
  await adminQuery(admin, `DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
}

async function closeClient(client: unknown): Promise<void> {
  const c = client as { end?: (o?: unknown) => Promise<void>; close?: () => Promise<void> };
  if (typeof c.end === "function") await c.end();
  else if (typeof c.close === "function") await c.close();
}
