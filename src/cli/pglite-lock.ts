/**
 * One process at a time per PGlite data directory. Two processes writing the same directory lose data silently, so
 * the CLI holds `DIR.lock` (DIR being the directory's real path, so a symlinked spelling finds the same lock) while it
 * has DIR open.
 *
 * Node, Bun and Deno share no lock the OS drops when a process dies (flock is Deno-only; Node has no binding without
 * a native addon), so the lock file names its holder precisely: pid, the process's start time (Linux:
 * /proc/PID/stat) and the boot id. A lock whose holder is gone, whose pid now belongs to another process (pid 1 of
 * a restarted container, or our own pid), or that was written before a reboot, is stale. Creating the lock is
 * atomic (a complete file is hard-linked into place, so it is never seen half written) and so is taking over a
 * stale one: only the process that created `DIR.lock.takeover` (mkdir) may replace it, and it checks again first.
 * @module
 */
import { accessSync, constants, linkSync, mkdirSync, readFileSync, realpathSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import process from "node:process";
import { MigrationError } from "../core/errors.ts";
import { bootId, pidExists, startedAtMs, startTime } from "../core/process-identity.ts";

/** A held lock; `release()` removes the lock file. */
export interface DirectoryLock {
  /** The lock file. */
  readonly file: string;
  /** The directory's real path (symlinks resolved): open PGlite there. */
  readonly dir: string;
  release(): void;
}

/** Who holds a lock, as written in the lock file. */
interface Holder {
  pid: number;
  /** Start time of the process in clock ticks since boot (Linux), which tells a reused pid from the holder. */
  start?: string;
  /** /proc/sys/kernel/random/boot_id when the lock was taken. */
  boot?: string;
  host?: string;
}

/** Lock files this process holds (a second open of the same directory in one process is refused too). */
const held = new Set<string>();

/** How long a takeover may take before its marker is considered left by a process that died during it. */
const TAKEOVER_STALE_MS = 10_000;

/**
 * Takes the lock of a PGlite data directory, creating the directory if needed. A lock left by a process that no
 * longer runs is taken over; one held by a live process is an error (code `LOCK_TIMEOUT`) naming that pid.
 *
 * @example
 * ```ts
 * const lock = lockDirectory("./.orchwf/pgdata");
 * try { /* open PGlite there *\/ } finally { lock.release(); }
 * ```
 */
export function lockDirectory(dir: string): DirectoryLock {
  const real = realDirectory(dir);
  const file = `${real}.lock`;
  const me = currentHolder();
  const mine = JSON.stringify(me);
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  fsStep(() => writeFileSync(temp, `${mine}\n`, { flag: "wx" }), dir, `cannot create the lock file for the PGlite database ${dir} next to it (${temp})`);
  try {
    for (let attempt = 0; attempt < 50; attempt++) {
      if (tryLink(temp, file)) return hold(real, file, mine);
      const seen = readLock(file);
      if (seen === undefined) continue; // released meanwhile: try again
      const verdict = judge(seen.holder, file);
      if (verdict.alive) throw inUse(dir, file, seen.holder, verdict.why);
      if (takeOver(file, temp, seen.text)) return hold(real, file, mine);
    }
    throw new MigrationError("LOCK_TIMEOUT", `could not take the lock file ${file} for the PGlite database ${dir}: it kept changing`, { file });
  } finally {
    rmSync(temp, { force: true });
  }
}

/** The directory's real path (symlinks resolved), creating it first; a clear error when that is impossible. */
function realDirectory(dir: string): string {
  fsStep(() => mkdirSync(dir, { recursive: true }), dir, `cannot create the PGlite database directory ${dir}`);
  const real = fsStep(() => realpathSync(dir), dir, `cannot resolve the PGlite database directory ${dir}`);
  if (!statSync(real).isDirectory()) {
    throw new MigrationError("USAGE", `the PGlite database path ${dir} is a file, not a directory; name a directory (pglite:DIR)`, {
      file: dir,
    });
  }
  fsStep(() => accessSync(real, constants.R_OK | constants.W_OK | constants.X_OK), dir, `cannot use the PGlite database directory ${dir}`);
  return real.replace(/[\\/]+$/, "");
}

/** Runs a file-system step, turning its failure into an error that names the path and says what to do. */
function fsStep<T>(step: () => T, path: string, what: string): T {
  try {
    return step();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "EACCES" || code === "EPERM" || code === "EROFS") {
      throw new MigrationError(
        "PERMISSION_DENIED",
        `${what}: permission denied (${code}). PGlite needs to write there: give this user write access to it (and to its parent directory, which holds the lock file), or use another pglite:PATH`,
        { file: path, cause: err },
      );
    }
    if (code === "ENOTDIR" || code === "EEXIST") {
      throw new MigrationError("USAGE", `${what}: a part of the path ${path} is a file, not a directory; name a directory (pglite:DIR)`, {
        file: path,
        cause: err,
      });
    }
    throw new MigrationError("CONNECTION_FAILED", `${what}: ${(err as Error).message}`, { file: path, cause: err });
  }
}

