/**
 * `@orchwf/migrate/testing`: a freshly migrated in-process PGlite database for every test, fast.
 * The first call for a set of migrations migrates a database and keeps a snapshot of its data directory, in
 * memory and on disk (so the next process loads it instead of migrating). A closed test database is put back to
 * its migrated state in milliseconds (`testing/reset.ts`) and handed to the next test; one whose schema changed is
 * replaced by a new instance loaded from the snapshot.
 *
 * @example
 * ```ts
 * import { test } from "node:test";
 * import { createTestDatabase } from "@orchwf/migrate/testing";
 *
 * test("stores a workflow", async () => {
 *   const db = await createTestDatabase();
 *   await db.query("INSERT INTO orchwf_workflow_instances (id, workflow_id) VALUES ('w1', 'flow')");
 *   await db.close();
 * });
 * ```
 * @module
 */
import { PGlite, type PGliteOptions } from "@electric-sql/pglite";
import { setTimeout } from "node:timers";
import { orchwfMigrations } from "./builtin.ts";
import { checksum, type Migration, validateMigrations, versionKey } from "./core/migration.ts";
import { Migrator } from "./migrator.ts";
import { discardCacheEntry, fromSnapshot, pgliteVersion, readCachedDataDir, writeCachedDataDir } from "./schema/disk-cache.ts";
import { scratchPGlite } from "./schema/scratch-pglite.ts";
import { extensionsFor } from "./sources/extensions.ts";
import { type Baseline, captureBaseline, markClean, resetToBaseline } from "./testing/reset.ts";

export {
  closeServerTestDatabases,
  createServerTestDatabase,
  type ServerTestDatabase,
  type ServerTestDatabaseOptions,
  templateName,
} from "./testing/server.ts";

/** Options of `createTestDatabase`. */
export interface TestDatabaseOptions {
  /** Migrations to apply; default the built-in OrchWF schema. Pass `[...orchwfMigrations, ...yours]` for both. */
  migrations?: readonly Migration[];
  /** Version table name; default `orchwf_migrations`. */
  table?: string;
  /** Schema of the version table and of the migrations. */
  schema?: string;
  /** Other PGlite options (e.g. `extensions`) for every instance; they are part of the snapshot's key (extensions by name). */
  pglite?: Omit<PGliteOptions, "dataDir" | "loadDataDir">;
  /**
   * How a test gets its clean database:
   * - `"reset"` (default): a migrated instance; `close()` puts back the rows and sequences the test changed (a few
   *   milliseconds) and keeps it for the next test. A test that changed the schema, roles or settings gets its
   *   instance closed instead, and the next test a new one loaded from the snapshot. Tests may do anything.
   * - `"rollback"`: a pooled instance inside a transaction that `close()` rolls back. For tests that do not commit:
   *   a test that commits ends that transaction, and its instance is then thrown away rather than reused.
   * - `"restore"`: a new PGlite loaded from the snapshot for every test (hundreds of milliseconds each).
   */
  isolation?: "reset" | "rollback" | "restore";
  /** Keep the migrated snapshot on disk for the next process (default true; `ORCHWF_CACHE_DIR=off` turns it off everywhere). */
  diskCache?: boolean;
}

/** A migrated snapshot and what every instance of it holds, with the instances idle between tests. */
interface Prepared {
  /** The data directory; backed by its file in the disk cache when it is there (not held in memory). */
  snapshot: Blob;
  onDisk: boolean;
  /** Its key in the disk cache, when that is used. */
  diskKey?: unknown[];
  baseline: Baseline;
}
interface Entry {
  key: string;
  ready: Promise<Prepared>;
  /** Reset instances, with the watermark of their last reset. */
  idle: Idle[];
  /** Instances for the rollback mode. */
  rollbackIdle: Idle[];
}

/** An instance between tests; `watermark` is that of its last reset (reset mode). */
interface Idle {
  db: PGlite;
  watermark?: string;
}

/** By migrations' versions and checksums and the options that shape the database. */
const entries = new Map<string, Entry>();

