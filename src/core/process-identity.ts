/**
 * Who is running: process identity on this machine, for telling a leftover of a dead process (a lock file, a test
 * database) from one a live process still holds. Linux answers from /proc; elsewhere only "does the pid exist".
 * @module
 */
import { readFileSync } from "node:fs";
import process from "node:process";

/** Does a process with this pid exist (ours or another user's)? */
export function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM"; // exists, owned by someone else
  }
}

/** Field 22 of /proc/PID/stat (after the parenthesised command name, which may itself contain spaces). */
export function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined; // not Linux, or gone
  }
}

/** This boot of the machine (Linux): tells a pid of a previous boot from one of this boot. */
export function bootId(): string | undefined {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return undefined;
  }
}

/** Wall-clock start of a process from its start time in ticks (USER_HZ is 100 on every Linux port). */
export function startedAtMs(ticks: string): number | undefined {
  try {
    const btime = /^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))?.[1];
    return btime === undefined ? undefined : Number(btime) * 1000 + Number(ticks) * 10;
  } catch {
    return undefined;
  }
}
