/**
 * The PGlite directory lock: stale locks (a dead pid, pid 1 of a restarted container, our own pid, a reused pid, a
 * lock from before a reboot) are taken over; a live holder is refused; a symlinked spelling of the directory finds
 * the same lock; and when many processes race for a stale lock, exactly one wins (real subprocesses).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after, describe, test } from "node:test";
import { lockDirectory } from "../src/cli/pglite-lock.ts";
import { bunBin, root } from "./helpers/cli.ts";

const base = mkdtempSync(join(tmpdir(), "orchwf-lock-"));
after(() => rmSync(base, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(base, `d${++n}`, "data");

function bootId(): string | undefined {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return undefined;
  }
}
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}
const linux = startTime(process.pid) !== undefined ? false : "needs /proc (Linux)";

/** A lock file as another process would have left it. */
function plant(dir: string, content: string, ageSeconds = 0): string {
  mkdirSync(dir, { recursive: true });
  const file = `${dir}.lock`;
  writeFileSync(file, content);
  if (ageSeconds > 0) {
    const then = Date.now() / 1000 - ageSeconds;
    utimesSync(file, then, then);
  }
  return file;
}

/** A child that takes the lock of `dir` when `go` appears, prints got/busy, and holds it until its stdin closes. */
const childScript = join(base, "child.ts");
writeFileSync(
  childScript,
  `import { existsSync } from "node:fs";
import { lockDirectory } from ${JSON.stringify(join(root, "src/cli/pglite-lock.ts"))};
const [dir, go] = process.argv.slice(2);
process.stdout.write("ready\\n");
const idle = new Int32Array(new SharedArrayBuffer(4));
while (go && !existsSync(go)) Atomics.wait(idle, 0, 0, 1);
try {
  const lock = lockDirectory(dir);
  process.stdout.write("got\\n");
  process.stdin.on("data", () => {});
  process.stdin.on("end", () => { lock.release(); process.exit(0); });
} catch (err) {
  process.stdout.write("busy " + err.code + "\\n");
  process.exit(0);
}
`,
);

interface Child {
  proc: ChildProcess;
  lines: string[];
  next(match: RegExp): Promise<string>;
  exited: Promise<number | null>;
}

