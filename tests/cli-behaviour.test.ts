/**
 * CLI behaviour that does not depend on the runtime (run through Bun in a subprocess): usage errors and exit
 * codes, --version, create, SQL errors with file:line:column, drift, the PGlite directory lock, colours,
 * redaction, --table; plus the pieces in-process and the JSR dry run.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { createServer, connect, type Server } from "node:net";
import { afterEach, describe, test } from "node:test";
import { PGlite } from "@electric-sql/pglite";
import { postgresEngine } from "./helpers/engines.ts";
import { createMigration } from "../src/cli/commands/create.ts";
import { COMMANDS, GLOBAL_OPTIONS } from "../src/cli/commands.ts";
import { goStyleFlags, parseDuration } from "../src/cli/options.ts";
import { parseArgs } from "../src/cli/parse.ts";
import { lockDirectory } from "../src/cli/pglite-lock.ts";
import { chooseDatabase } from "../src/cli/resolve-db.ts";
import { VERSION } from "../src/core/version.ts";
import { redactSecrets, redactText, redactUrl } from "../src/core/redact.ts";
import { bunRunner, cleanEnv, denoBin, root, runWith } from "./helpers/cli.ts";

const LONG = { timeout: 180_000 };
const cli = (args: string[], options?: Parameters<typeof runWith>[2]) => runWith(bunRunner, args, options);
const temps: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "orchwf-cli-b-"));
  temps.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("usage and exit codes", () => {
  test("unknown command, unknown flag, bad arguments exit 2; help exits 0", LONG, async () => {
    for (const args of [["bogus"], ["up", "--bogus"], ["down", "abc"], ["down", "2", "--all"], ["down", "--to", "1", "--all"], ["status", "--timeout", "soon"]]) {
      const run = await cli(args);
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stdout}${run.stderr}`);
    }
    const help = await cli(["help"]);
    assert.equal(help.code, 0);
    for (const word of ["up", "down", "redo", "status", "create", "--db", "--dir", "--timeout", "--wait", "Exit codes"]) {
      assert.ok(help.stdout.includes(word), `help lacks ${word}`);
    }
  });

  test("--version prints the version of package.json and deno.json", LONG, async () => {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
    const deno = JSON.parse(readFileSync(join(root, "deno.json"), "utf8"));
    assert.equal(VERSION, pkg.version);
    assert.equal(VERSION, deno.version);
    const run = await cli(["--version"]);
    assert.equal(run.stdout.trim(), `orchwf-migrate ${pkg.version}`);
  });
});

describe("create", () => {
  test("numbers after the highest version, as wide as the existing ones (3 digits when empty)", () => {
    const dir = tempDir();
    const first = createMigration(dir, "Add users");
    assert.equal(first.version, "001");
    assert.ok(first.up.endsWith("001_add_users.up.sql") && first.down.endsWith("001_add_users.down.sql"));
    assert.match(readFileSync(first.up, "utf8"), /^-- Migration 001: Add users \(up\)/);
    const other = tempDir();
    writeFileSync(join(other, "0009_old.up.sql"), "select 1;");
    writeFileSync(join(other, "0012_newer.down.sql"), "select 1;");
    assert.equal(createMigration(other, "next one").version, "0013");
    assert.throws(() => createMigration(other, "!!!"), { code: "USAGE" });
  });

  test("the CLI writes both files into --dir; left as they are they are no-op migrations (golang-migrate's rule)", LONG, async () => {
    const dir = join(tempDir(), "migrations");
    const run = await cli(["create", "add_orders", "--dir", dir]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(readdirSync(dir).sort(), ["002_add_orders.down.sql", "002_add_orders.up.sql"]);
    const status = await cli(["status", "--dir", dir, "--db", "pglite:memory", "--json"]);
    assert.equal(status.code, 0, status.stderr);
    assert.deepEqual(JSON.parse(status.stdout).migrations.map((m: { version: string; state: string }) => [m.version, m.state]), [["002", "pending"]]);
    // Numbered above the built-ins, the directory runs with --with-orchwf too, without a version collision.
    const both = await cli(["up", "--dir", dir, "--with-orchwf", "--db", "pglite:memory", "--json"]);
    assert.equal(both.code, 0, both.stderr);
    assert.deepEqual(JSON.parse(both.stdout).applied.map((a: { version: string }) => a.version), ["001", "002"]);
  });
});

describe("user migrations, errors and drift", () => {
  test("a SQL error names file:line:column with a code frame, exit 1; drift blocks up until --allow-drift", LONG, async () => {
    const base = tempDir();
    const dir = join(base, "migrations");
    mkdirSync(dir);
    writeFileSync(join(dir, "001_users.up.sql"), "CREATE TABLE users (id int PRIMARY KEY);\n");
    writeFileSync(join(dir, "001_users.down.sql"), "DROP TABLE users;\n");
    writeFileSync(join(dir, "002_broken.up.sql"), "-- two lines\nCREATE TABLE a (id int);\n  CREAT INDEX a_id ON a (id);\n");
    const db = ["--db", `pglite:${join(base, "data")}`, "--dir", dir];
    const failed = await cli(["up", ...db, "--no-color"]);
    assert.equal(failed.code, 1);
    // Every pending migration is parsed before the first runs: the syntax error in 002 stops 001 too.
    assert.doesNotMatch(failed.stdout, /applied\s+001/);
    assert.match(failed.stderr, /002_broken\.up\.sql:3:3: syntax error at or near "CREAT"/);
    assert.match(failed.stderr, /nothing was applied/);
    assert.match(failed.stderr, /> 3 \|   CREAT INDEX/);
    rmSync(join(dir, "002_broken.up.sql"));
    const applied = await cli(["up", ...db, "--no-color"]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /applied\s+001\s+users/);
    writeFileSync(join(dir, "001_users.up.sql"), "CREATE TABLE users (id bigint PRIMARY KEY);\n");
    const status = await cli(["status", ...db, "--json"]);
    assert.equal(JSON.parse(status.stdout).migrations[0].state, "modified");
    const blocked = await cli(["up", ...db, "--json"]);
    assert.equal(blocked.code, 1);
    assert.equal(JSON.parse(blocked.stdout).error.code, "CHECKSUM_MISMATCH");
    assert.equal((await cli(["up", ...db, "--allow-drift"])).code, 0);
  });

  test("--table, --schema and --lock-timeout reach the Migrator", LONG, async () => {
    const base = tempDir();
    const db = ["--db", `pglite:${join(base, "data")}`, "--lock-timeout", "10s"];
    assert.equal((await cli(["up", ...db, "--schema", "app", "--table", "my_versions"])).code, 0);
    const custom = JSON.parse((await cli(["status", ...db, "--schema", "app", "--table", "my_versions", "--json"])).stdout);
    assert.equal(custom.table, '"app"."my_versions"');
    assert.equal(custom.pending, 0);
    assert.equal((await cli(["status", ...db, "--exit-code"])).code, 3); // the default table knows nothing of it
  });
});

describe("the PGlite directory lock", () => {
  test("a directory held by a live process is refused with its pid; a stale lock is taken over", LONG, async () => {
    const base = tempDir();
    const data = join(base, "data");
    writeFileSync(`${data}.lock`, `${process.pid}\n`); // this test process: alive
    const refused = await cli(["up", "--db", `pglite:${data}`]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`in use by another process \\(pid ${process.pid}`));
    const gone = spawnSync("true").pid!; // a process that has exited
    writeFileSync(`${data}.lock`, `${gone}\n`);
    const taken = await cli(["up", "--db", `pglite:${data}`]);
    assert.equal(taken.code, 0, taken.stderr);
    assert.equal(existsSync(`${data}.lock`), false);
  });

  test("in-process: a second lock of the same directory fails until the first is released", () => {
    const dir = join(tempDir(), "data");
    const lock = lockDirectory(dir);
    assert.throws(() => lockDirectory(dir), { code: "LOCK_TIMEOUT" });
    lock.release();
    lockDirectory(dir).release();
  });
});

describe("output", () => {
  test("connection failures: exit 1, JSON error, password masked, --wait bounded by --timeout", LONG, async () => {
    const url = "postgres://app:Hunter2pw@127.0.0.1:1/app";
    const run = await cli(["status", "--db", url, "--json"]);
    assert.equal(run.code, 1);
    assert.equal(JSON.parse(run.stdout).error.code, "CONNECTION_FAILED");
    assert.match(run.stderr, /postgres:\/\/app:\*\*\*\*@127\.0\.0\.1:1\/app/);
    for (const r of [run]) assert.ok(!`${r.stdout}${r.stderr}`.includes("Hunter2pw"));
    const bad = await cli(["status", "--db", "mysql://root:Hunter2pw@h/db"]);
    assert.equal(bad.code, 2);
    assert.ok(!bad.stderr.includes("Hunter2pw"));
  });
});

/**
 * A PostgreSQL that is still starting, in front of the real test server: until `start()`, it answers every
 * connection as a starting server does (FATAL 57P03 "the database system is starting up"); after, it passes
 * connections through. Counts the attempts, and tells when the first one was refused.
 */
