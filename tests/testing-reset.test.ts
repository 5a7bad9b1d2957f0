/**
 * createTestDatabase's default isolation ("reset"): a closed test database is put back to its migrated state and
 * handed to the next test; anything a reset cannot undo (DDL, roles) gets the next test a new instance instead.
 * Whether an instance was reused is read from pg_postmaster_start_time(), which differs between instances.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import type { PGlite } from "@electric-sql/pglite";
import type { Migration } from "../src/mod.ts";
import { clearTestDatabaseCache, createTestDatabase } from "../src/testing.ts";

const migrations: Migration[] = [{
  version: "1",
  description: "shop",
  up: `CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL);
       CREATE TABLE orders (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                            customer int NOT NULL REFERENCES customers, total numeric);
       CREATE TABLE audit (at timestamptz DEFAULT now(), what text);
       CREATE FUNCTION audit_order() RETURNS trigger LANGUAGE plpgsql AS
         $$BEGIN INSERT INTO audit (what) VALUES ('order ' || NEW.id); RETURN NEW; END$$;
       CREATE TRIGGER orders_audit AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION audit_order();
       INSERT INTO customers (name) VALUES ('seeded ann'), ('seeded bob');`,
}];
const options = { migrations, diskCache: false } as const;

after(() => clearTestDatabaseCache());

const instance = async (db: PGlite) => (await db.query<{ t: string }>("SELECT pg_postmaster_start_time()::text AS t")).rows[0].t;
const rows = async (db: PGlite, sql: string) => (await db.query(sql)).rows;

/** What a fresh test sees: the seed rows, empty tables, sequences where the migration left them. */
async function assertPristine(db: PGlite): Promise<void> {
  assert.deepEqual(await rows(db, "SELECT id, name FROM customers ORDER BY id"), [{ id: 1, name: "seeded ann" }, { id: 2, name: "seeded bob" }]);
  assert.deepEqual(await rows(db, "SELECT count(*)::int AS n FROM orders"), [{ n: 0 }]);
  assert.deepEqual(await rows(db, "SELECT count(*)::int AS n FROM audit"), [{ n: 0 }]);
  assert.deepEqual(await rows(db, "SELECT current_user AS u, current_setting('search_path') AS p"), [{ u: "postgres", p: "public" }]);
}

test("reset: committed rows, deleted seed rows and used sequences are undone, and the instance is reused", async () => {
  const first = await createTestDatabase(options);
  const id = await instance(first);
  await assertPristine(first);
  await first.query("INSERT INTO customers (name) VALUES ('cat')");
  await first.query("INSERT INTO orders (customer, total) VALUES (3, 9.5)"); // the trigger writes audit too
  await first.query("UPDATE customers SET name = 'renamed' WHERE id = 1");
  await first.query("DELETE FROM customers WHERE id = 2");
  await first.transaction(async (tx) => {
    await tx.query("INSERT INTO customers (name) VALUES ('in a transaction')");
  });
  const firstIds = await rows(first, "SELECT nextval('customers_id_seq')::int AS c, nextval(pg_get_serial_sequence('orders', 'id'))::int AS o");
  await first.close();

  const second = await createTestDatabase(options);
  assert.equal(await instance(second), id, "the same instance, reset");
  await assertPristine(second);
  // The sequences are back too: the same ids are handed out again.
  assert.deepEqual(await rows(second, "SELECT nextval('customers_id_seq')::int AS c, nextval(pg_get_serial_sequence('orders', 'id'))::int AS o"), [{ c: 3, o: 1 }]);
  assert.notDeepEqual(firstIds, [{ c: 3, o: 1 }]);
  await second.close();
});

