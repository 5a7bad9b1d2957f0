/** verify: the built-in migrations reverse exactly on both engines; broken down scripts are caught, precisely. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Migration, Migrator, orchwfMigrations } from "../src/mod.ts";
import { renderVerifyReport, VerifyError } from "../src/schema/verify.ts";
import { verifyMigrations } from "../src/schema/verify-migrations.ts";
import { engines } from "./helpers/engines.ts";

for (const engine of engines) {
  describe(`verify on ${engine.name}`, () => {
    test("the built-in migrations: every down reverses its up, and the database ends migrated", async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const d = await engine.open();
      try {
        const seen: string[] = [];
        const report = await new Migrator(d.db).verify({ onVersion: (r) => seen.push(`${r.version} ${r.status}`) });
        assert.equal(report.ok, true);
        assert.deepEqual(seen, orchwfMigrations.map((m) => `${m.version} verified`));
        assert.deepEqual(report.migrations.map((m) => [m.version, m.status]), orchwfMigrations.map((m) => [m.version, "verified"]));
        const created = report.migrations[0].changes.filter((c) => c.change === "added");
        assert.ok(created.some((c) => c.kind === "table" && c.name === "public.orchwf_workflow_instances"));
        assert.ok(created.some((c) => c.kind === "trigger"));
        assert.equal((await new Migrator(d.db).status()).pending, 0);
      } finally {
        await d.close();
      }
    });

    test("refuses a database that has tables unless forced, and one with applied migrations always", async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const d = await engine.open();
      try {
        await d.query("CREATE TABLE customer_data (id int)");
        await assert.rejects(verifyMigrations(orchwfMigrations, { db: d.db }), (e: VerifyError) => {
          assert.equal(e.code, "USAGE");
          assert.match(e.message, /1 table \(public\.customer_data\).*--force/);
          return true;
        });
        const forced = await verifyMigrations(orchwfMigrations, { db: d.db, force: true });
        assert.equal(forced.ok, true);
        await assert.rejects(verifyMigrations(orchwfMigrations, { db: d.db, force: true }), { code: "USAGE" });
      } finally {
        await d.close();
      }
    });
  });
}

/** A base migration, then one whose down is broken in one particular way. */
const base: Migration = {
  version: "001",
  description: "users",
  up: `CREATE TABLE users (id serial PRIMARY KEY, email text NOT NULL, status text DEFAULT 'new');`,
  down: "DROP TABLE users;",
  source: { up: "migrations/001_users.up.sql", down: "migrations/001_users.down.sql" },
};

function broken(up: string, down: string): Migration[] {
  return [base, {
    version: "002",
    description: "change",
    up,
    down,
    source: { up: "migrations/002_change.up.sql", down: "migrations/002_change.down.sql" },
  }];
}

const CASES: { name: string; migrations: Migration[]; expect: RegExp }[] = [
  {
    name: "a forgotten index",
    migrations: broken(
      "ALTER TABLE users ADD COLUMN name text; CREATE INDEX idx_users_email ON users (email);",
      "ALTER TABLE users DROP COLUMN name;",
    ),
    expect: /left behind by down: index idx_users_email ON public\.users USING btree \(email\)/,
  },
  {
    name: "a down that drops too much",
    migrations: broken(
      "CREATE INDEX idx_users_email ON users (email);",
      "DROP INDEX idx_users_email; ALTER TABLE users DROP COLUMN status;",
    ),
    expect: /removed by down: column public\.users\.status text DEFAULT 'new'::text/,
  },
  {
    name: "a function left behind",
    migrations: broken(
      "CREATE FUNCTION users_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM users';",
      "SELECT 1;",
    ),
    expect: /left behind by down: function public\.users_count\(\)/,
  },
  {
    name: "a column default left changed",
    migrations: broken("ALTER TABLE users ALTER COLUMN status SET DEFAULT 'active';", "SELECT 1;"),
    expect: /changed by down: column public\.users\.status\n\s+was: text DEFAULT 'new'::text\n\s+now: text DEFAULT 'active'::text/,
  },
  {
    name: "an enum left behind",
    migrations: broken("CREATE TYPE user_mood AS ENUM ('happy', 'sad');", "SELECT 1;"),
    expect: /left behind by down: enum public\.user_mood 'happy', 'sad'/,
  },
  {
    name: "an enum value left behind",
    migrations: broken(
      "CREATE TYPE user_mood AS ENUM ('happy'); ALTER TABLE users ADD COLUMN mood user_mood;",
      "ALTER TABLE users DROP COLUMN mood; DROP TYPE user_mood; CREATE TYPE user_mood AS ENUM ('happy', 'sad');",
    ),
    expect: /left behind by down: enum public\.user_mood 'happy', 'sad'/,
  },
  {
    name: "a sequence left behind",
    migrations: broken("CREATE SEQUENCE invoice_numbers START 1000;", "SELECT 1;"),
    expect: /left behind by down: sequence public\.invoice_numbers AS bigint START 1000/,
  },
  {
    name: "a view left behind",
    migrations: broken("CREATE VIEW active_users AS SELECT id FROM users WHERE status = 'active';", "SELECT 1;"),
    expect: /left behind by down: view public\.active_users/,
  },
  {
    name: "a trigger left behind",
    migrations: broken(
      `CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
       CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();`,
      "DROP TRIGGER users_touch ON users;",
    ),
    expect: /left behind by down: function public\.touch\(\)/,
  },
  {
    name: "a NOT NULL dropped and not restored",
    migrations: broken("ALTER TABLE users ALTER COLUMN email DROP NOT NULL;", "SELECT 1;"),
    expect: /changed by down: column public\.users\.email\n\s+was: text NOT NULL\n\s+now: text/,
  },
  {
    name: "a changed function body",
    migrations: broken(
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';",
      "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 2';",
    ),
    expect: /left behind by down: function public\.f\(\)/,
  },
]