async function startingServer(target: URL): Promise<{ url: URL; attempts(): number; firstRefused: Promise<void>; start(): void; close(): void }> {
  let attempts = 0;
  let started = false;
  let refused!: () => void;
  const firstRefused = new Promise<void>((resolve) => (refused = resolve));
  const fields = ["SFATAL", "VFATAL", "C57P03", "Mthe database system is starting up"].map((f) => `${f}\0`).join("") + "\0";
  const body = Buffer.from(fields, "utf8");
  const startingUp = Buffer.concat([Buffer.from("E"), Buffer.alloc(4), body]);
  startingUp.writeInt32BE(4 + body.length, 1);
  const server: Server = createServer((socket) => {
    attempts++;
    socket.on("error", () => {});
    if (!started) {
      socket.once("data", () => socket.end(startingUp, () => refused())); // after the startup message, as Postgres does
      return;
    }
    const upstream = connect(Number(target.port || 5432), target.hostname);
    upstream.on("error", () => socket.destroy());
    socket.on("error", () => upstream.destroy());
    socket.pipe(upstream).pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = new URL(target);
  url.port = String((server.address() as { port: number }).port);
  url.searchParams.set("sslmode", "disable"); // this stand-in answers no SSLRequest (a real server answers even while starting)
  return { url, attempts: () => attempts, firstRefused, start: () => (started = true), close: () => server.close() };
}

describe("--wait", () => {
  test("retries a database that is starting until it accepts; without --wait the first refusal is final", LONG, async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    const d = await postgresEngine.open();
    const without = await startingServer(new URL(d.url!));
    const starting = await startingServer(new URL(d.url!));
    try {
      const once = await cli(["up", "--db", without.url.toString(), "--json"]);
      assert.equal(once.code, 1, once.stderr);
      assert.equal(JSON.parse(once.stdout).error.code, "CONNECTION_FAILED");
      assert.match(once.stderr, /starting up/);
      assert.equal(without.attempts(), 1, "without --wait: one attempt");
      const running = cli(["up", "--wait", "--timeout", "60s", "--db", starting.url.toString(), "--json"]);
      await starting.firstRefused; // the CLI met the starting database; now it finishes starting
      starting.start();
      const run = await running;
      assert.equal(run.code, 0, run.stderr);
      assert.equal(JSON.parse(run.stdout).current, "001");
      assert.ok(starting.attempts() >= 2, `--wait retried after the refusal: ${starting.attempts()} attempts`);
    } finally {
      without.close();
      starting.close();
      await d.close();
    }
  });

  test("--wait gives up at --timeout, after retrying", LONG, async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    const d = await postgresEngine.open();
    const starting = await startingServer(new URL(d.url!)); // never finishes starting
    try {
      const run = await cli(["status", "--wait", "--timeout", "4s", "--db", starting.url.toString(), "--json"]);
      assert.equal(run.code, 1, run.stderr);
      assert.match(JSON.parse(run.stdout).error.code, /^(CONNECTION_FAILED|TIMEOUT)$/);
      assert.ok(starting.attempts() >= 2, `retried: ${starting.attempts()} attempts`);
      // Never a silent wait: the first refusal is said once, with the bound.
      assert.equal(run.stderr.match(/waiting for the database to accept connections \(.*starting up.*\); up to 4 s\n/g)?.length, 1, run.stderr);
    } finally {
      starting.close();
      await d.close();
    }
  });
});