function hold(dir: string, file: string, mine: string): DirectoryLock {
  held.add(file);
  let released = false;
  return {
    file,
    dir,
    release() {
      if (released) return;
      released = true;
      held.delete(file);
      // Only our own lock: if it was (wrongly) taken over, the new holder's file stays.
      if (readLock(file)?.text === mine) rmSync(file, { force: true });
    },
  };
}

/** Hard-links the complete lock file into place: fails, changing nothing, when a lock file exists. */
function tryLink(temp: string, file: string): boolean {
  try {
    linkSync(temp, file);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === "EEXIST") return false;
    return fsStep(() => {
      throw err;
    }, file, `cannot create the lock file ${file}`);
  }
}

/**
 * Replaces the stale lock whose content is `staleText`, atomically with respect to other processes doing the same:
 * false when another process got there first (the caller looks again and finds that process's live lock).
 */
function takeOver(file: string, temp: string, staleText: string): boolean {
  const marker = `${file}.takeover`;
  try {
    mkdirSync(marker);
  } catch (err) {
    if ((err as { code?: string }).code !== "EEXIST") throw err;
    breakAbandonedMarker(marker);
    pause(5);
    return false;
  }
  try {
    if (readLock(file)?.text !== staleText) return false; // changed since we judged it
    rmSync(file, { force: true });
    return tryLink(temp, file); // false when a plain create won the gap: that lock is live, and the caller sees it
  } finally {
    rmdirSync(marker);
  }
}

/** A takeover lasts microseconds; a marker older than that was left by a process killed during one. */
function breakAbandonedMarker(marker: string): void {
  try {
    if (Date.now() - statSync(marker).mtimeMs > TAKEOVER_STALE_MS) rmdirSync(marker);
  } catch {
    // gone already
  }
}

function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function readLock(file: string): { text: string; holder?: Holder; mtimeMs: number } | undefined {
  try {
    const text = readFileSync(file, "utf8").trim();
    return { text, holder: parseHolder(text), mtimeMs: statSync(file).mtimeMs };
  } catch {
    return undefined;
  }
}

/** The current format (JSON) or the older one (just the pid). */
function parseHolder(text: string): Holder | undefined {
  if (/^\d+$/.test(text)) return { pid: Number(text) };
  try {
    const h = JSON.parse(text) as Holder;
    return Number.isSafeInteger(h?.pid) && h.pid > 0 ? h : undefined;
  } catch {
    return undefined;
  }
}

const SELF = "self";

/** Is the process that wrote this lock still running? */
function judge(holder: Holder | undefined, file: string): { alive: boolean; why?: string } {
  if (holder === undefined) return { alive: false }; // never finished writing it, or not ours
  if (holder.host !== undefined && holder.host !== hostname()) {
    return { alive: true, why: `on host ${holder.host}, where this process cannot check it` };
  }
  const boot = bootId();
  if (holder.boot !== undefined && boot !== undefined && holder.boot !== boot) return { alive: false }; // rebooted since
  if (holder.pid === process.pid) return held.has(file) ? { alive: true, why: SELF } : { alive: false };
  if (!pidExists(holder.pid)) return { alive: false };
  const start = startTime(holder.pid);
  if (holder.start !== undefined && start !== undefined) return { alive: holder.start === start }; // else pid reused
  if (holder.start === undefined && start !== undefined) {
    // A lock in the older format: a process that started after the lock was written cannot have written it.
    const written = readLock(file)?.mtimeMs;
    const started = startedAtMs(start);
    if (written !== undefined && started !== undefined && started > written + 2_000) return { alive: false };
  }
  return { alive: true };
}

function inUse(dir: string, file: string, holder: Holder | undefined, why?: string): MigrationError {
  const who = why === SELF
    ? `this process already (lock file ${file}); close it first`
    : `another process (pid ${holder?.pid}${why ? ` ${why}` : ""}; lock file ${file}); PGlite allows one process per ` +
      `directory, so wait for it to finish (if that process is not using it, delete the lock file)`;
  return new MigrationError("LOCK_TIMEOUT", `the PGlite database ${dir} is in use by ${who}`, { file });
}

function currentHolder(): Holder {
  return { pid: process.pid, start: startTime(process.pid), boot: bootId(), host: hostname() };
}
