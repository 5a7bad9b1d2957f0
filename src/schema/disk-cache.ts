/**
 * What is slow to make and fully determined by its inputs, kept on disk between processes: PGlite data
 * directories (initdb's output, migrated test databases) and replay results (drift's expected schema, a dump of
 * the migrations), so a second test process or a second `drift` loads in a moment what took seconds to make.
 *
 * Entries are files named by a hash of their key (what made them: the PGlite version, the extensions, the
 * migrations' versions and checksums, the options, our own version) and a hash of their content. A key can never
 * name stale content; a file whose content does not match its name (truncated, overwritten) is removed and
 * rebuilt. Writes go to a temporary file that is renamed into place, so processes starting at once each see a
 * whole file or none. A cache that cannot be read or written (read-only, full, not a directory) is reported once
 * as a warning and the work is done without it.
 *
 * The directory: `ORCHWF_CACHE_DIR`, else `$XDG_CACHE_HOME/orchwf-migrate`, else `~/.cache/orchwf-migrate`
 * (`%LOCALAPPDATA%` on Windows). `ORCHWF_CACHE_DIR=off` turns it off. Deleting the directory is always safe.
 * @module
 */
import type { PGliteOptions } from "@electric-sql/pglite";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { VERSION } from "../core/version.ts";

/** How many entries to keep: the newest by use; older ones are removed when a new one is written. */
const KEEP = 24;
/** Bumped when what an entry holds changes meaning. */
const FORMAT = 1;
/** The suffix of a whole entry (a temporary one ends in `.tmp`). */
const EXTENSION = ".entry";

let warned = false;

/** Says once per process that the cache was not used, and why (the first reason; the others follow from it). */
function warnOnce(detail: string): void {
  if (warned) return;
  warned = true;
  console.warn(`orchwf-migrate: ${detail}`);
}

/**
 * The cache directory, or undefined when it is turned off (`ORCHWF_CACHE_DIR=off`).
 *
 * @example
 * ```ts
 * const dir = diskCacheDir(); // e.g. /home/me/.cache/orchwf-migrate
 * ```
 */
export function diskCacheDir(): string | undefined {
  const env = process.env;
  const chosen = env.ORCHWF_CACHE_DIR;
  if (chosen === "off" || chosen === "0" || chosen === "false") return undefined;
  if (chosen) return chosen;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, "orchwf-migrate");
  if (process.platform === "win32" && env.LOCALAPPDATA) return join(env.LOCALAPPDATA, "orchwf-migrate", "cache");
  const home = env.HOME ?? homedir();
  return home ? join(home, ".cache", "orchwf-migrate") : undefined;
}

function entryPrefix(key: readonly unknown[]): string {
  // Our version too: what the entries hold (the version table, the schema snapshot) is made by our code.
  return createHash("sha256").update(JSON.stringify([FORMAT, VERSION, ...key])).digest("hex").slice(0, 32);
}

/**
 * The cached bytes for `key`, or undefined (none yet, cache off, or unreadable: warned once).
 *
 * @example
 * ```ts
 * const bytes = await readCacheEntry(["drift", version, key]);
 * ```
 */
export async function readCacheEntry(key: readonly unknown[]): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const found = await findEntry(key);
  if (!found) return undefined;
  try {
    const bytes = await readFile(found.path) as Uint8Array<ArrayBuffer>;
    return await checked(found, contentHash(bytes)) ? bytes : undefined;
  } catch (e) {
    return unreadable(found.path, e);
  }
}

/** The file of the entry for `key`, with the content hash its name promises; undefined when there is none. */
async function findEntry(key: readonly unknown[]): Promise<{ path: string; hash: string } | undefined> {
  const dir = diskCacheDir();
  if (!dir) return undefined;
  const prefix = entryPrefix(key);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") warnOnce(`cannot read the cache directory ${dir} (${(e as Error).message}); continuing without it`);
    return undefined;
  }
  const name = names.find((n) => n.startsWith(`${prefix}.`) && n.endsWith(EXTENSION));
  return name ? { path: join(dir, name), hash: name.slice(prefix.length + 1, -EXTENSION.length) } : undefined;
}

/** Whether an entry's content matches its name (a damaged one is removed); marks its use, for pruning. */
async function checked(found: { path: string; hash: string }, hash: string): Promise<boolean> {
  if (hash !== found.hash) {
    warnOnce(`the cache entry ${found.path} is damaged (truncated or overwritten); it is rebuilt`);
    await rm(found.path, { force: true }).catch(() => {});
    return false;
  }
  const now = new Date();
  await utimes(found.path, now, now).catch(() => {});
  return true;
}

function unreadable(path: string, e: unknown): undefined {
  // Gone meanwhile: another process removed a duplicate (see writeCacheEntry).
  if ((e as NodeJS.ErrnoException).code !== "ENOENT") warnOnce(`cannot read the cache entry ${path} (${(e as Error).message}); it is rebuilt`);
  return undefined;
}

