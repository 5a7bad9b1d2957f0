/**
 * `@orchwf/migrate/testing`: a freshly migrated in-process PGlite database for every test, fast.
 * The first call for a set of migrations creates a database, migrates it and keeps a snapshot of its data
 * directory (`dumpDataDir`); later calls start a new PGlite from that snapshot (`loadDataDir`) instead of
 * running initdb and the migrations again.
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
import { orchwfMigrations } from "./builtin.ts";
import { checksum, type Migration, validateMigrations, versionKey } from "./core/migration.ts";
import { Migrator } from "./migrator.ts";
import { extensionsFor } from "./sources/extensions.ts";

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
  /** Other PGlite options (e.g. `extensions`) for every instance; they are part of the snapshot's key by name only. */
  pglite?: Omit<PGliteOptions, "dataDir" | "loadDataDir">;
  /**
   * How a test gets its clean database:
   * - `"restore"` (default): a new PGlite restored from the migrated snapshot; tests may do anything.
   * - `"rollback"`: a pooled, already migrated PGlite inside a transaction that `close()` rolls back: milliseconds
   *   instead of a restore, and no new WebAssembly memory per test. For tests that do not commit: a test that
   *   commits (its own COMMIT, or `db.transaction()`) ends that transaction, and its instance is then thrown away
   *   rather than reused, so the next test is still clean.
   */
  isolation?: "restore" | "rollback";
}

/** Snapshots of migrated data directories, by migrations' versions and checksums. */
const snapshots = new Map<string, Promise<Blob>>();

/**
 * A new in-memory PGlite database with every migration applied, for one test; close it when done.
 * The first call for a given set of migrations migrates (about 2-3 s, mostly initdb); later calls restore
 * a snapshot of the result (a fraction of that). Each database is independent: tests may write freely.
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
  let snapshot = snapshots.get(key);
  if (!snapshot) {
    snapshot = migratedSnapshot(migrations, options);
    snapshots.set(key, snapshot);
    // A failed migration must not be cached: the next test should see the error again, not a stale rejection.
    snapshot.catch(() => snapshots.delete(key));
  }
  if (options.isolation === "rollback") return await pooled(key, snapshot, options);
  return await PGlite.create({ ...options.pglite, loadDataDir: await snapshot });
}

/** Idle migrated instances for the rollback mode, by snapshot key. */
const pools = new Map<string, PGlite[]>();

/** A pooled instance inside a transaction; its `close()` rolls back and returns it to the pool. */
async function pooled(key: string, snapshot: Promise<Blob>, options: TestDatabaseOptions): Promise<PGlite> {
  const idle = pools.get(key) ?? [];
  pools.set(key, idle);
  const db = idle.pop() ?? await PGlite.create({ ...options.pglite, loadDataDir: await snapshot });
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
      if (ours && !db.closed && pools.get(key) === idle) idle.push(db);
      else await db.close();
    })();
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "close" || prop === Symbol.asyncDispose) return release;
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * Forgets every snapshot (they hold a few MB each); the next `createTestDatabase` migrates again.
 *
 * @example
 * ```ts
 * after(() => clearTestDatabaseCache());
 * ```
 */
export function clearTestDatabaseCache(): void {
  snapshots.clear();
  for (const idle of pools.values()) for (const db of idle.splice(0)) void db.close();
  pools.clear();
}

async function migratedSnapshot(migrations: Migration[], options: TestDatabaseOptions): Promise<Blob> {
  const db = await PGlite.create({ ...options.pglite });
  try {
    await new Migrator(db, { migrations, table: options.table, schema: options.schema }).migrate();
    // Uncompressed: it loads faster than gzip would, and it only lives in memory.
    return await db.dumpDataDir("none");
  } finally {
    await db.close();
  }
}

function snapshotKey(migrations: Migration[], options: TestDatabaseOptions): string {
  return JSON.stringify([
    options.table ?? "orchwf_migrations",
    options.schema ?? null,
    Object.keys(options.pglite?.extensions ?? {}).sort(),
    migrations.map((m) => [versionKey(m.version), checksum(m.up), m.transaction !== false]),
  ]);
}
