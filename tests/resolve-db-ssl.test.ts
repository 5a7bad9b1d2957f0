/**
 * sslmode against a real PostgreSQL 15 server with SSL on (a throwaway cluster with a test CA, started here):
 * disable/allow/prefer/require/verify-ca/verify-full mean what libpq means by them. The server accepts TCP
 * connections over SSL only, so `allow` must fall back to encryption and `disable` must fail cleanly.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after, before, describe, test } from "node:test";
import type postgres from "postgres";
import { openDatabase } from "../src/cli/resolve-db.ts";
import { MigrationError } from "../src/mod.ts";
import { freePort } from "./helpers/postgres-server.ts";

function findBin(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  return readdirSync(root).sort((a, b) => Number(b) - Number(a)).map((v) => join(root, v, "bin")).find((d) => existsSync(join(d, "initdb")));
}
const bin = findBin();
const hasOpenssl = spawnSync("openssl", ["version"]).status === 0;
const skip = !bin || !hasOpenssl ? "needs initdb and openssl to start a server with SSL" : false;

describe("sslmode against a server with SSL", { skip, timeout: 180_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "orchwf-ssl-"));
  const asRoot = process.getuid?.() === 0;
  let port = 0;
  const run = (cmd: string, args: string[]) => {
    const [file, argv] = asRoot ? ["runuser", ["-u", "postgres", "--", join(bin!, cmd), ...args]] : [join(bin!, cmd), args];
    execFileSync(file, argv, { stdio: "pipe" });
  };
  const ssl = (file: string) => join(dir, file);

  before(async () => {
    chmodSync(dir, 0o777);
    const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "pipe", cwd: dir });
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=orchwf test CA", "-days", "2");
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other-ca.key", "-out", "other-ca.crt", "-subj", "/CN=other CA", "-days", "2");
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost");
    writeFileSync(ssl("san.ext"), "subjectAltName=DNS:localhost\n");
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "san.ext");
    chmodSync(ssl("server.key"), 0o600);
    if (asRoot) {
      const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
      const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
      chownSync(ssl("server.key"), uid, gid);
      chownSync(ssl("server.crt"), uid, gid);
    }
    port = await freePort();
    const data = join(dir, "data");
    run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"]);
    // TCP only over SSL: an unencrypted TCP connection is rejected by pg_hba.
    writeFileSync(join(data, "pg_hba.conf"), "local all all trust\nhostssl all all 127.0.0.1/32 trust\n");
    run("pg_ctl", [
      "-D", data, "-l", join(dir, "log"), "-w", "start",
      "-o", `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c ssl=on -c ssl_cert_file=${ssl("server.crt")} -c ssl_key_file=${ssl("server.key")}`,
    ]);
  });

  after(() => {
    if (port) run("pg_ctl", ["-D", join(dir, "data"), "-m", "immediate", "stop"]);
    rmSync(dir, { recursive: true, force: true });
  });

  async function encrypted(host: string, query: string): Promise<boolean> {
    const open = await openDatabase(`postgres://postgres@${host}:${port}/postgres?${query}`);
    try {
      const [row] = await (open.db as postgres.Sql)`SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()`;
      return row.ssl;
    } finally {
      await open.close();
    }
  }

  async function refused(host: string, query: string, pattern: RegExp): Promise<void> {
    await assert.rejects(openDatabase(`postgres://postgres@${host}:${port}/postgres?${query}`), (err: unknown) => {
      assert.ok(err instanceof MigrationError, String(err));
      assert.equal(err.code, "CONNECTION_FAILED");
      assert.match(err.message, pattern);
      return true;
    });
  }

  test("prefer (the default), require: encrypted without checking the certificate", async () => {
    assert.equal(await encrypted("127.0.0.1", "sslmode=prefer"), true);
    assert.equal(await encrypted("127.0.0.1", "connect_timeout=5"), true, "prefer is the default");
    assert.equal(await encrypted("127.0.0.1", "sslmode=require"), true);
  });

  test("allow starts unencrypted and falls back to SSL when the server demands it; disable fails cleanly", async () => {
    assert.equal(await encrypted("127.0.0.1", "sslmode=allow"), true);
    await refused("127.0.0.1", "sslmode=disable", /no pg_hba\.conf entry.*no encryption/);
  });

  test("verify-ca checks the chain but not the host name; verify-full checks both", async () => {
    assert.equal(await encrypted("127.0.0.1", `sslmode=verify-ca&sslrootcert=${ssl("ca.crt")}`), true);
    await refused("127.0.0.1", `sslmode=verify-ca&sslrootcert=${ssl("other-ca.crt")}`, /certificate was rejected \(sslmode=verify-ca\)/);
    assert.equal(await encrypted("localhost", `sslmode=verify-full&sslrootcert=${ssl("ca.crt")}`), true);
    await refused("127.0.0.1", `sslmode=verify-full&sslrootcert=${ssl("ca.crt")}`, /certificate was rejected \(sslmode=verify-full\).*127\.0\.0\.1/);
    assert.equal(await encrypted("127.0.0.1", `sslmode=require&sslrootcert=${ssl("ca.crt")}`), true, "require + root cert = verify-ca");
    await refused("127.0.0.1", `sslmode=require&sslrootcert=${ssl("other-ca.crt")}`, /certificate was rejected/);
  });
});