/**
 * A migrated in-memory PGlite database for one test; close it when done (`await db.close()`, or `await using`).
 * The first call for a given set of migrations migrates (or loads what an earlier process cached on disk); later
 * calls get an instance put back to that state, in milliseconds. Each test sees only its own writes.
 *
 * @example
 * ```ts
 * import { loadMigrations, orchwfMigrations } from "@orchwf/migrate";
 * import { createTestDatabase } from "@orchwf/migrate/testing";
 * const migrations = [...orchwfMigrations, ...(await loadMigrations("./migrations"))];
 * const db = await createTestDatabase({ migrations });
 * try {
 *   await db.query("SELECT count(*) FROM users");
 * } finally {
 *   await db.close();
 * }
 * ```
 */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<PGlite> {
  const migrations = validateMigrations(options.migrations ?? orchwfMigrations);
  // The bundled extensions the migrations create are loaded too (yours win by name).
  options = { ...options, pglite: { ...options.pglite, extensions: { ...(await extensionsFor(migrations)), ...options.pglite?.extensions } } };
  const key = snapshotKey(migrations, options);
  let entry = entries.get(key);
  if (!entry) {
    const made: Entry = { key, ready: undefined as never, idle: [], rollbackIdle: [] };
    made.ready = prepare(made, migrations, options);
    // A failed migration must not be cached: the next test should see the error again, not a stale rejection.
    made.ready.catch(() => entries.get(key) === made && entries.delete(key));
    entries.set(key, entry = made);
  }
  const prepared = await entry.ready;
  const { baseline } = prepared;
  const fresh = () => fromPrepared(prepared, migrations, options);
  switch (options.isolation ?? "reset") {
    case "rollback":
      return await inTransaction(entry, entry.rollbackIdle.pop()?.db ?? await fresh());
    case "restore":
      return await fresh();
    default: {
      const idle = entry.idle.pop();
      if (idle) return lease(entry, baseline, idle.db, idle.watermark!);
      const db = await fresh();
      return lease(entry, baseline, db, await markClean(db));
    }
  }
}

/**
 * Migrates the first instance (or loads the snapshot an earlier process left on disk), keeps its snapshot and
 * baseline, and leaves the instance idle for the first test.
 */
async function prepare(entry: Entry, migrations: Migration[], options: TestDatabaseOptions): Promise<Prepared> {
  const diskKey = await snapshotDiskKey(entry.key, options);
  let made: { db: PGlite; snapshot: Blob; onDisk: boolean } | undefined;
  const cached = diskKey && await readCachedDataDir(diskKey);
  if (cached && diskKey) {
    const db = await loadIfMigrated(cached, migrations, options);
    if (db) made = { db, snapshot: cached, onDisk: true };
    else await discardCacheEntry(diskKey, "did not load as a database with these migrations applied");
  }
  made ??= await migrateAnew(migrations, options, diskKey);
  const { db, snapshot, onDisk } = made;
  const baseline = await captureBaseline(db);
  park(entry.idle, { db, watermark: await markClean(db) });
  collectGarbage();
  return { snapshot, onDisk, diskKey, baseline };
}

/**
 * Starting an instance leaves a few hundred MB of garbage (the loader's copies of the 40 MB snapshot; in a new
 * cache, the memory of the instance that ran initdb), which a runtime collects only when it needs to: a test
 * process kept it all along. Collected here, once per set of migrations, where the runtime lets us (Bun, or Node
 * with --expose-gc); about 20 ms.
 */
function collectGarbage(): void {
  const g = globalThis as { Bun?: { gc(force: boolean): void }; gc?: () => void };
  if (g.Bun) g.Bun.gc(true);
  else g.gc?.();
}

/** The disk cache's key of a snapshot, or undefined when the disk cache is not used. */
async function snapshotDiskKey(key: string, options: TestDatabaseOptions): Promise<unknown[] | undefined> {
  const version = options.diskCache === false ? undefined : await pgliteVersion();
  return version ? ["test-database", version, key] : undefined;
}

/** Migrates a new instance and keeps its snapshot (on disk when it can). */
async function migrateAnew(migrations: Migration[], options: TestDatabaseOptions, diskKey: unknown[] | undefined): Promise<{ db: PGlite; snapshot: Blob; onDisk: boolean }> {
  // An empty database from initdb's kept output when there is one (made once per machine), else initdb.
  const db = options.diskCache === false ? await PGlite.create({ ...options.pglite }) : await scratchPGlite({ ...options.pglite });
  let snapshot: Blob;
  try {
    await new Migrator(db, { migrations, table: options.table, schema: options.schema }).migrate();
    // Uncompressed: it loads faster than gzip would.
    snapshot = await db.dumpDataDir("none");
  } catch (e) {
    await db.close().catch(() => {});
    throw e;
  }
  const kept = diskKey && await writeCachedDataDir(diskKey, snapshot);
  return kept ? { db, snapshot: kept, onDisk: true } : { db, snapshot, onDisk: false };
}

/**
 * A new instance loaded from the snapshot. A snapshot read from its file in the disk cache fails to load once the
 * file is gone (the cache was cleared or pruned meanwhile): then the migrations run again, and their new snapshot
 * serves from then on.
 */
async function fromPrepared(prepared: Prepared, migrations: Migration[], options: TestDatabaseOptions): Promise<PGlite> {
  try {
    return await PGlite.create(fromSnapshot(PGlite, prepared.snapshot, { ...options.pglite }));
  } catch (e) {
    if (!prepared.onDisk) throw e;
  }
  const made = await migrateAnew(migrations, options, prepared.diskKey);
  Object.assign(prepared, { snapshot: made.snapshot, onDisk: made.onDisk });
  return made.db;
}

