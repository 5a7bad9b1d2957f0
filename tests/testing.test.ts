/** createTestDatabase: a migrated, independent PGlite per call, keyed on the migrations' checksums. */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after, test } from "node:test";
import { type Migration, Migrator, orchwfMigrations } from "../src/mod.ts";
import { clearTestDatabaseCache, createTestDatabase } from "../src/testing.ts";

const users = (column: string): Migration => ({
  version: "2",
  description: "users",
  up: `CREATE TABLE users (id int PRIMARY KEY, ${column} text)`,
  down: "DROP TABLE users",
});

test("gives migrated databases that are independent of each other", async () => {
  const a = await createTestDatabase();
  const b = await createTestDatabase();
  try {
    assert.equal((await new Migrator(a).status()).pending, 0);
    assert.equal((await new Migrator(b).status()).pending, 0);
    await a.query("INSERT INTO orchwf_workflow_instances (id, workflow_id) VALUES ('w1', 'flow')");
    const { rows } = await b.query<{ n: number }>("SELECT count(*)::int AS n FROM orchwf_workflow_instances");
    assert.equal(rows[0].n, 0);
  } finally {
    await a.close();
    await b.close();
  }
});

test("keys snapshots on the migrations: changed SQL gives the changed schema", async () => {
  const first = await createTestDatabase({ migrations: [...orchwfMigrations, users("email")] });
  const second = await createTestDatabase({ migrations: [...orchwfMigrations, users("name")] });
  const again = await createTestDatabase({ migrations: [...orchwfMigrations, users("email")] });
  try {
    const columns = async (db: typeof first) =>
      (await db.query<{ c: string }>("SELECT column_name AS c FROM information_schema.columns WHERE table_name = 'users' ORDER BY 1"))
        .rows.map((r) => r.c);
    assert.deepEqual(await columns(first), ["email", "id"]);
    assert.deepEqual(await columns(second), ["id", "name"]);
    assert.deepEqual(await columns(again), ["email", "id"]);
  } finally {
    await Promise.all([first.close(), second.close(), again.close()]);
  }
});

test("concurrent first calls both get a migrated database, and a failing migration is not cached", async () => {
  clearTestDatabaseCache();
  const dbs = await Promise.all([createTestDatabase(), createTestDatabase()]);
  for (const db of dbs) {
    const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM orchwf_migrations");
    assert.equal(rows[0].n, orchwfMigrations.length);
    await db.close();
  }
  const bad: Migration = { version: "3", description: "bad", up: "CREATE TABLE t (id nosuchtype)" };
  const first = await createTestDatabase({ migrations: [bad] }).then(() => assert.fail("migrated"), (e) => e);
  const second = await createTestDatabase({ migrations: [bad] }).then(() => assert.fail("migrated"), (e) => e);
  for (const err of [first, second]) {
    assert.equal(err.code, "SQL_ERROR");
    assert.match(err.message, /migration 3 failed .*type "nosuchtype" does not exist/);
  }
  // Not cached: the second call ran the migration again and failed afresh, rather than replaying the first rejection.
  assert.notEqual(second, first);
});

test("uses the given version table and schema", async () => {
  const db = await createTestDatabase({ migrations: [users("email")], table: "schema_versions", schema: "app" });
  try {
    const { rows } = await db.query<{ version: string }>("SELECT version FROM app.schema_versions");
    assert.deepEqual(rows.map((r) => r.version), ["2"]);
    assert.equal((await db.query("SELECT 1 FROM app.users")).rows.length, 0);
  } finally {
    await db.close();
  }
});

// Pooled instances stay open between tests (that is the point): close them, or Node's runner waits on them.
after(() => clearTestDatabaseCache());

test("isolation rollback: a write in one test database is invisible to the next, also after a test that committed", async () => {
  const options = { migrations: [users("email")], isolation: "rollback" } as const;
  const count = async (db: Awaited<ReturnType<typeof createTestDatabase>>) =>
    (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM users")).rows[0].n;
  const first = await createTestDatabase(options);
  await first.query("INSERT INTO users VALUES (1, 'a@example.com')");
  assert.equal(await count(first), 1);
  const concurrent = await createTestDatabase(options); // while the first is open: another instance
  assert.equal(await count(concurrent), 0);
  await concurrent.close();
  await first.close();
  const second = await createTestDatabase(options);
  assert.equal(await count(second), 0, "the first test's write was rolled back");
  // A test that commits (here through db.transaction()) ends the rollback transaction...
  await second.transaction(async (tx) => {
    await tx.query("INSERT INTO users VALUES (2, 'b@example.com')");
  });
  await second.close();
  // ...so its instance is not reused: the next test is still clean.
  for (let i = 0; i < 3; i++) {
    const next = await createTestDatabase(options);
    assert.equal(await count(next), 0);
    assert.equal((await new Migrator(next, { migrations: [users("email")] }).status()).pending, 0);
    await next.close();
  }
});

test("a snapshot whose cache file is removed meanwhile (cleared, pruned) is migrated again when a new instance is needed", async () => {
  const dir = mkdtempSync(join(tmpdir(), "orchwf-testing-cache-"));
  const before = process.env.ORCHWF_CACHE_DIR;
  process.env.ORCHWF_CACHE_DIR = dir;
  const migrations = [{ version: "1", description: "notes", up: "CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes VALUES (1, 'seed')" }];
  try {
    const first = await createTestDatabase({ migrations });
    // DDL: this instance is not reused; the next test needs a new one from the snapshot.
    await first.query("ALTER TABLE notes ADD COLUMN extra int");
    await first.close();
    assert.ok(readdirSync(dir).some((n) => n.endsWith(".entry")), "the snapshot is kept on disk");
    for (const name of readdirSync(dir)) rmSync(join(dir, name), { force: true });
    const next = await createTestDatabase({ migrations });
    try {
      const columns = (await next.query<{ c: string }>("SELECT column_name AS c FROM information_schema.columns WHERE table_name = 'notes' ORDER BY 1")).rows.map((r) => r.c);
      assert.deepEqual(columns, ["body", "id"]);
      assert.deepEqual((await next.query("SELECT * FROM notes")).rows, [{ id: 1, body: "seed" }]);
    } finally {
      await next.close();
    }
  } finally {
    if (before === undefined) delete process.env.ORCHWF_CACHE_DIR;
    else process.env.ORCHWF_CACHE_DIR = before;
    rmSync(dir, { recursive: true, force: true });
  }
});
