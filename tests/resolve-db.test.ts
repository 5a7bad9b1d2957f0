/**
 * Opening the database the CLI names: postgres:// URLs read as libpq reads them (IPv6, unix sockets, ?password=,
 * sslmode), passwords never printed even when the URL cannot be parsed, and clear coded errors for a PGlite path
 * that is a file or not writable, an unreadable migration file, and a role without CREATE on the schema.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after, describe, test } from "node:test";
import postgres from "postgres";
import { maskUrl, openDatabase, urlSecrets } from "../src/cli/resolve-db.ts";
import { parsePostgresUrl } from "../src/cli/postgres-url.ts";
import { MigrationError } from "../src/mod.ts";
import { bunBin, bunRunner, cleanEnv, root, runWith } from "./helpers/cli.ts";
import { postgresServerUrl } from "./helpers/postgres-server.ts";

const serverUrl = await postgresServerUrl();
const noServer = serverUrl ? false : "no PostgreSQL server here";
const base = mkdtempSync(join(tmpdir(), "orchwf-resolve-"));
chmodSync(base, 0o755); // reachable by the unprivileged user some tests run as
after(() => rmSync(base, { recursive: true, force: true }));

const usage = (pattern: RegExp) => (err: unknown) => {
  assert.ok(err instanceof MigrationError, String(err));
  assert.equal(err.code, "USAGE");
  assert.match(err.message, pattern);
  return true;
};

describe("postgres:// URLs read as libpq reads them", () => {
  test("IPv6 hosts in brackets, with and without a port", () => {
    const a = parsePostgresUrl("postgres://u@[::1]:5433/db");
    assert.deepEqual([a.hosts, a.ports, a.database, a.user], [["::1"], [5433], "db", "u"]);
    const b = parsePostgresUrl("postgresql://u@[2001:db8::7]/db");
    assert.deepEqual([b.hosts, b.ports], [["2001:db8::7"], [5432]]);
    assert.throws(() => parsePostgresUrl("postgres://u@[::1/db"), usage(/IPv6 host must be written in brackets/));
  });

  test("unix socket directories: ?host=, a percent-encoded host, ?port=; never encrypted", () => {
    const q = parsePostgresUrl("postgres://u@/db?host=/var/run/postgresql&port=5433&sslmode=require");
    assert.equal(q.socket, "/var/run/postgresql/.s.PGSQL.5433");
    assert.equal(q.ssl, false);
    const p = parsePostgresUrl("postgres://u@%2Fvar%2Frun%2Fpostgresql/db");
    assert.equal(p.socket, "/var/run/postgresql/.s.PGSQL.5432");
    assert.equal(p.database, "db");
  });

  test("several hosts each with its own port (the default when left out)", () => {
    const m = parsePostgresUrl("postgres://u@h1:5433,h2,[::1]:6000/db");
    assert.deepEqual([m.hosts, m.ports], [["h1", "h2", "::1"], [5433, 5432, 6000]]);
    assert.throws(() => parsePostgresUrl("postgres://u@h1:x/db"), usage(/port "x" is not a number/));
  });

  test("?password=, ?user=, ?dbname= are connection settings, not server settings; the rest are run-time settings", () => {
    const t = parsePostgresUrl("postgres://h/x?password=p%20w%2Fd&user=app&dbname=main&application_name=me&search_path=s");
    assert.deepEqual([t.password, t.user, t.database], ["p w/d", "app", "main"]);
    assert.deepEqual(t.settings, { application_name: "me", search_path: "s" });
    assert.equal(parsePostgresUrl("postgres://app:s%2Fcr%40t@h/db").password, "s/cr@t");
    assert.deepEqual(parsePostgresUrl("postgres://h/db?channel_binding=prefer&keepalives=1").settings, {});
    assert.throws(() => parsePostgresUrl("postgres://h/db?channel_binding=require"), usage(/channel_binding=require is not supported/));
    assert.throws(() => parsePostgresUrl("postgres://h/db?passfile=/x"), usage(/libpq parameter passfile is not supported/));
  });

  test("sslmode maps to what libpq means by it", () => {
    const ssl = (mode: string, extra = "") => parsePostgresUrl(`postgres://h/db?sslmode=${mode}${extra}`).ssl;
    assert.equal(ssl("disable"), false);
    assert.equal(ssl("allow"), false); // unencrypted first; encrypted only if the server demands it
    assert.equal(ssl("prefer"), "prefer");
    assert.equal(parsePostgresUrl("postgres://h/db", {}).ssl, "prefer", "libpq's default");
    assert.equal(parsePostgresUrl("postgres://h/db", { PGSSLMODE: "disable" }).ssl, false);
    assert.deepEqual(ssl("require"), { rejectUnauthorized: false });
    assert.equal(parsePostgresUrl("postgres://h/db?ssl=true").sslmode, "require");
    const rootCert = join(base, "root.crt");
    writeFileSync(rootCert, "-----BEGIN CERTIFICATE-----\n");
    const ca = ssl("verify-ca", `&sslrootcert=${rootCert}`) as Record<string, unknown>;
    assert.equal(ca.rejectUnauthorized, true);
    assert.equal(ca.ca, "-----BEGIN CERTIFICATE-----\n");
    assert.equal((ca.checkServerIdentity as () => unknown)(), undefined, "verify-ca checks the chain, not the host name");
    const full = ssl("verify-full", "&sslrootcert=system") as Record<string, unknown>;
    assert.equal(full.rejectUnauthorized, true);
    assert.equal(full.ca, undefined, "system roots");
    const check = full.checkServerIdentity as (host: string, cert: object) => Error | undefined;
    assert.ok(check("h", { subject: { CN: "other" }, subjectaltname: "DNS:other" }) instanceof Error, "verify-full checks the host name");
    assert.equal((ssl("require", `&sslrootcert=${rootCert}`) as Record<string, unknown>).rejectUnauthorized, true, "require + a root cert = verify-ca");
    assert.throws(() => ssl("verify-full"), usage(/no root certificate: give it with sslrootcert=FILE/));
    assert.throws(() => ssl("bogus"), usage(/sslmode "bogus" is not one of disable, allow, prefer, require, verify-ca, verify-full/));
  });

  test("the password is masked before parsing: unencoded /, space, @ and ?password=", () => {
    assert.equal(maskUrl("postgres://app:pa/ss word@db:5432/app"), "postgres://app:****@db:5432/app");
    assert.equal(maskUrl("postgres://app:p@ss@db/app"), "postgres://app:****@db/app");
    assert.equal(maskUrl("postgres://db/app?sslmode=disable&password=s3 cret"), "postgres://db/app?sslmode=disable&password=****");
    assert.deepEqual(urlSecrets("postgres://app:pa%2Fss@db/app"), ["pa%2Fss", "pa/ss"]);
    assert.throws(() => parsePostgresUrl("postgres://app:pa/ss w0rd@db/app"), (err: Error) => {
      assert.match(err.message, /percent-encode the user name and password/);
      assert.ok(!err.message.includes("pa/ss") && !err.message.includes("w0rd"), err.message);
      return true;
    });
  });
});

describe("postgres:// URLs against the server", { skip: noServer }, () => {
  const server = serverUrl ? new URL(serverUrl) : undefined;
  const who = server ? `${server.username || "postgres"}` : "";
  const dbName = server ? server.pathname.slice(1) || "postgres" : "";

  async function socketDir(): Promise<string | undefined> {
    const sql = postgres(serverUrl!, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql`SELECT split_part(current_setting('unix_socket_directories'), ',', 1) AS dir`;
      return row.dir || undefined;
    } finally {
      await sql.end();
    }
  }

  async function connectedOverSocket(url: string): Promise<boolean> {
    const open = await openDatabase(url);
    try {
      const [row] = await (open.db as postgres.Sql)`SELECT inet_server_addr() IS NULL AS unix`;
      return row.unix;
    } finally {
      await open.close();
    }
  }

  test("?host=/socket/dir and a percent-encoded socket host connect through the unix socket", async (t) => {
    const dir = await socketDir();
    if (!dir) return t.skip("the server has no unix socket");
    const port = server!.port || "5432";
    assert.equal(await connectedOverSocket(`postgres://${who}@/${dbName}?host=${dir}&port=${port}`), true);
    assert.equal(await connectedOverSocket(`postgres://${who}@${encodeURIComponent(dir)}:${port}/${dbName}`), true);
  });

  test("?password= is used as the password, not sent as a server setting; sslmode disable/allow/prefer connect", async () => {
    for (const query of ["password=unused%20here", "sslmode=disable", "sslmode=allow", "sslmode=prefer"]) {
      const open = await openDatabase(`${serverUrl}${serverUrl!.includes("?") ? "&" : "?"}${query}`);
      try {
        const [row] = await (open.db as postgres.Sql)`SELECT 1 AS one`;
        assert.equal(row.one, 1, query);
        assert.ok(!open.label.includes("unused"), open.label);
      } finally {
        await open.close();
      }
    }
  });

  test("sslmode=require on a server without SSL says so (when the server has it, it connects)", async () => {
    const url = `${serverUrl}${serverUrl!.includes("?") ? "&" : "?"}sslmode=require`;
    try {
      const open = await openDatabase(url);
      await open.close(); // this server speaks SSL
    } catch (err) {
      assert.ok(err instanceof MigrationError);
      assert.equal(err.code, "CONNECTION_FAILED");
      assert.match(err.message, /does not support SSL, but the URL asks for sslmode=require/);
    }
  });

  test("an IPv6 URL reaches ::1 (or fails cleanly, naming it, when the server does not listen there)", async () => {
    const url = `postgres://${who}@[::1]:${server!.port || "5432"}/${dbName}?connect_timeout=3`;
    try {
      const open = await openDatabase(url);
      await open.close();
    } catch (err) {
      assert.ok(err instanceof MigrationError, String(err));
      assert.equal(err.code, "CONNECTION_FAILED");
      assert.match(err.message, /::1/);
      assert.doesNotMatch(err.message, /getaddrinfo|ENOTFOUND/);
    }
  });
});

/** Runs the CLI as an unprivileged user (as root, file permissions do not stop anything). */
function cliAsUser(args: string[]) {
  if (process.getuid?.() !== 0) return runWith(bunRunner, args, { env: cleanEnv() });
  return runWith({ name: "bun", command: "runuser", prefix: ["-u", "nobody", "--", bunBin, join(root, "src/cli/main.ts")] }, args, {
    env: cleanEnv({ HOME: base }),
    cwd: base,
  });
}
const posix = process.platform === "win32" ? "POSIX permissions" : false;