/** Runs verify on a fresh PGlite of its own (the default), or on a scratch PostgreSQL database. */
async function verifyOnEngine(engine: (typeof engines)[number], migrations: Migration[]): Promise<unknown> {
  if (engine.name === "pglite") return verifyMigrations(migrations).then(() => undefined, (e: unknown) => e);
  const d = await engine.open();
  try {
    return await verifyMigrations(migrations, { db: d.db }).then(() => undefined, (e: unknown) => e);
  } finally {
    await d.close();
  }
}

for (const engine of engines) {
  describe(`verify catches broken down scripts on ${engine.name}`, () => {
    for (const c of CASES) {
      test(c.name, async (t) => {
        if (!(await engine.available())) return t.skip("no PostgreSQL server here");
        const err = await verifyOnEngine(engine, c.migrations);
        assert.ok(err instanceof VerifyError, String(err));
        assert.equal(err.code, "VERIFY_FAILED");
        assert.equal(err.version, "002");
        assert.equal(err.file, "migrations/002_change.down.sql");
        assert.match(err.message, /^migration 002 \(change\): migrations\/002_change\.down\.sql does not reverse migrations\/002_change\.up\.sql:/);
        assert.match(err.message, c.expect);
        assert.deepEqual(err.report.migrations.map((m) => [m.version, m.status]), [["001", "verified"], ["002", "failed"]]);
        const text = renderVerifyReport(err.report);
        assert.match(text, /ok {4}001 users: down reverses up/);
        assert.match(text, /FAIL {2}002 change: down does not reverse up/);
        assert.match(text, c.expect);
      });
    }
  });
}

describe("verify on PGlite", () => {
  test("a changed function body names the first line that differs", async () => {
    const migrations = broken(
      "CREATE FUNCTION g() RETURNS int LANGUAGE sql AS 'SELECT 1';",
      "DROP FUNCTION g();",
    );
    const replaceBody: Migration = {
      version: "003",
      description: "new body",
      up: "CREATE OR REPLACE FUNCTION g() RETURNS int LANGUAGE sql AS 'SELECT 2';",
      down: "SELECT 1;",
    };
    await assert.rejects(verifyMigrations([...migrations, replaceBody]), (e: VerifyError) => {
      assert.equal(e.version, "003");
      assert.match(e.message, /changed by down: function public\.g\(\)\n\s+was: line \d+: .*SELECT 1.*\n\s+now: line \d+: .*SELECT 2/);
      return true;
    });
  });

  test("an up that gives another schema when applied again after its down is caught too", async () => {
    const migrations = broken(
      `DO $$ BEGIN
         IF EXISTS (SELECT 1 FROM users) THEN CREATE INDEX users_second ON users (status);
         ELSE CREATE INDEX users_first ON users (email); END IF;
       END $$;`,
      "DROP INDEX IF EXISTS users_first; DROP INDEX IF EXISTS users_second; INSERT INTO users (email) VALUES ('x@y');",
    );
    await assert.rejects(verifyMigrations(migrations), (e: VerifyError) => {
      assert.equal(e.code, "VERIFY_FAILED");
      assert.equal(e.file, "migrations/002_change.up.sql");
      assert.match(e.message, /^migration 002 \(change\): applying migrations\/002_change\.up\.sql again after migrations\/002_change\.down\.sql gave a different schema:/);
      assert.match(e.message, /missing after the second up: index users_first ON public\.users USING btree \(email\)/);
      assert.match(e.message, /only after the second up: index users_second ON public\.users USING btree \(status\)/);
      assert.match(renderVerifyReport(e.report), /FAIL {2}002 change: up applied again gives a different schema/);
      return true;
    });
  });

  test("honours the version table's name and schema, and sees a schema left behind", async () => {
    const ok = await verifyMigrations([base], { table: "schema_versions", schema: "app" });
    assert.equal(ok.ok, true);
    assert.ok(ok.migrations[0].changes.some((c) => c.kind === "table" && c.name === "app.users"));
    assert.ok(!ok.migrations[0].changes.some((c) => c.name.includes("schema_versions")));
    await assert.rejects(
      verifyMigrations([base, { version: "2", description: "billing", up: "CREATE SCHEMA billing", down: "SELECT 1" }], {
        table: "schema_versions",
        schema: "app",
      }),
      (e: VerifyError) => {
        assert.equal(e.version, "2");
        assert.match(e.message, /^migration 2 \(billing\): the down script of 2 does not reverse the up script of 2:\n {2}left behind by down: schema billing$/);
        return true;
      },
    );
  });

  test("a migration without a down script is applied and reported as skipped", async () => {
    const report = await verifyMigrations([base, { version: "002", description: "seed", up: "INSERT INTO users (email) VALUES ('a@b')" }]);
    assert.equal(report.ok, true);
    assert.deepEqual(report.migrations.map((m) => m.status), ["verified", "skipped"]);
    assert.match(renderVerifyReport(report), /skip {2}002 seed: no down script/);
    assert.match(renderVerifyReport(report), /1 verified, 1 skipped/);
  });

  test("a down that fails is reported as the SQL error it is, naming the down file", async () => {
    await assert.rejects(verifyMigrations(broken("CREATE INDEX i ON users (email);", "DROP INDEX nope;")), (e: Error & { code: string }) => {
      assert.equal(e.code, "SQL_ERROR");
      assert.match(e.message, /^migration 002 failed at migrations\/002_change\.down\.sql:1:1: index "nope" does not exist/);
      return true;
    });
  });
});