describe("pieces", () => {
  test("redaction of URLs and of text containing them", () => {
    assert.equal(redactUrl("postgres://app:s3cret@db:5432/app"), "postgres://app:****@db:5432/app");
    assert.equal(redactUrl("postgres://app@db/app"), "postgres://app@db/app");
    assert.equal(redactUrl("pglite:./data"), "pglite:./data");
    assert.equal(
      redactText("failed: postgresql://u:p@ss@h:5/d?sslmode=require, retry"),
      "failed: postgresql://u:****@h:5/d?sslmode=require, retry",
    );
    assert.equal(redactText("host=h user=u password=x1 dbname=d"), "host=h user=u password=**** dbname=d");
    assert.equal(redactSecrets("auth for s3cret failed", ["s3cret"]), "auth for **** failed");
  });

  test("options: -db, raw values, durations, database choice", () => {
    assert.deepEqual(goStyleFlags(["-db", "x", "-db=y", "up"], ["db"]), ["--db", "x", "--db=y", "up"]);
    const table = { commands: COMMANDS, globals: GLOBAL_OPTIONS };
    assert.equal(parseArgs(["up", "--to", "007"], table).flags.to, "007");
    assert.equal(parseArgs(["up", "--to=010"], table).flags.to, "010");
    assert.equal(parseDuration("10s", "--t"), 10_000);
    assert.equal(parseDuration("250", "--t"), 250);
    assert.equal(parseDuration("2m", "--t"), 120_000);
    assert.throws(() => parseDuration("soon", "--t"), { code: "USAGE" });
    assert.deepEqual(chooseDatabase(undefined, {}), { url: "pglite:./.orchwf/pgdata", source: "default" });
    assert.equal(chooseDatabase(undefined, { DATABASE_URL: "postgres://a/b" }).source, "DATABASE_URL");
    assert.equal(chooseDatabase(undefined, { DATABASE_URL: "postgres://a/b", ORCHWF_DB_URL: "pglite:memory" }).url, "pglite:memory");
    assert.equal(chooseDatabase("pglite:x", { ORCHWF_DB_URL: "pglite:memory" }).url, "pglite:x");
  });
});

