/**
 * createServerTestDatabase: template databases on a real PostgreSQL server. Independent clones, one template
 * build for 8 processes starting together, a failed migration reported with file:line and never cached, stale
 * templates of a family dropped, the client of the user's choice.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import pg from "pg";
import postgres from "postgres";
import { loadMigrations, type Migration, orchwfMigrations } from "../src/mod.ts";
import { closeServerTestDatabases, createServerTestDatabase, templateName } from "../src/testing.ts";
import { postgresServerUrl } from "./helpers/postgres-server.ts";
import { BUN, migrationDir } from "./fixtures/spawn-runner.ts";

const LONG = { timeout: 180_000 };
const serverUrl = await postgresServerUrl();
const skip = serverUrl ? false : "no PostgreSQL server here";
/** A tag in the SQL that makes this run's templates its own (a fresh hash), and a family no other run shares. */
const run = `${process.pid}_${Date.now().toString(36)}`;
const family = (name: string) => `test-${name}-${run}`;

const items = (tag: string): Migration[] => [{
  version: "1",
  description: "items",
  up: `-- ${tag} ${run}\nCREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);`,
  down: "DROP TABLE items",
}];

/** The server's databases whose names start with `prefix`. */
async function databases(like: string): Promise<string[]> {
  const admin = postgres(serverUrl!, { max: 1, onnotice: () => {} });
  try {
    return (await admin<{ datname: string }[]>`SELECT datname FROM pg_database WHERE datname LIKE ${like} ORDER BY 1`).map((r) => r.datname);
  } finally {
    await admin.end();
  }
}

/** The test databases (not templates) made with `prefix`. */
async function clones(prefix: string): Promise<string[]> {
  return (await databases(`${prefix}_%`)).filter((name) => !name.startsWith(`${prefix}_tpl_`));
}

async function serverVersion(): Promise<number> {
  const admin = postgres(serverUrl!, { max: 1, onnotice: () => {} });
  try {
    return Number((await admin<{ v: string }[]>`SELECT current_setting('server_version_num') AS v`)[0].v);
  } finally {
    await admin.end();
  }
}

/** Drops templates this file made (they outlive a run by design). */
async function dropTemplates(names: string[]): Promise<void> {
  const admin = postgres(serverUrl!, { max: 1, onnotice: () => {} });
  try {
    for (const name of new Set(names)) {
      await admin.unsafe(`ALTER DATABASE "${name}" WITH IS_TEMPLATE false`).catch(() => {});
      await admin.unsafe(`DROP DATABASE IF EXISTS "${name}"`);
    }
  } finally {
    await admin.end();
  }
}

const made: string[] = [];
after(async () => {
  await closeServerTestDatabases();
  if (serverUrl) await dropTemplates(made);
});

