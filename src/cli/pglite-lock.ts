/**
 * One process at a time per PGlite data directory. Two processes writing the same directory lose data
 * silently, so the CLI holds `DIR.lock` (created exclusively, holding its pid) while it has DIR open.
 * @module
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import process from "node:process";
import { MigrationError } from "../core/errors.ts";

/** A held lock; `release()` removes the lock file. */
export interface DirectoryLock {
  /** The lock file. */
  readonly file: string;
  release(): void;
}

/**
 * Takes the lock of a PGlite data directory. A lock left by a process that no longer runs is taken over;
 * one held by a live process is an error naming that pid.
 *
 * @example
 * ```ts
 * const lock = lockDirectory("./.orchwf/pgdata");
 * try { /* open PGlite there *\/ } finally { lock.release(); }
 * ```
 */
export function lockDirectory(dir: string): DirectoryLock {
  const file = `${dir.replace(/[\\/]+$/, "")}.lock`;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: "wx" });
      let released = false;
      return {
        file,
        release() {
          if (released) return;
          released = true;
          rmSync(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as { code?: string }).code !== "EEXIST") throw err;
      const holder = readHolder(file);
      if (holder !== undefined && isAlive(holder)) {
        throw new MigrationError(
          "LOCK_TIMEOUT",
          `the PGlite database ${dir} is in use by another process (pid ${holder}, lock file ${file}); PGlite allows one process per directory, so wait for it to finish`,
          { file },
        );
      }
      rmSync(file, { force: true }); // stale: its process is gone (or it never wrote a pid)
    }
  }
  throw new MigrationError("LOCK_TIMEOUT", `could not take the lock file ${file} for the PGlite database ${dir}`, { file });
}

function readHolder(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, "utf8").trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM"; // exists, owned by someone else
  }
}
