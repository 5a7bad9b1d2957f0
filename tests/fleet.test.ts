/**
 * Fleets through the real CLI on real PostgreSQL: `--targets FILE` (40 databases and an unreachable one with a
 * password), `--continue-on-error`, stopping at the first failure, `--canary`, bad targets files refused before
 * anything runs, and `--schemas` over 200 tenant schemas of one database; plus the library's `migrateFleet`.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import postgres from "postgres";
import { migrateFleet, type Migration } from "../src/mod.ts";
import { bunRunner, cleanEnv, root, runWith } from "./helpers/cli.ts";
import { postgresServerUrl } from "./helpers/postgres-server.ts";
import { tree } from "./helpers/tree.ts";

const PASSWORD = "Fleet-Secret-9x";
const LONG = { timeout: 300_000 };

describe("fleet runs", () => {
  let server: string | undefined;
  let admin: postgres.Sql;
  const prefix = `orchwf_fleet_${process.pid}`;
  const made: string[] = [];
  const work = mkdtempSync(join(tmpdir(), "orchwf-fleet-"));
  const dir = tree({
    "001_a.up.sql": "CREATE TABLE a (id int);\n",
    "002_b.up.sql": "CREATE TABLE b (id int);\n",
  });

  const urlOf = (name: string) => {
    const u = new URL(server!);
    u.pathname = `/${name}`;
    return u.toString();
  };
  async function databases(n: number, tag: string): Promise<string[]> {
    const names = Array.from({ length: n }, (_, i) => `${prefix}_${tag}_${i}`);
    for (let i = 0; i < names.length; i += 8) await Promise.all(names.slice(i, i + 8).map((name) => admin.unsafe(`CREATE DATABASE ${name}`)));
    made.push(...names);
    return names;
  }
  async function versionTables(names: string[]): Promise<number> {
    let n = 0;
    for (const name of names) {
      const sql = postgres(urlOf(name), { max: 1, onnotice: () => {} });
      const [row] = await sql`SELECT to_regclass('public.orchwf_migrations') IS NOT NULL AS has`;
      if (row.has) n++;
      await sql.end();
    }
    return n;
  }
  const unreachable = `postgres://app:${PASSWORD}@127.0.0.1:1/nowhere`;
  const file = (name: string, lines: string[]) => {
    const path = join(work, name);
    writeFileSync(path, lines.join("\n"));
    return path;
  };

  before(async () => {
    server = await postgresServerUrl();
    if (server) admin = postgres(server, { max: 1, onnotice: () => {} });
  });
  after(async () => {
    if (server) {
      for (const name of made) await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
    rmSync(work, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  test("40 databases and an unreachable one: --concurrency 8 --continue-on-error --json", LONG, async (t) => {
    if (!server) return t.skip("no PostgreSQL server here");
    const names = await databases(40, "all");
    const targets = file("all.txt", ["# forty tenants and a broken one", ...names.slice(0, 20).map(urlOf), "", unreachable, ...names.slice(20).map(urlOf)]);
    const run = await runWith(bunRunner, ["up", "--targets", targets, "--dir", dir, "--concurrency", "8", "--continue-on-error", "--json"], { env: cleanEnv() });
    assert.equal(run.code, 1, run.stderr);
    assert.ok(!`${run.stdout}${run.stderr}`.includes(PASSWORD), "the password is printed nowhere");
    const records = run.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(records.length, 41);
    const bad = records.filter((r) => r.status === "failed");
    assert.equal(bad.length, 1);
    assert.equal(bad[0].error.code, "CONNECTION_FAILED");
    assert.match(bad[0].target, /app:\*\*\*\*@127\.0\.0\.1:1/);
    assert.deepEqual(records.filter((r) => r.status === "ok").map((r) => r.applied), Array(40).fill(["001", "002"]));
    assert.equal(await versionTables(names), 40);
    // Again: every target continues where it stands (nothing to apply), the broken one fails again.
    const again = await runWith(bunRunner, ["up", "--targets", targets, "--dir", dir, "--continue-on-error", "--json"], { env: cleanEnv() });
    const second = again.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(second.filter((r) => r.status === "ok").map((r) => r.applied), Array(40).fill([]));
  });

  test("without --continue-on-error, concurrency 1, the bad target first: no other database is touched", LONG, async (t) => {
    if (!server) return t.skip("no PostgreSQL server here");
    const names = await databases(3, "stop");
    const targets = file("stop.txt", [unreachable, ...names.map(urlOf)]);
    const run = await runWith(bunRunner, ["up", "--targets", targets, "--dir", dir, "--concurrency", "1"], { env: cleanEnv() });
    assert.equal(run.code, 1);
    assert.match(run.stdout, /skipped/);
    assert.ok(!`${run.stdout}${run.stderr}`.includes(PASSWORD));
    assert.equal(await versionTables(names), 0);
  });

  test("--canary 1 whose canary fails: no other target is touched, even with --continue-on-error", LONG, async (t) => {
    if (!server) return t.skip("no PostgreSQL server here");
    const names = await databases(3, "canary");
    const targets = file("canary.txt", [unreachable, ...names.map(urlOf)]);
    const run = await runWith(bunRunner, ["up", "--targets", targets, "--dir", dir, "--canary", "1", "--concurrency", "4", "--continue-on-error", "--json"], { env: cleanEnv() });
    assert.equal(run.code, 1);
    const records = run.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(records.map((r) => r.status), ["failed", "skipped", "skipped", "skipped"]);
    assert.equal(await versionTables(names), 0);
  });

  test("bad targets files are refused before anything runs: a database twice, an empty file, an unset variable", LONG, async (t) => {
    if (!server) return t.skip("no PostgreSQL server here");
    const [name] = await databases(1, "bad");
    const twice = file("twice.txt", [urlOf(name), `# again, spelled otherwise`, urlOf(name).replace("127.0.0.1", "127.0.0.1").replace("postgres@", `postgres:${PASSWORD}@`)]);
    const dup = await runWith(bunRunner, ["up", "--targets", twice, "--dir", dir], { env: cleanEnv() });
    assert.equal(dup.code, 2, dup.stderr);
    assert.match(dup.stderr, /twice\.txt:3: .* same database as line 1/);
    assert.ok(!dup.stderr.includes(PASSWORD));
    assert.equal(await versionTables([name]), 0);
    const empty = await runWith(bunRunner, ["up", "--targets", file("empty.txt", ["# nothing", ""]), "--dir", dir], { env: cleanEnv() });
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /lists no target/);
    const unset = await runWith(bunRunner, ["up", "--targets", file("unset.txt", ["postgres://app:${NO_SUCH_VAR_HERE}@127.0.0.1/x"]), "--dir", dir], { env: cleanEnv() });
    assert.equal(unset.code, 2);
    assert.match(unset.stderr, /unset\.txt:1: \$\{NO_SUCH_VAR_HERE\} is not set/);
  });

  test("--schemas: 200 tenant schemas each get their own version table and tables; status reports every one", LONG, async (t) => {
    if (!server) return t.skip("no PostgreSQL server here");
    const [name] = await databases(1, "tenants");
    const sql = postgres(urlOf(name), { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(Array.from({ length: 200 }, (_, i) => `CREATE SCHEMA tenant_${String(i).padStart(3, "0")};`).join("\n"));
      const up = await runWith(bunRunner, ["up", "--db", urlOf(name), "--schemas", "tenant_%", "--dir", dir, "--concurrency", "8", "--json"], { env: cleanEnv() });
      assert.equal(up.code, 0, up.stderr);
      assert.equal(up.stdout.trim().split("\n").length, 200);
      const [counts] = await sql`
        SELECT count(*) FILTER (WHERE table_name = 'orchwf_migrations')::int AS versions, count(*) FILTER (WHERE table_name = 'a')::int AS a,
               count(*) FILTER (WHERE table_name = 'b')::int AS b, count(*) FILTER (WHERE table_schema = 'public')::int AS public
        FROM information_schema.tables WHERE table_schema LIKE 'tenant\\_%' OR table_schema = 'public'`;
      assert.deepEqual(counts, { versions: 200, a: 200, b: 200, public: 0 });
      const status = await runWith(bunRunner, ["status", "--db", urlOf(name), "--schemas", "tenant_%", "--dir", dir, "--json"], { env: cleanEnv() });
      assert.equal(status.code, 0, status.stderr);
      const records = status.stdout.trim().split("\n").map((l) => JSON.parse(l));
      assert.equal(records.length, 200);
      assert.ok(records.every((r) => r.status === "ok" && r.current === "002" && r.pending === 0));
      const none = await runWith(bunRunner, ["status", "--db", urlOf(name), "--schemas", "nobody_%", "--dir", dir], { env: cleanEnv() });
      assert.equal(none.code, 2);
      assert.match(none.stderr, /no schema .* matches --schemas nobody_%/);
    } finally {
      await sql.end();
    }
  });

  test("--targets - reads stdin; two fleet runs at once apply each migration exactly once", LONG, async (t) => {
    if (!server) return t.skip("no PostgreSQL server here");
    const names = await databases(6, "overlap");
    const fromStdin = (input: string) =>
      new Promise<{ code: number | null; stdout: string }>((resolve) => {
        const child = spawn(bunRunner.command, [...bunRunner.prefix, "up", "--targets", "-", "--dir", dir, "--concurrency", "3", "--json"], { cwd: root, env: cleanEnv() });
        let stdout = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.on("close", (code) => resolve({ code, stdout }));
        child.stdin.end(input);
      });
    const list = names.map(urlOf).join("\n");
    const [a, b] = await Promise.all([fromStdin(list), fromStdin(names.map(urlOf).reverse().join("\n"))]);
    assert.equal(a.code, 0);
    assert.equal(b.code, 0);
    const applied = [...a.stdout.trim().split("\n"), ...b.stdout.trim().split("\n")].map((l) => JSON.parse(l)).flatMap((r) => r.applied);
    assert.equal(applied.length, 12, "each of the 6 databases got 001 and 002 once, from one run or the other");
    for (const name of names) {
      const sql = postgres(urlOf(name), { max: 1, onnotice: () => {} });
      const rows = await sql`SELECT version FROM orchwf_migrations ORDER BY version`;
      await sql.end();
      assert.deepEqual(rows.map((r) => r.version), ["001", "002"]);
    }
  });

  test("the library: migrateFleet over clients, with onTarget", LONG, async (t) => {
    if (!server) return t.skip("no PostgreSQL server here");
    const names = await databases(3, "lib");
    const clients = names.map((name) => ({ name, db: postgres(urlOf(name), { max: 2, onnotice: () => {} }) }));
    const migrations: Migration[] = [{ version: "1", description: "t", up: "CREATE TABLE t (id int);" }];
    const seen: string[] = [];
    try {
      const records = await migrateFleet(clients, { migrations, concurrency: 2, onTarget: (r) => seen.push(`${r.target}:${r.status}`) });
      assert.deepEqual(records.map((r) => [r.target, r.status, r.result?.applied.map((a) => a.version)]), names.map((n) => [n, "ok", ["1"]]));
      assert.deepEqual(seen.sort(), names.map((n) => `${n}:ok`).sort());
    } finally {
      for (const c of clients) await c.db.end();
    }
  });
});