/** A PGlite loaded from a cached snapshot, if it holds exactly these migrations, applied; else undefined. */
async function loadIfMigrated(snapshot: Blob, migrations: Migration[], options: TestDatabaseOptions): Promise<PGlite | undefined> {
  let db: PGlite | undefined;
  try {
    db = await PGlite.create(fromSnapshot(PGlite, snapshot, { ...options.pglite }));
    // Every migration applied with its checksum, and nothing else recorded (status reads; it parses nothing).
    const status = await new Migrator(db, { migrations, table: options.table, schema: options.schema }).status();
    const exact = status.migrations.length === migrations.length && status.migrations.every((m) => m.state === "applied");
    if (exact) return db;
  } catch {
    // a truncated or foreign data directory: rebuilt
  }
  await db?.close().catch(() => {});
  return undefined;
}

/**
 * How long an instance stays idle before it is closed: the next test comes back within milliseconds, and a
 * process with nothing left to do exits this long after its last test. A test that comes later than this gets a
 * new instance from the snapshot (hundreds of milliseconds) instead of a reset one.
 */
const IDLE_CLOSE_MS = 500;

/**
 * Puts an instance in its idle list, and closes it if no test takes it within IDLE_CLOSE_MS. PGlite runs
 * PostgreSQL's timers on plain (ref'd) `setTimeout`s, and after writes PostgreSQL arms a 10 s timer (to flush its
 * statistics) that only `close()` cancels: an idle instance would keep a process (a `node --test` file, a script)
 * alive 10 s after its last test. Our timer is unref'd: it never keeps the process alive itself.
 */
function park(list: Idle[], idle: Idle): void {
  list.push(idle);
  setTimeout(() => {
    const at = list.indexOf(idle);
    if (at < 0) return;
    list.splice(at, 1);
    void idle.db.close().catch(() => {});
  }, IDLE_CLOSE_MS).unref();
}

/** The test's handle on a reset-mode instance: `close()` resets it for the next test; after that it is unusable. */
function lease(entry: Entry, baseline: Baseline, db: PGlite, watermark: string): PGlite {
  let released: Promise<void> | undefined;
  const release = () =>
    released ??= (async () => {
      const next = await resetToBaseline(db, baseline, watermark).catch(() => undefined);
      if (next !== undefined && !db.closed && entries.get(entry.key) === entry) park(entry.idle, { db, watermark: next });
      else await db.close().catch(() => {});
    })();
  return handle(db, release, () => released !== undefined);
}

/** A pooled instance inside a transaction; its `close()` rolls back and returns it to the pool. */
async function inTransaction(entry: Entry, db: PGlite): Promise<PGlite> {
  await db.exec("BEGIN");
  const { rows } = await db.query<{ xid: string }>("SELECT txid_current()::text AS xid");
  const xid = rows[0].xid;
  let released: Promise<void> | undefined;
  const release = () =>
    released ??= (async () => {
      // Still our transaction? If the test committed (or began its own), the data may have changed for good.
      const now = await db.query<{ xid: string | null }>("SELECT txid_current_if_assigned()::text AS xid").catch(() => undefined);
      const ours = now?.rows[0]?.xid === xid;
      await db.exec("ROLLBACK").catch(() => {});
      if (ours && !db.closed && entries.get(entry.key) === entry) park(entry.rollbackIdle, { db });
      else await db.close();
    })();
  return handle(db, release, () => released !== undefined);
}

/** The instance as the test sees it: `close()` (and `await using`) releases it; after release, every use throws. */
function handle(db: PGlite, release: () => Promise<void>, isReleased: () => boolean): PGlite {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "close" || prop === Symbol.asyncDispose) return release;
      if (isReleased()) {
        if (prop === "closed") return true;
        if (prop === "then") return undefined;
        throw new Error(`this test database was closed (and handed to the next test); call createTestDatabase() again`);
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * Forgets every snapshot kept in memory and closes the idle instances (the on-disk cache stays; delete its
 * directory to clear it). Idle instances never keep a process from exiting; this frees their memory sooner.
 *
 * @example
 * ```ts
 * after(() => clearTestDatabaseCache());
 * ```
 */
export function clearTestDatabaseCache(): void {
  for (const entry of entries.values()) {
    for (const { db } of entry.idle.splice(0)) void db.close();
    for (const { db } of entry.rollbackIdle.splice(0)) void db.close();
  }
  entries.clear();
}

function snapshotKey(migrations: Migration[], options: TestDatabaseOptions): string {
  const { extensions, ...rest } = options.pglite ?? {};
  return JSON.stringify([
    options.table ?? "orchwf_migrations",
    options.schema ?? null,
    Object.keys(extensions ?? {}).sort(),
    rest,
    migrations.map((m) => [versionKey(m.version), checksum(m.up), m.transaction !== false]),
  ]);
}
