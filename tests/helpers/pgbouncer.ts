/**
 * A throwaway PgBouncer in front of the test PostgreSQL server, started by the test itself: generated ini in a
 * temp dir, a free loopback port, run as the postgres user when we are root. Undefined when pgbouncer is not
 * installed (CI installs it: see .ci/run).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./postgres-server.ts";

export interface PgBouncer {
  /** URL of `database` through the bouncer. */
  url(database: string, user?: string, password?: string): string;
  stop(): Promise<void>;
}

export interface PgBouncerOptions {
  /** Pooling mode; default "transaction". */
  poolMode?: "transaction" | "session";
  /** Users and passwords; when given, auth_type is plain (wrong passwords are refused), else any. */
  users?: Record<string, string>;
}

export function pgbouncerPath(): string | undefined {
  const found = spawnSync("sh", ["-c", "command -v pgbouncer || ls /usr/sbin/pgbouncer"], { encoding: "utf8" });
  const path = found.stdout.trim().split("\n")[0];
  return found.status === 0 && path ? path : undefined;
}

/** Starts PgBouncer in front of `serverUrl` (a postgres:// URL of the test server). */
export async function startPgBouncer(serverUrl: string, options: PgBouncerOptions = {}): Promise<PgBouncer | undefined> {
  const bin = pgbouncerPath();
  if (!bin && process.env.CI === "true") throw new Error("CI=true forbids skipping the PgBouncer tests: install pgbouncer");
  if (!bin) return undefined;
  const server = new URL(serverUrl);
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "orchwf-pgbouncer-"));
  chmodSync(dir, 0o777);
  const auth = options.users
    ? `auth_type = plain\nauth_file = ${join(dir, "users.txt")}\n`
    : "auth_type = any\n";
  if (options.users) {
    const lines = Object.entries(options.users).map(([u, p]) => `"${u}" "${p}"`);
    writeFileSync(join(dir, "users.txt"), `${lines.join("\n")}\n`);
  }
  const serverUser = decodeURIComponent(server.username || "postgres");
  writeFileSync(
    join(dir, "pgbouncer.ini"),
    `[databases]
* = host=${server.hostname} port=${server.port || 5432} user=${serverUser}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
${auth}pool_mode = ${options.poolMode ?? "transaction"}
max_client_conn = 500
default_pool_size = 10
logfile = ${join(dir, "pgbouncer.log")}
pidfile = ${join(dir, "pgbouncer.pid")}
ignore_startup_parameters = extra_float_digits,options
`,
  );
  chmodSync(join(dir, "pgbouncer.ini"), 0o644);
  const asRoot = process.getuid?.() === 0;
  const [file, args] = asRoot
    ? ["runuser", ["-u", "postgres", "--", bin, join(dir, "pgbouncer.ini")]]
    : [bin, [join(dir, "pgbouncer.ini")]];
  const child: ChildProcess = spawn(file, args, { stdio: "ignore" });
  await waitForPort(port);
  return {
    url(database, user = serverUser, password) {
      const cred = password === undefined ? encodeURIComponent(user) : `${encodeURIComponent(user)}:${encodeURIComponent(password)}`;
      return `postgres://${cred}@127.0.0.1:${port}/${database}`;
    },
    async stop() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.end();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`pgbouncer did not listen on port ${port}`);
}
