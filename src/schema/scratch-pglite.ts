/**
 * Empty in-memory PGlite databases for replays and verification. initdb in WebAssembly is most of a new PGlite's
 * cost; a process that asks for several (a test suite calling verifyMigrations or detectDrift again and again) gets
 * them restored from initdb's output, kept from its second request on, in about a third of the time. A one-shot
 * CLI run asks once and pays nothing extra.
 * @module
 */
import type { PGlite, PGliteOptions } from "@electric-sql/pglite";

/** initdb's output, by the names of the extensions the instances load. */
const pristine = new Map<string, Promise<Blob>>();
let requests = 0;

/**
 * A new, empty in-memory PGlite (loaded lazily: a run against a server alone never loads its WebAssembly).
 *
 * @example
 * ```ts
 * const db = await scratchPGlite({ extensions: await extensionsFor(migrations) });
 * try { await new Migrator(db, { migrations }).migrate(); } finally { await db.close(); }
 * ```
 */
export async function scratchPGlite(options: Omit<PGliteOptions, "dataDir" | "loadDataDir"> = {}): Promise<PGlite> {
  const { PGlite } = await import("@electric-sql/pglite");
  const key = Object.keys(options.extensions ?? {}).sort().join(",");
  const kept = await pristine.get(key)?.catch(() => undefined);
  if (kept) return await PGlite.create({ ...options, loadDataDir: kept });
  const db = await PGlite.create(options);
  if (++requests >= 2 && !pristine.has(key)) {
    // Dumped before anything runs in it: exactly what initdb made.
    const dump = db.dumpDataDir("none");
    pristine.set(key, dump);
    dump.catch(() => pristine.delete(key));
    await dump;
  }
  return db;
}