describe("JSR", () => {
  test("deno publish --dry-run passes (no slow types) and runs offline", LONG, async () => {
    const result = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile(denoBin, ["publish", "--dry-run", "--allow-dirty"], { cwd: root, env: cleanEnv({ NO_COLOR: "1" }) }, (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
      });
    });
    assert.equal(result.code, 0, result.out);
    assert.match(result.out, /Dry run complete/);
  });
});

describe("resolve", () => {
  test("a no-transaction migration that failed part way blocks up until resolve records the repair", LONG, async () => {
    const dir = tempDir();
    const migrations = join(dir, "migrations");
    mkdirSync(migrations);
    // A runtime error in the second statement (a syntax error would be caught before anything runs).
    writeFileSync(join(migrations, "001_index.up.sql"), "-- orchwf:no-transaction\nCREATE TABLE a (id int);\nSELECT * FROM no_such_table;\n");
    const db = ["--db", `pglite:${join(dir, "data")}`, "--dir", migrations];
    const failed = await cli(["up", ...db]);
    assert.equal(failed.code, 1, failed.stderr);
    assert.match(failed.stderr, /001_index\.up\.sql:3:\d+/);
    const blocked = await cli(["up", ...db]);
    assert.equal(blocked.code, 1);
    assert.match(blocked.stderr, /001.*failed/);
    assert.match(blocked.stderr, /orchwf-migrate resolve 001 --applied/, "a CLI user is told the CLI command");
    assert.doesNotMatch(blocked.stderr, /migrator\.resolve/);
    assert.equal((await cli(["resolve", "001", "--applied", "--rolled-back", ...db])).code, 2);
    // The person finishes the migration by hand (here: the statement named the wrong table), then says so.
    writeFileSync(join(migrations, "001_index.up.sql"), "-- orchwf:no-transaction\nCREATE TABLE a (id int);\nSELECT 1;\n");
    const resolved = await cli(["resolve", "001", "--applied", ...db]);
    assert.equal(resolved.code, 0, resolved.stderr);
    assert.match(resolved.stdout, /resolved 001 as applied/);
    const status = await cli(["status", "--json", ...db]);
    assert.equal(JSON.parse(status.stdout).migrations[0].state, "applied");
    assert.equal((await cli(["up", ...db])).code, 0);
  });
});