/** Integrity, not secrecy: SHA-1 is the fastest hash every runtime has natively (about 50 ms for 40 MB). */
function contentHash(bytes: Uint8Array): string {
  return createHash("sha1").update(bytes).digest("hex");
}

/**
 * Removes the entry for `key`, found unusable after loading it, and says so (once per process).
 *
 * @example
 * ```ts
 * await discardCacheEntry(key, "did not load as migrated");
 * ```
 */
export async function discardCacheEntry(key: readonly unknown[], why: string): Promise<void> {
  const dir = diskCacheDir();
  if (!dir) return;
  warnOnce(`a cache entry in ${dir} ${why}; it is rebuilt`);
  const prefix = entryPrefix(key);
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => n.startsWith(`${prefix}.`)).map((n) => rm(join(dir, n), { force: true }).catch(() => {})));
}

/**
 * Stores `bytes` as the entry for `key` (atomically; a failure is warned once and otherwise ignored). Returns the
 * entry's file, or undefined when it was not written.
 *
 * @example
 * ```ts
 * await writeCacheEntry(["pristine", version], new Uint8Array(await (await db.dumpDataDir("none")).arrayBuffer()));
 * ```
 */
export async function writeCacheEntry(key: readonly unknown[], bytes: Uint8Array): Promise<string | undefined> {
  const dir = diskCacheDir();
  if (!dir) return undefined;
  const prefix = entryPrefix(key);
  const final = join(dir, `${prefix}.${contentHash(bytes)}${EXTENSION}`);
  const temporary = `${final}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(temporary, bytes);
    await rename(temporary, final);
  } catch (e) {
    await rm(temporary, { force: true }).catch(() => {});
    warnOnce(`cannot write to the cache directory ${dir} (${(e as Error).message}); continuing without it`);
    return undefined;
  }
  // Processes that built the same key at once wrote equivalent entries under different content hashes: all keep
  // the smallest name, which none of them removes, so one always stays.
  const same = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith(`${prefix}.`) && n.endsWith(EXTENSION)).sort();
  await Promise.all(same.slice(1).map((n) => rm(join(dir, n), { force: true }).catch(() => {})));
  await prune(dir);
  return same[0] ? join(dir, same[0]) : final;
}

/**
 * A PGlite data directory from the cache, as a Blob backed by its file: checked against its name while read in
 * pieces, then read again only by the PGlite that loads it. A snapshot is about 40 MB; held in memory, each copy
 * (the file's bytes, a Blob of them, the loader's own copy) stayed in the process until a garbage collection.
 * Once its file is gone (cleared, pruned), loading the Blob fails: the caller rebuilds.
 *
 * @example
 * ```ts
 * const blob = await readCachedDataDir(["pristine", version]) ?? await makeIt();
 * ```
 */
export async function readCachedDataDir(key: readonly unknown[]): Promise<Blob | undefined> {
  const found = await findEntry(key);
  if (!found) return undefined;
  try {
    const hash = createHash("sha1");
    const file = await open(found.path);
    try {
      const chunk = new Uint8Array(1 << 20);
      for (let n; (n = (await file.read(chunk, 0, chunk.length)).bytesRead) > 0;) hash.update(chunk.subarray(0, n));
    } finally {
      await file.close();
    }
    return await checked(found, hash.digest("hex")) ? await fileBlob(found.path) : undefined;
  } catch (e) {
    return unreadable(found.path, e);
  }
}

/**
 * Keeps a PGlite data directory (a `dumpDataDir("none")` tarball) in the cache. Returns it as a Blob backed by the
 * kept file (see `readCachedDataDir`), or undefined when it was not kept (cache off or not writable).
 *
 * @example
 * ```ts
 * const onDisk = await writeCachedDataDir(["pristine", version], await db.dumpDataDir("none"));
 * ```
 */
export async function writeCachedDataDir(key: readonly unknown[], blob: Blob): Promise<Blob | undefined> {
  if (!diskCacheDir()) return undefined;
  const path = await writeCacheEntry(key, new Uint8Array(await blob.arrayBuffer()));
  return path ? await fileBlob(path).catch(() => undefined) : undefined;
}

/** A Blob read from `path` when it is read (`openAsBlob`: Node 19.8+, Bun, Deno), or of its bytes where that is missing. */
async function fileBlob(path: string): Promise<Blob> {
  const openAsBlob = (fs as { openAsBlob?: (path: string) => Promise<Blob> }).openAsBlob;
  return openAsBlob ? await openAsBlob(path) : new Blob([await readFile(path)]);
}

/**
 * A JSON value from the cache, or undefined.
 *
 * @example
 * ```ts
 * const expected = await readCachedJson<SchemaSnapshot>(key);
 * ```
 */
export async function readCachedJson<T>(key: readonly unknown[]): Promise<T | undefined> {
  const bytes = await readCacheEntry(key);
  return bytes && JSON.parse(new TextDecoder().decode(bytes)) as T;
}

/**
 * Keeps a JSON value in the cache.
 *
 * @example
 * ```ts
 * await writeCachedJson(key, snapshot);
 * ```
 */
export async function writeCachedJson(key: readonly unknown[], value: unknown): Promise<void> {
  if (diskCacheDir()) await writeCacheEntry(key, new TextEncoder().encode(JSON.stringify(value)));
}

/** Keeps the newest KEEP entries and removes temporary files left by crashed writers (older than an hour). */
async function prune(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const entries = await Promise.all(
    names.map(async (name) => ({ name, mtime: (await stat(join(dir, name)).catch(() => undefined))?.mtimeMs ?? 0 })),
  );
  const hourAgo = Date.now() - 3_600_000;
  const stale = entries.filter((e) => e.name.endsWith(".tmp") && e.mtime < hourAgo);
  const old = entries.filter((e) => e.name.endsWith(EXTENSION)).sort((a, b) => b.mtime - a.mtime).slice(KEEP);
  await Promise.all([...stale, ...old].map((e) => rm(join(dir, e.name), { force: true }).catch(() => {})));
}

const versions = new Map<string, Promise<string | undefined>>();

/**
 * Names a package's version where it cannot be looked up: the compiled binary bundles PGlite and pglite-tools,
 * with no package directory to read it from.
 *
 * @example
 * ```ts
 * usePackageVersion("@electric-sql/pglite", pglitePackage.version);
 * ```
 */
export function usePackageVersion(name: string, version: string): void {
  versions.set(name, Promise.resolve(version));
}

/**
 * The installed `@electric-sql/pglite` version (part of every key: a data directory is only loaded by the
 * PGlite that wrote it), or undefined when it cannot be found (the cache is then not used).
 *
 * @example
 * ```ts
 * const version = await pgliteVersion(); // "0.5.16"
 * ```
 */
export function pgliteVersion(): Promise<string | undefined> {
  return packageVersion("@electric-sql/pglite", () => import.meta.resolve("@electric-sql/pglite"));
}

/**
 * The installed version of a package, found from where `resolve` (an `import.meta.resolve` of one of its entry
 * points, written out so bundlers see it) says it is; undefined when it cannot be found.
 *
 * @example
 * ```ts
 * await packageVersion("@electric-sql/pglite-tools", () => import.meta.resolve("@electric-sql/pglite-tools/pg_dump"));
 * ```
 */
export function packageVersion(name: string, resolve: () => string): Promise<string | undefined> {
  let found = versions.get(name);
  if (!found) versions.set(name, found = findVersion(name, resolve));
  return found;
}

async function findVersion(name: string, resolve: () => string): Promise<string | undefined> {
  let resolved: string;
  try {
    resolved = resolve();
  } catch {
    return undefined;
  }
  // Deno answers with the npm specifier itself (npm:/@electric-sql/pglite@0.5.16/…).
  const escaped = name.replace(/[.*+?^$()|[\]\\/{}]/g, "\\$&");
  const inSpecifier = new RegExp(escaped + "@(\\d+\\.\\d+\\.\\d+[^/]*)").exec(resolved);
  if (inSpecifier) return inSpecifier[1];
  if (!resolved.startsWith("file:")) return undefined;
  for (let at = dirname(fileURLToPath(resolved)); at !== dirname(at); at = dirname(at)) {
    try {
      const manifest = JSON.parse(await readFile(join(at, "package.json"), "utf8"));
      if (manifest.name === name) return String(manifest.version);
    } catch {
      // not this directory
    }
  }
  return undefined;
}

/**
 * PGlite options that start an instance from a data directory snapshot. A snapshot is a copy of a running
 * cluster, so PostgreSQL starts it in recovery and arms its startup-progress timer, which PGlite never disarms: an
 * open instance would keep the process from exiting. The timer is turned off. Shared buffers: see `smallBuffers`.
 *
 * @example
 * ```ts
 * const db = await PGlite.create(fromSnapshot(PGlite, blob, { extensions }));
 * ```
 */
export function fromSnapshot<T extends PGliteOptions>(pglite: { defaultStartParams: string[] }, snapshot: Blob, options: T): T {
  const small = smallBuffers(pglite, options);
  return { ...small, loadDataDir: snapshot, startParams: [...small.startParams!, "-c", "log_startup_progress_interval=0"] };
}

/**
 * PGlite options with 16 MB of shared buffers, unless `options.startParams` sets them. PGlite's 128 MB are touched
 * at start: 120 MB of resident memory per instance, and a good part of its start-up, for test, scratch and CLI
 * databases whose working set fits in 16 MB (and whose "disk" is memory or a local directory anyway).
 *
 * @example
 * ```ts
 * const db = await PGlite.create(smallBuffers(PGlite, { extensions }));
 * ```
 */
export function smallBuffers<T extends PGliteOptions>(pglite: { defaultStartParams: string[] }, options: T): T {
  const own = options.startParams ?? pglite.defaultStartParams;
  if (own.some((p) => p.startsWith("shared_buffers"))) return { ...options, startParams: own };
  return { ...options, startParams: [...own, "-c", "shared_buffers=16MB"] };
}
