/**
 * A real PostgreSQL server for tests: ORCHWF_TEST_DATABASE_URL when set, else a throwaway cluster started
 * from the local binaries (initdb/pg_ctl, as the postgres user when we are root) and stopped at exit,
 * else none: the PG tests are skipped with a loud message, which CI=true turns into a failure.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, chmodSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

let server: Promise<string | undefined> | undefined;

/** URL of a server's maintenance database (`postgres`), or undefined when there is none to test against. */
export function postgresServerUrl(): Promise<string | undefined> {
  server ??= start();
  return server;
}

async function start(): Promise<string | undefined> {
  const fromEnv = process.env.ORCHWF_TEST_DATABASE_URL;
  if (fromEnv) return fromEnv;
  const bin = findBinDir();
  if (!bin) return unavailable("no initdb/pg_ctl found");
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "orchwf-pg-"));
  chmodSync(dir, 0o777);
  const data = join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) => {
    const [file, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", join(bin, cmd), ...args]] : [join(bin, cmd), args];
    execFileSync(file, argv, { stdio: "pipe" });
  };
  try {
    run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"]);
    run("pg_ctl", [
      "-D", data, "-l", join(dir, "log"), "-w", "start",
      "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200`,
    ]);
  } catch (err) {
    return unavailable(`could not start a throwaway cluster: ${(err as Error).message}`);
  }
  process.on("exit", () => {
    const stop = asRoot ? ["runuser", ["-u", "postgres", "--", join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "stop"]] as const
      : [join(bin, "pg_ctl"), ["-D", data, "-m", "immediate", "stop"]] as const;
    spawnSync(stop[0], [...stop[1]], { stdio: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  });
  return `postgres://postgres@127.0.0.1:${port}/postgres`;
}

function findBinDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  return versions.map((v) => join(root, v, "bin")).find((d) => existsSync(join(d, "initdb")));
}

function unavailable(reason: string): undefined {
  const message = `\n*** PostgreSQL tests SKIPPED: ${reason}. Set ORCHWF_TEST_DATABASE_URL to run them. ***\n`;
  if (process.env.CI === "true") throw new Error(`CI=true forbids skipping the PostgreSQL tests: ${reason}`);
  console.error(message);
  return undefined;
}

/** A TCP port on 127.0.0.1 that is free right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on("error", reject);
  });
}