describe("baseline", () => {
  test("records versions as applied without running them, so up then runs only what came after", LONG, async () => {
    const dir = tempDir();
    const migrations = join(dir, "migrations");
    mkdirSync(migrations);
    // The existing database already has what 001 would create; running 001 again would fail.
    writeFileSync(join(migrations, "001_a.up.sql"), "CREATE TABLE a (id int);");
    writeFileSync(join(migrations, "002_b.up.sql"), "CREATE TABLE b (id int);");
    const db = ["--db", `pglite:${join(dir, "data")}`, "--dir", migrations];
    const first = await cli(["up", "--to", "001", ...db]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal((await cli(["baseline", ...db])).code, 2, "--to is required");
    const unknown = await cli(["baseline", "--to", "009", ...db]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown version "009"/);
    const baselined = await cli(["baseline", "--to", "002", "--json", ...db]);
    assert.equal(baselined.code, 0, baselined.stderr);
    assert.deepEqual(JSON.parse(baselined.stdout).baselined.map((b: { version: string }) => b.version), ["002"]);
    const status = JSON.parse((await cli(["status", "--json", ...db])).stdout);
    assert.deepEqual(status.migrations.map((m: { state: string }) => m.state), ["applied", "applied"]);
    const up = await cli(["up", ...db]);
    assert.equal(up.code, 0);
    assert.match(up.stdout, /nothing to apply/);
    const pglite = await PGlite.create(join(dir, "data"));
    const { rows } = await pglite.query<{ a: string | null; b: string | null }>(
      "SELECT to_regclass('a')::text AS a, to_regclass('b')::text AS b",
    );
    await pglite.close();
    assert.deepEqual(rows[0], { a: "a", b: null }, "002 was recorded, not run");
  });
});

describe("verify", () => {
  test("passes the built-ins in-process and catches a down that leaves a table", LONG, async () => {
    const ok = await cli(["verify"], { env: cleanEnv({ ORCHWF_DB_URL: "postgres://nobody:Never-Used@127.0.0.1:1/x" }) });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /ok\s+001 Create OrchWF tables: down reverses up/);
    const dir = tempDir();
    writeFileSync(join(dir, "001_t.up.sql"), "CREATE TABLE t (id int);\nCREATE INDEX t_id ON t (id);\n");
    writeFileSync(join(dir, "001_t.down.sql"), "DROP INDEX t_id;\n");
    const broken = await cli(["verify", "--dir", dir]);
    assert.equal(broken.code, 1);
    assert.match(broken.stdout, /left behind by down: table public\.t/);
    assert.ok(broken.stderr.includes(`${join(dir, "001_t.down.sql")} does not reverse`), broken.stderr);
  });

  test("with --db on PostgreSQL: refuses a database with tables, verifies an empty one", LONG, async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    const d = await postgresEngine.open();
    try {
      await d.query("CREATE TABLE precious (id int)");
      const refused = await cli(["verify", "--db", d.url!]);
      assert.equal(refused.code, 2, "a database with tables is the wrong argument for verify");
      assert.match(refused.stderr, /precious/);
      await d.query("DROP TABLE precious");
      const onPostgres = await cli(["verify", "--db", d.url!, "--json"]);
      assert.equal(onPostgres.code, 0, onPostgres.stderr);
      assert.equal(JSON.parse(onPostgres.stdout).migrations[0].version, "001");
    } finally {
      await d.close();
    }
  });
});