function startChild(dir: string, go = ""): Child {
  const proc = spawn(bunBin, [childScript, dir, go], { stdio: ["pipe", "pipe", "inherit"] });
  const lines: string[] = [];
  const waiters: { match: RegExp; resolve: (line: string) => void }[] = [];
  let buffer = "";
  proc.stdout!.on("data", (chunk) => {
    buffer += String(chunk);
    let nl;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      lines.push(line);
      for (const w of waiters.splice(0)) {
        if (w.match.test(line)) w.resolve(line);
        else waiters.push(w);
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  return {
    proc,
    lines,
    exited,
    next: (match) => {
      const seen = lines.find((l) => match.test(l));
      return seen !== undefined ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
}

describe("PGlite directory lock", () => {
  test("a lock held by this process is refused, also through a symlinked path; released, it can be taken again", () => {
    const dir = freshDir();
    const lock = lockDirectory(dir);
    assert.ok(existsSync(`${dir}.lock`));
    const link = join(base, `link${n}`);
    symlinkSync(dir, link);
    assert.throws(() => lockDirectory(link), { code: "LOCK_TIMEOUT", message: /in use by this process already/ });
    assert.throws(() => lockDirectory(`${dir}/`), { code: "LOCK_TIMEOUT" });
    lock.release();
    assert.equal(existsSync(`${dir}.lock`), false);
    lockDirectory(link).release();
  });

  test("a stale lock naming our own pid (a restarted container reuses it) is taken over", () => {
    const dir = freshDir();
    plant(dir, `${process.pid}\n`); // the older format: just a pid
    lockDirectory(dir).release();
    plant(dir, JSON.stringify({ pid: process.pid, start: "1", boot: bootId(), host: hostname() }));
    lockDirectory(dir).release();
  });

  test("a lock naming pid 1 from before a container restart is taken over, in either format", { skip: linux }, () => {
    const dir = freshDir();
    // Written by the previous pid 1 (another start time) ...
    plant(dir, JSON.stringify({ pid: 1, start: String(Number(startTime(1)) + 12345), boot: bootId(), host: hostname() }));
    const lock = lockDirectory(dir);
    assert.equal(JSON.parse(readFileSync(lock.file, "utf8")).pid, process.pid);
    lock.release();
    // ... or, in the older pid-only format, written before the current pid 1 started.
    plant(dir, "1\n", Date.now() / 1000 - 1000 /* in 1970: before any boot */);
    lockDirectory(dir).release();
  });

  test("a lock from before a reboot, or by a process that has exited, is taken over", () => {
    const dir = freshDir();
    const parent = process.ppid; // alive
    plant(dir, JSON.stringify({ pid: parent, start: startTime(parent), boot: "not-this-boot", host: hostname() }));
    if (bootId() !== undefined) lockDirectory(dir).release();
    const gone = spawnSync(process.execPath, ["-e", "0"]).pid!;
    plant(dir, JSON.stringify({ pid: gone, start: "1", boot: bootId(), host: hostname() }));
    lockDirectory(dir).release();
  });

  test("a live holder in another process is refused with its pid; once it is killed (no release), the lock is taken over", async () => {
    const dir = freshDir();
    const holder = startChild(dir);
    try {
      assert.equal(await holder.next(/^(got|busy)/), "got");
      assert.throws(() => lockDirectory(dir), {
        code: "LOCK_TIMEOUT",
        message: new RegExp(`in use by another process \\(pid ${holder.proc.pid}; lock file .*data\\.lock\\)`),
      });
      holder.proc.kill("SIGKILL");
      await holder.exited;
      assert.ok(existsSync(`${dir}.lock`), "a killed process leaves its lock file behind");
      lockDirectory(dir).release();
    } finally {
      holder.proc.kill("SIGKILL");
    }
  });

  test("many processes racing to take over a stale lock: exactly one gets it", { timeout: 120_000 }, async () => {
    for (let round = 0; round < 3; round++) {
      const dir = freshDir();
      const go = join(base, `go${n}`);
      // Stale: pid 1 with another start time, the older format from 1970, or a process that has exited.
      const stale = [
        JSON.stringify({ pid: 1, start: "1", boot: bootId(), host: hostname() }),
        "1\n",
        `${spawnSync(process.execPath, ["-e", "0"]).pid}\n`,
      ][round];
      plant(dir, stale, round === 1 ? Date.now() / 1000 - 1000 : 0);
      const children = Array.from({ length: 6 }, () => startChild(dir, go));
      try {
        await Promise.all(children.map((c) => c.next(/^ready$/)));
        writeFileSync(go, "");
        const results = await Promise.all(children.map((c) => c.next(/^(got|busy)/)));
        assert.equal(results.filter((r) => r === "got").length, 1, `round ${round}: ${results.join(", ")}`);
        assert.deepEqual(results.filter((r) => r !== "got"), Array(5).fill("busy LOCK_TIMEOUT"));
        const winner = children[results.indexOf("got")];
        assert.equal(JSON.parse(readFileSync(`${dir}.lock`, "utf8")).pid, winner.proc.pid);
        winner.proc.stdin!.end();
        assert.equal(await winner.exited, 0);
        assert.equal(existsSync(`${dir}.lock`), false, "released by the winner");
      } finally {
        for (const c of children) c.proc.kill("SIGKILL");
      }
    }
  });

  test("a file where the directory should be, or a place this user cannot write, is a clear error naming the path", () => {
    const file = join(base, `file${++n}`);
    writeFileSync(file, "not a directory");
    assert.throws(() => lockDirectory(file), { code: "USAGE", message: new RegExp(`${file} is a file, not a directory`) });
    assert.throws(() => lockDirectory(join(file, "data")), { code: "USAGE", message: /is a file, not a directory/ });
  });
});
