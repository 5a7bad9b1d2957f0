/**
 * Empty PGlite databases for replays, verification and new `pglite:` databases. initdb in WebAssembly is most of a
 * new PGlite's cost (seconds); its output is kept, in memory and in the on-disk cache (`disk-cache.ts`), so every
 * later empty database, in this process or the next, is loaded from it instead.
 * @module
 */
import type { PGlite, PGliteOptions } from "@electric-sql/pglite";
import { readdir } from "node:fs/promises";
import { discardCacheEntry, fromSnapshot, pgliteVersion, readCachedDataDir, smallBuffers, writeCachedDataDir } from "./disk-cache.ts";

/** initdb's output, by the names of the extensions the instances load. */
const pristine = new Map<string, Promise<Blob>>();
let requests = 0;

type EmptyOptions = Omit<PGliteOptions, "loadDataDir">;

async function diskKey(options: EmptyOptions): Promise<unknown[] | undefined> {
  const version = await pgliteVersion();
  return version ? ["pristine", version, extensionNames(options)] : undefined;
}

function extensionNames(options: EmptyOptions): string {
  return Object.keys(options.extensions ?? {}).sort().join(",");
}

/**
 * A new, empty PGlite (loaded lazily: a run against a server alone never loads its WebAssembly): in memory, or in
 * `options.dataDir` when that directory holds no database yet. Loaded from initdb's kept output when there is one;
 * otherwise initdb runs and its output is kept for the next (on disk; in memory from a process's second request).
 *
 * @example
 * ```ts
 * const db = await scratchPGlite({ extensions: await extensionsFor(migrations) });
 * try { await new Migrator(db, { migrations }).migrate(); } finally { await db.close(); }
 * ```
 */
export async function scratchPGlite(options: EmptyOptions = {}): Promise<PGlite> {
  const { PGlite } = await import("@electric-sql/pglite");
  const names = extensionNames(options);
  const key = await diskKey(options);
  let kept = await pristine.get(names)?.catch(() => undefined);
  if (!kept && key) kept = await readCachedDataDir(key);
  if (kept) {
    try {
      const db = await PGlite.create(fromSnapshot(PGlite, kept, options));
      if (!pristine.has(names)) pristine.set(names, Promise.resolve(kept));
      return db;
    } catch (err) {
      pristine.delete(names);
      if (key) await discardCacheEntry(key, "did not start");
      // A directory may hold part of the load now: that is not an empty database to go on with. (A kept snapshot
      // whose file was pruned meanwhile fails before anything is written: the directory is still empty.)
      if (options.dataDir && !await isEmptyDirectory(options.dataDir)) throw err;
    }
  }
  const db = await PGlite.create(smallBuffers(PGlite, options));
  // Kept when it pays: for the next process (on disk), or from this process's second request.
  if ((key || ++requests >= 2) && !pristine.has(names)) {
    // Dumped before anything runs in it: exactly what initdb made.
    const dump = db.dumpDataDir("none");
    pristine.set(names, dump);
    dump.catch(() => pristine.delete(names));
    const blob = await dump;
    // Kept on disk, it is read from its file when needed instead of held in memory.
    const onDisk = key && await writeCachedDataDir(key, blob);
    if (onDisk) pristine.set(names, Promise.resolve(onDisk));
  }
  return db;
}

async function isEmptyDirectory(path: string): Promise<boolean> {
  const names = await readdir(path).catch((e: NodeJS.ErrnoException) => (e.code === "ENOENT" ? [] : undefined));
  return names !== undefined && names.length === 0;
}