describe("what the CLI prints", () => {
  test("a password with an unencoded / or space is never printed, in text or JSON", { timeout: 120_000 }, async () => {
    const urls = [
      "postgres://app:pa/ss wd@127.0.0.1:1/app",
      "postgres://app:pa ss wd@127.0.0.1:1/app",
      "postgres://app@127.0.0.1:1/app?password=pa/ss wd",
      "mysql://root:pa/ss wd@h/db",
    ];
    const runs = await Promise.all(urls.flatMap((url) => [["status", "--db", url], ["status", "--json", "--db", url]].map((args) => runWith(bunRunner, args))));
    for (const run of runs) {
      const out = `${run.stdout}${run.stderr}`;
      assert.ok(run.code === 1 || run.code === 2, out);
      assert.ok(!out.includes("pa/ss") && !out.includes("ss wd") && !out.includes("pa ss"), out);
      assert.match(out, /\*\*\*\*/);
    }
  });

  test("a pglite: path that is a file, or in a place this user cannot write: coded errors naming the path", { skip: posix, timeout: 60_000 }, async () => {
    const file = join(base, "a-file");
    writeFileSync(file, "x");
    const onFile = await runWith(bunRunner, ["status", "--json", "--db", `pglite:${file}`]);
    assert.equal(onFile.code, 2, onFile.stderr);
    assert.equal(JSON.parse(onFile.stdout).error.code, "USAGE");
    assert.match(JSON.parse(onFile.stdout).error.message, new RegExp(`${file} is a file, not a directory`));

    const locked = join(base, "read-only");
    mkdirSync(locked, { mode: 0o755 });
    chmodSync(locked, 0o555);
    const denied = await cliAsUser(["up", "--json", "--db", `pglite:${join(locked, "data")}`]);
    assert.equal(denied.code, 1, denied.stderr);
    const { error } = JSON.parse(denied.stdout);
    assert.equal(error.code, "PERMISSION_DENIED");
    assert.match(error.message, new RegExp(`${join(locked, "data")}: permission denied.*give this user write access`));
  });

  test("an unreadable migration file: UNREADABLE_FILE naming it and the fix", { skip: posix, timeout: 60_000 }, async () => {
    const dir = join(base, "migrations");
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, "1_a.up.sql"), "CREATE TABLE a (id int);\n", { mode: 0o600 });
    chmodSync(join(dir, "1_a.up.sql"), 0o000);
    const run = await cliAsUser(["status", "--json", "--dir", dir, "--db", "pglite:memory"]);
    assert.equal(run.code, 1, run.stderr);
    const { error } = JSON.parse(run.stdout);
    assert.equal(error.code, "UNREADABLE_FILE");
    assert.match(error.message, /1_a\.up\.sql: permission denied: give the user running the migrations read access/);
  });

  test("a role without CREATE on the schema: PERMISSION_DENIED with the GRANT that fixes it", { skip: noServer, timeout: 60_000 }, async () => {
    const admin = postgres(serverUrl!, { max: 1, onnotice: () => {} });
    const name = `orchwf_perm_${process.pid}`;
    try {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name}`);
      await admin.unsafe(`CREATE DATABASE ${name}`);
      await admin.unsafe(`DROP ROLE IF EXISTS ${name}`);
      await admin.unsafe(`CREATE ROLE ${name} LOGIN`);
      const owner = new URL(serverUrl!);
      owner.pathname = `/${name}`;
      const ownerSql = postgres(owner.toString(), { max: 1, onnotice: () => {} });
      await ownerSql.unsafe("REVOKE CREATE ON SCHEMA public FROM PUBLIC");
      const app = new URL(owner);
      app.username = name;
      app.password = "";
      const up = await runWith(bunRunner, ["up", "--json", "--db", app.toString()]);
      assert.equal(up.code, 1, up.stderr);
      const { error } = JSON.parse(up.stdout);
      assert.equal(error.code, "PERMISSION_DENIED");
      assert.match(error.message, /cannot create the version table "public"."orchwf_migrations": permission denied for schema public.*GRANT CREATE ON SCHEMA public/s);
      // A version table the role may not read.
      await ownerSql.unsafe("CREATE TABLE orchwf_migrations (version VARCHAR(255) PRIMARY KEY, description TEXT, applied_at TIMESTAMP)");
      const status = await runWith(bunRunner, ["status", "--json", "--db", app.toString()]);
      assert.equal(status.code, 1, status.stderr);
      assert.equal(JSON.parse(status.stdout).error.code, "PERMISSION_DENIED");
      assert.match(JSON.parse(status.stdout).error.message, /cannot read the version table.*GRANT SELECT, INSERT, UPDATE, DELETE/s);
      await ownerSql.end();
    } finally {
      await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.unsafe(`DROP ROLE IF EXISTS ${name}`);
      await admin.end();
    }
  });
});
