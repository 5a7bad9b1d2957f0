/** Running one contender as a subprocess: wall time around it, peak RSS from GNU time, its JSON line if any. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A command line to time. */
export interface Command {
  cmd: string;
  args: string[];
  env?: Record<string, string>;
}

/** One timed run. */
export interface Sample {
  /** Wall time of the whole process, start to exit. */
  ms: number;
  /** Peak resident set size in MiB (GNU time's %M), or undefined without GNU time. */
  rssMb?: number;
  /** Time the process measured itself (our runners print it), when it did. */
  innerMs?: number;
  stdout: string;
}

const GNU_TIME = "/usr/bin/time";

/** True when GNU time is installed (`apt-get install -y time`), for peak memory. */
export const hasGnuTime: boolean = existsSync(GNU_TIME);

/** Runs `c` once; throws with its output when it fails. */
export function runOnce(c: Command): Sample {
  const dir = mkdtempSync(join(tmpdir(), "orchwf-bench-"));
  const memFile = join(dir, "rss");
  const [cmd, args] = hasGnuTime ? [GNU_TIME, ["-f", "%M", "-o", memFile, c.cmd, ...c.args]] : [c.cmd, c.args];
  const started = performance.now();
  const r = spawnSync(cmd, args, {
    env: { ...process.env, ...c.env },
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  const ms = performance.now() - started;
  try {
    if (r.error) throw r.error;
    if (r.status !== 0) {
      throw new Error(`${c.cmd} ${c.args.join(" ")} exited ${r.status}:\n${(r.stderr ?? "").slice(-2000)}\n${(r.stdout ?? "").slice(-2000)}`);
    }
    const rssKb = hasGnuTime ? Number(readFileSync(memFile, "utf8").trim().split("\n").pop()) : NaN;
    const last = r.stdout.trim().split("\n").pop() ?? "";
    let innerMs: number | undefined;
    if (last.startsWith("{")) {
      try {
        innerMs = JSON.parse(last).ms;
      } catch { /* not ours */ }
    }
    return { ms, rssMb: Number.isFinite(rssKb) ? rssKb / 1024 : undefined, innerMs, stdout: r.stdout };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The median of a non-empty list. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
