/**
 * Empty in-memory PGlite databases for replays and verification. initdb in WebAssembly is most of a new PGlite's
 * cost (seconds); its output is kept, in memory and in the on-disk cache (`disk-cache.ts`), so every later
 * scratch database, in this process or the next, is loaded from it instead.
 * @module
 */
import type { PGlite, PGliteOptions } from "@electric-sql/pglite";
import { discardCacheEntry, fromSnapshot, pgliteVersion, readCachedDataDir, writeCachedDataDir } from "./disk-cache.ts";

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
  const names = Object.keys(options.extensions ?? {}).sort().join(",");
  const version = await pgliteVersion();
  const diskKey = version ? ["pristine", version, names] : undefined;
  let kept = await pristine.get(names)?.catch(() => undefined);
  if (!kept && diskKey) kept = await readCachedDataDir(diskKey);
  if (kept) {
    try {
      const db = await PGlite.create(fromSnapshot(PGlite, kept, options));
      if (!pristine.has(names)) pristine.set(names, Promise.resolve(kept));
      return db;
    } catch {
      pristine.delete(names);
      if (diskKey) await discardCacheEntry(diskKey, "did not start");
    }
  }
  const db = await PGlite.create(options);
  // Kept when it pays: for the next process (on disk), or from this process's second request.
  if ((diskKey || ++requests >= 2) && !pristine.has(names)) {
    // Dumped before anything runs in it: exactly what initdb made.
    const dump = db.dumpDataDir("none");
    pristine.set(names, dump);
    dump.catch(() => pristine.delete(names));
    const blob = await dump;
    if (diskKey) await writeCachedDataDir(diskKey, blob);
  }
  return db;
}