describe("createServerTestDatabase", { skip }, () => {
  test("gives migrated databases that are independent: a write in one is invisible to the next; close drops it", LONG, async () => {
    const migrations = items("independent");
    const a = await createServerTestDatabase({ url: serverUrl!, migrations, family: family("independent") });
    made.push(a.template);
    await a.sql`INSERT INTO items VALUES (1, 'only in a')`;
    const b = await createServerTestDatabase({ url: serverUrl!, migrations, family: family("independent") });
    try {
      assert.equal(b.template, a.template);
      assert.notEqual(b.name, a.name);
      assert.deepEqual([...await b.sql`SELECT count(*)::int AS n FROM items`], [{ n: 0 }]);
      assert.deepEqual([...await b.sql`SELECT version FROM orchwf_migrations`], [{ version: "1" }]);
      assert.equal(new URL(b.url).pathname, `/${b.name}`);
    } finally {
      await a.close();
      await b.close();
    }
    assert.deepEqual(await databases(a.name), [], "close() dropped it");
    assert.deepEqual(await databases(b.name), []);
    await a.close(); // twice is fine
  });

  test("8 processes starting together build the template once and all get a migrated database", LONG, async () => {
    // The migration sleeps, so every worker arrives while the first one is still building.
    const dir = migrationDir({
      "001_items.up.sql": `-- parallel ${run}\nCREATE TABLE items (id int);\nSELECT pg_sleep(1);\n`,
      "001_items.down.sql": "DROP TABLE items;\n",
    });
    try {
      const workers = Array.from({ length: 8 }, () => {
        const child = spawn(BUN, [join(import.meta.dirname!, "fixtures", "template-worker.ts"), serverUrl!, dir, family("parallel")], {
          stdio: ["pipe", "pipe", "pipe"],
        });
        let out = "";
        let err = "";
        child.stdout.on("data", (c) => (out += c));
        child.stderr.on("data", (c) => (err += c));
        const done = new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
          child.on("close", (code) => resolve({ code, out, err }))
        );
        return { child, done };
      });
      for (const w of workers) w.child.stdin.end("go\n");
      const results = await Promise.all(workers.map((w) => w.done));
      const reports = results.map((r) => {
        assert.equal(r.code, 0, r.err);
        return JSON.parse(r.out.trim().split("\n").pop()!) as { built: boolean; template: string; name: string; versions: string[] };
      });
      made.push(reports[0].template);
      assert.equal(reports.filter((r) => r.built).length, 1, "exactly one process built the template");
      assert.equal(new Set(reports.map((r) => r.template)).size, 1);
      assert.equal(new Set(reports.map((r) => r.name)).size, 8);
      for (const r of reports) assert.deepEqual(r.versions, ["001"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a failed migration: reported with file:line, once for concurrent calls, never cached, no template left", LONG, async () => {
    const dir = migrationDir({
      "001_ok.up.sql": `-- failing ${run}\nCREATE TABLE ok (id int);\n`,
      "002_bad.up.sql": "CREATE TABLE bad (\n  id nosuchtype\n);\n",
    });
    try {
      const migrations = await loadMigrations(dir);
      const options = { url: serverUrl!, migrations, family: family("failing") };
      const [first, same] = await Promise.all([
        createServerTestDatabase(options).then(() => assert.fail("migrated"), (e) => e),
        createServerTestDatabase(options).then(() => assert.fail("migrated"), (e) => e),
      ]);
      assert.equal(first.code, "SQL_ERROR");
      assert.ok(first.message.includes(`${join(dir, "002_bad.up.sql")}:2:6`), first.message);
      assert.equal(same, first, "concurrent calls share the one build and its one report");
      const again = await createServerTestDatabase(options).then(() => assert.fail("migrated"), (e) => e);
      assert.equal(again.code, "SQL_ERROR");
      assert.notEqual(again, first, "not cached: the next call migrated again");
      assert.deepEqual(await databases(templateName(migrations, {}, await serverVersion())), [], "no half-built template left");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a new hash replaces the family's stale template", LONG, async () => {
    const f = family("stale");
    const old = await createServerTestDatabase({ url: serverUrl!, migrations: items("v1"), family: f });
    await old.close();
    made.push(old.template);
    const current = await createServerTestDatabase({ url: serverUrl!, migrations: items("v2"), family: f });
    await current.close();
    made.push(current.template);
    assert.notEqual(current.template, old.template);
    assert.deepEqual(await databases(old.template), [], "the stale template was dropped");
    assert.deepEqual(await databases(current.template), [current.template]);
  });

  test("the client of your choice: a pg Pool through connect; STRATEGY file_copy", LONG, async () => {
    const db = await createServerTestDatabase({
      url: serverUrl!,
      strategy: "file_copy",
      migrations: items("independent"),
      family: family("independent"),
      connect: (url) => new pg.Pool({ connectionString: url, max: 2 }),
    });
    made.push(db.template);
    try {
      assert.ok(db.sql instanceof pg.Pool);
      const { rows } = await db.sql.query("SELECT count(*)::int AS n FROM items");
      assert.deepEqual(rows, [{ n: 0 }]);
    } finally {
      await db.close();
    }
    assert.deepEqual(await databases(db.name), []);
  });

  test("the next database is cloned ahead while a test runs, and the next test gets it", LONG, async () => {
    const prefix = `orchwf_ahead_${process.pid}`;
    const a = await createServerTestDatabase({ url: serverUrl!, prefix, prepare: true });
    made.push(a.template);
    // The clone made ahead appears beside a without a second call (bounded wait on the server's catalog).
    let ahead: string[] = [];
    for (const until = Date.now() + 30_000; ahead.length === 0 && Date.now() < until;) {
      ahead = (await clones(prefix)).filter((n) => n !== a.name);
    }
    assert.equal(ahead.length, 1, "one database cloned ahead");
    const b = await createServerTestDatabase({ url: serverUrl!, prefix, prepare: true });
    assert.equal(b.name, ahead[0], "the next test took the clone made ahead");
    assert.deepEqual([...await b.sql`SELECT count(*)::int AS n FROM orchwf_migrations`], [{ n: 1 }]);
    await a.close();
    await b.close();
    await closeServerTestDatabases(); // drops the one made ahead for a third test
    assert.deepEqual(await clones(prefix), []);
  });

  test("prepare: false clones nothing ahead", LONG, async () => {
    const prefix = `orchwf_noahead_${process.pid}`;
    const a = await createServerTestDatabase({ url: serverUrl!, prefix, prepare: false });
    made.push(a.template);
    await closeServerTestDatabases(); // would wait for (and drop) a clone made ahead, if there were one
    assert.deepEqual(await clones(prefix), [a.name]);
    await a.close();
  });

  test("a process that ends without cleaning up leaves nothing; one that was killed is swept by the next run", LONG, async () => {
    const run = (prefix: string, mode: "hang" | "exit") => {
      const child = spawn(BUN, [join(import.meta.dirname!, "fixtures", "leftover-worker.ts"), serverUrl!, prefix, mode], { stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let err = "";
      child.stderr.on("data", (c) => (err += c));
      const printed = new Promise<string>((resolve) => child.stdout.on("data", (c) => (out += c) && out.includes("\n") && resolve(JSON.parse(out).name)));
      const done = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
      return { child, printed, done, err: () => err };
    };
    const version = await serverVersion();
    for (const p of [`orchwf_exit_${process.pid}`, `orchwf_killed_${process.pid}`]) made.push(templateName(orchwfMigrations, { prefix: p }, version));
    const exiting = run(`orchwf_exit_${process.pid}`, "exit");
    assert.equal(await exiting.done, 0, exiting.err());
    assert.deepEqual(await clones(`orchwf_exit_${process.pid}`), [], "the exit hook dropped the clone made ahead");

    const prefix = `orchwf_killed_${process.pid}`;
    const hanging = run(prefix, "hang");
    const left = await hanging.printed;
    hanging.child.kill("SIGKILL");
    await hanging.done;
    assert.deepEqual(await clones(prefix), [left]);
    const next = await createServerTestDatabase({ url: serverUrl!, prefix, prepare: false });
    await next.close();
    await closeServerTestDatabases(); // waits for the sweep
    assert.deepEqual(await clones(prefix), [], "the dead process's database was dropped");
  });

  test("an unreachable server is a ConnectionError with the password masked", LONG, async () => {
    const err = await createServerTestDatabase({ url: "postgres://app:s3cr@t-pw@127.0.0.1:1/postgres" }).then(
      () => assert.fail("connected"),
      (e) => e,
    );
    assert.equal(err.code, "CONNECTION_FAILED");
    assert.ok(!err.message.includes("s3cr@t-pw") && !err.message.includes("t-pw"), err.message);
    assert.match(err.message, /postgres:\/\/app:\*\*\*\*@127\.0\.0\.1:1\/postgres/);
  });
});
