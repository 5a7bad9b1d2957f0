/**
 * Pre-migration checks (`-- orchwf:check <boolean SQL>`): a check that is false, NULL or fails refuses its migration
 * (CHECK_FAILED, exit 1, naming file, line and query), nothing of that migration is applied and the ones before it
 * stay applied; after the data is fixed, `up` applies it. `up --dry-run` evaluates the checks and reports them.
 * On a real PostgreSQL server through the CLI, and in-process on PGlite and the server through the library.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, test } from "node:test";
import { loadMigrations, MigrationError, Migrator } from "../src/mod.ts";
import { bunRunner, cleanEnv, runWith } from "./helpers/cli.ts";
import { engines, postgresEngine, type TestDatabase } from "./helpers/engines.ts";
import { migrationDir } from "./fixtures/spawn-runner.ts";

const LONG = { timeout: 180_000 };
const cli = (args: string[]) => runWith(bunRunner, args, { env: cleanEnv() });

const BASE = {
  "001_users.up.sql": "CREATE TABLE users (id int PRIMARY KEY, email text);\nINSERT INTO users VALUES (1, 'a@x'), (2, NULL);\n",
  "001_users.down.sql": "DROP TABLE users;\n",
};
const NOT_NULL = {
  "002_email_not_null.up.sql":
    "-- orchwf:description email required\n-- orchwf:check NOT EXISTS (SELECT FROM users WHERE email IS NULL)\n" +
    "ALTER TABLE users ALTER COLUMN email SET NOT NULL;\nCREATE TABLE marker (id int);\n",
  "002_email_not_null.down.sql": "DROP TABLE marker;\nALTER TABLE users ALTER COLUMN email DROP NOT NULL;\n",
};

const dirs: string[] = [];
const dbs: TestDatabase[] = [];
function dir(files: Record<string, string>): string {
  const d = migrationDir(files);
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  for (const db of dbs.splice(0)) await db.close();
});

async function versions(d: TestDatabase): Promise<string[]> {
  return (await d.query<{ version: string }>("SELECT version FROM orchwf_migrations ORDER BY version")).map((r) => r.version);
}
async function hasTable(d: TestDatabase, name: string): Promise<boolean> {
  return (await d.query<{ t: string | null }>(`SELECT to_regclass('${name}')::text AS t`))[0].t !== null;
}
async function emailNullable(d: TestDatabase): Promise<boolean> {
  const [row] = await d.query<{ n: boolean }>("SELECT NOT attnotnull AS n FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'email'");
  return row.n;
}

describe("pre-migration checks through the CLI (PostgreSQL server)", () => {
  test("a failing check changes nothing of its migration, exits 1 naming file, line and query; after fixing the data up applies it", LONG, async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    const d = await postgresEngine.open();
    dbs.push(d);
    const migrations = dir({ ...BASE, ...NOT_NULL });
    const refused = await cli(["up", "--db", d.url!, "--dir", migrations]);
    assert.equal(refused.code, 1, refused.stderr);
    const file = join(migrations, "002_email_not_null.up.sql");
    assert.match(refused.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:2`));
    assert.match(refused.stderr, /NOT EXISTS \(SELECT FROM users WHERE email IS NULL\) is false/);
    assert.match(refused.stderr, /nothing of migration 002 was applied/);
    assert.deepEqual(await versions(d), ["001"], "the migration before it stays applied");
    assert.equal(await hasTable(d, "marker"), false);
    assert.equal(await emailNullable(d), true);

    const json = await cli(["up", "--db", d.url!, "--dir", migrations, "--json"]);
    assert.equal(json.code, 1);
    assert.equal(JSON.parse(json.stdout).error.code, "CHECK_FAILED");
    assert.equal(JSON.parse(json.stdout).error.version, "002");

    await d.query("UPDATE users SET email = 'b@x' WHERE id = 2");
    const applied = await cli(["up", "--db", d.url!, "--dir", migrations]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.deepEqual(await versions(d), ["001", "002"]);
    assert.equal(await hasTable(d, "marker"), true);
    assert.equal(await emailNullable(d), false);
  });

  test("a check that errors, is NULL or is not boolean refuses with its reason; nothing of it is applied", LONG, async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    const cases = [
      { check: "(SELECT count(*) FROM no_such_table) = 0", says: /relation "no_such_table" does not exist \(SQLSTATE 42P01\)/ },
      { check: "(SELECT max(email) FROM users WHERE false) = 'x'", says: /is null \(NULL counts as false\)/ },
      { check: "1 + 1", says: /must be type boolean/ },
      { check: "true; DROP TABLE users", says: /failed: / },
    ];
    for (const c of cases) {
      const d = await postgresEngine.open();
      dbs.push(d);
      const migrations = dir({ ...BASE, "002_x.up.sql": `\n-- orchwf:check true\n-- orchwf:check ${c.check}\nCREATE TABLE marker (id int);\n` });
      const run = await cli(["up", "--db", d.url!, "--dir", migrations]);
      assert.equal(run.code, 1, `${c.check}: ${run.stderr}`);
      assert.match(run.stderr, /002_x\.up\.sql:3/, c.check);
      assert.match(run.stderr, c.says, c.check);
      assert.deepEqual(await versions(d), ["001"], c.check);
      assert.equal(await hasTable(d, "users"), true, `${c.check}: a check cannot run a second statement`);
      assert.equal(await hasTable(d, "marker"), false, c.check);
    }
  });

  test("up --dry-run evaluates the checks read-only and reports each result; nothing changes", LONG, async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    const d = await postgresEngine.open();
    dbs.push(d);
    const migrations = dir({
      ...BASE,
      ...NOT_NULL,
      "003_more.up.sql": "-- orchwf:check (SELECT count(*) FROM users) = 2\n-- orchwf:check (SELECT count(*) FROM nope) = 0\nCREATE TABLE more (id int);\n",
    });
    assert.equal((await cli(["up", "--db", d.url!, "--dir", migrations, "--to", "001"])).code, 0);
    const dry = await cli(["up", "--db", d.url!, "--dir", migrations, "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /-- check .*002_email_not_null\.up\.sql:2: NOT EXISTS \(SELECT FROM users WHERE email IS NULL\) -> is false: up would refuse this migration \(CHECK_FAILED\)/);
    assert.match(dry.stdout, /-- check .*003_more\.up\.sql:1: \(SELECT count\(\*\) FROM users\) = 2 -> holds/);
    assert.match(dry.stdout, /-- check .*003_more\.up\.sql:2: \(SELECT count\(\*\) FROM nope\) = 0 -> fails: relation "nope" does not exist/);
    // The check's query is shown where up sends it: after the lock, before the migration's SQL.
    const query = dry.stdout.indexOf("NOT EXISTS (SELECT FROM users WHERE email IS NULL)\n) AS c) AS orchwf_checked;");
    const alter = dry.stdout.indexOf("\nALTER TABLE users");
    assert.ok(query > 0 && query < alter, dry.stdout);

    const json = JSON.parse((await cli(["up", "--db", d.url!, "--dir", migrations, "--dry-run", "--json"])).stdout);
    assert.deepEqual(json.steps.map((s: { checks?: { result: string }[] }) => s.checks?.map((c) => c.result)), [["false"], ["true", "error"]]);
    assert.deepEqual(await versions(d), ["001"]);
    assert.equal(await hasTable(d, "more"), false);
  });
});

for (const engine of engines) {
  describe(`pre-migration checks in the library on ${engine.name}`, () => {
    test("a no-transaction migration's check runs before it is claimed: refused, nothing claimed or run", LONG, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const d = await engine.open();
      dbs.push(d);
      const migrations = await loadMigrations(dir({
        ...BASE,
        "002_index.up.sql": "-- orchwf:no-transaction\n-- orchwf:check NOT EXISTS (SELECT FROM users WHERE email IS NULL)\nCREATE INDEX CONCURRENTLY users_email ON users (email);\n",
      }));
      const migrator = new Migrator(d.db, { migrations });
      await assert.rejects(migrator.migrate(), (err: unknown) => {
        assert.ok(err instanceof MigrationError);
        assert.equal(err.code, "CHECK_FAILED");
        assert.equal(err.version, "002");
        assert.match(err.file!, /002_index\.up\.sql$/);
        return true;
      });
      assert.deepEqual((await migrator.status()).migrations.map((m) => m.state), ["applied", "pending"]);
      assert.equal(await hasTable(d, "users_email"), false);
      await d.query("DELETE FROM users WHERE email IS NULL");
      await migrator.migrate();
      assert.equal(await hasTable(d, "users_email"), true);
    });

    test("checks from code and from a dbmate file (its line in the file); a check in a down file is refused", LONG, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const d = await engine.open();
      dbs.push(d);
      const migrator = new Migrator(d.db, {
        migrations: [
          { version: "1", description: "t", up: "CREATE TABLE t (id int); INSERT INTO t VALUES (1);" },
          { version: "2", description: "u", up: "CREATE TABLE u (id int);", checks: [{ sql: "(SELECT count(*) FROM t) = 0" }] },
        ],
      });
      await assert.rejects(migrator.migrate(), /refused by its check at migration 2 \(up\), check 1: \(SELECT count\(\*\) FROM t\) = 0 is false/);
      assert.equal(await hasTable(d, "u"), false);

      const dbmate = await loadMigrations(dir({
        "20240101000000_a.sql": "-- migrate:up\nCREATE TABLE a (id int);\n\n-- migrate:down\nDROP TABLE a;\n",
        "20240102000000_b.sql": "-- a comment\n\n-- migrate:up\n-- orchwf:check (SELECT count(*) FROM a) > 0\nCREATE TABLE b (id int);\n",
      }));
      assert.deepEqual(dbmate[1].checks, [{ sql: "(SELECT count(*) FROM a) > 0", line: 4 }]);
      await assert.rejects(loadMigrations(dir({ ...BASE, "001_users.down.sql": "-- orchwf:check true\nDROP TABLE users;\n" })), (err: unknown) => {
        assert.ok(err instanceof MigrationError);
        assert.equal(err.code, "INVALID_MIGRATION");
        assert.match(err.message, /001_users\.down\.sql:1: "-- orchwf:check" belongs at the top of the up file/);
        return true;
      });
      // Below the first statement it would be a plain comment, the data unchecked: refused with its line.
      await assert.rejects(
        loadMigrations(dir({ "001_a.up.sql": "CREATE TABLE a (id int);\n-- orchwf:check (SELECT count(*) FROM a) = 0\nALTER TABLE a ALTER id SET NOT NULL;\n" })),
        /001_a\.up\.sql:2: "-- orchwf:check" must be among the comment lines at the top of the file/,
      );
    });
  });
}