test("reset: session state (settings, role, temporary tables, open transactions) does not reach the next test", async () => {
  const first = await createTestDatabase(options);
  const id = await instance(first);
  await first.exec("CREATE ROLE nobody_reset_test");
  await first.close(); // a role is not something a reset can undo: next instance
  const a = await createTestDatabase(options);
  assert.notEqual(await instance(a), id);
  const reused = await instance(a);
  await a.exec(`SET search_path = pg_catalog; SET statement_timeout = '1s';
    CREATE TEMP TABLE scratch (x int); INSERT INTO scratch VALUES (1);
    SELECT pg_advisory_lock(42); PREPARE p AS SELECT 1; BEGIN; INSERT INTO public.customers (name) VALUES ('uncommitted')`);
  await a.close();
  const b = await createTestDatabase(options);
  assert.equal(await instance(b), reused, "temporary tables and settings do not cost the instance");
  await assertPristine(b);
  assert.deepEqual(await rows(b, "SELECT current_setting('statement_timeout') AS t"), [{ t: "0" }]);
  assert.deepEqual(await rows(b, "SELECT count(*)::int AS n FROM pg_class WHERE relname = 'scratch'"), [{ n: 0 }]);
  assert.deepEqual(await rows(b, "SELECT pg_try_advisory_lock(42) AS ok FROM (SELECT 1) x"), [{ ok: true }]);
  await b.close();
});

for (const [what, ddl] of [
  ["a new table", "CREATE TABLE extra (x int)"],
  ["a new column", "ALTER TABLE customers ADD COLUMN email text"],
  ["a replaced function", "CREATE OR REPLACE FUNCTION audit_order() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$"],
  ["a comment", "COMMENT ON TABLE orders IS 'changed'"],
  ["a grant", "GRANT SELECT ON orders TO PUBLIC"],
  ["a truncate", "TRUNCATE audit"],
  ["a dropped trigger", "DROP TRIGGER orders_audit ON orders"],
  ["a dropped table (catalog rows only deleted)", "DROP TABLE audit CASCADE"],
  ["a dropped function", "DROP FUNCTION audit_order() CASCADE"],
] as const) {
  test(`reset: ${what} gets the next test a new instance, migrated and clean`, async () => {
    const first = await createTestDatabase(options);
    const id = await instance(first);
    await first.exec(ddl);
    await first.close();
    const next = await createTestDatabase(options);
    assert.notEqual(await instance(next), id);
    await assertPristine(next);
    await next.query("INSERT INTO orders (customer, total) VALUES (1, 1)");
    assert.deepEqual(await rows(next, "SELECT what FROM audit"), [{ what: "order 1" }], "the migrated trigger is there");
    assert.deepEqual(await rows(next, "SELECT obj_description('orders'::regclass) AS d, to_regclass('extra') AS e"), [{ d: null, e: null }]);
    await next.close();
  });
}

test("reset: DDL undone within the test (a table dropped and made again) still gets the next test a new instance", async () => {
  // Created and dropped again in one test: counts match, but the rows written meanwhile are newer (dead rows are
  // not seen, the new pg_class row of the re-created table is).
  const first = await createTestDatabase(options);
  const id = await instance(first);
  await first.exec("DROP TABLE audit CASCADE; CREATE TABLE audit (at timestamptz DEFAULT now(), what text)");
  await first.close();
  const next = await createTestDatabase(options);
  assert.notEqual(await instance(next), id);
  await next.close();
});

test("a closed test database cannot be used by mistake while the next test has it", async () => {
  const db = await createTestDatabase(options);
  await db.close();
  await db.close(); // twice is fine
  assert.equal(db.closed, true);
  await assert.rejects(async () => await db.query("SELECT 1"), /this test database was closed/);
  const next = await createTestDatabase(options);
  assert.equal((await next.query("SELECT 1 AS one")).rows.length, 1);
  await next.close();
});

test("isolation restore gives a new instance each time", async () => {
  const a = await createTestDatabase({ ...options, isolation: "restore" });
  const b = await createTestDatabase({ ...options, isolation: "restore" });
  assert.notEqual(await instance(a), await instance(b));
  await assertPristine(b);
  await Promise.all([a.close(), b.close()]);
});
