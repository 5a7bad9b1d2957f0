/**
 * Every client users already have, passed as it is: postgres.js, PGlite, Bun SQL (under Bun only) and
 * node-postgres (Pool and Client), each on a fresh database: the Driver contract, the built-in schema up and
 * down, a SQL error's line:column, and a failed migration rolled back.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import postgres from "postgres";
import { type Migration, Migrator, orchwfMigrations, quickSetup, SqlError, toDriver } from "../src/mod.ts";
import { postgresEngine, type TestDatabase } from "./helpers/engines.ts";

/** Bun's SQL class when running under Bun. */
// deno-lint-ignore no-explicit-any
const BunSQL = (globalThis as any).Bun?.SQL as (new (url: string, options?: object) => any) | undefined;

/** A fresh PGlite (initdb in WebAssembly) takes seconds on a busy machine; Bun's default limit is 5 s. */
const TIMEOUT_MS = 120_000;

/** Skip reason of the Bun-only tests elsewhere. */
const onlyBun = BunSQL ? false : "Bun SQL exists only under Bun";

/** One way of reaching a fresh database, through one client. */
interface Client {
  /** The Driver name toDriver must pick. */
  driver: string;
  /** A reason to skip on this runtime/machine, or undefined. */
  skip(): Promise<string | undefined>;
  /** A fresh database and the user's client for it. */
  open(): Promise<{ db: object; check: TestDatabase["query"]; close(): Promise<void> }>;
}

/** A fresh PostgreSQL database, reached by the client `make` builds from its URL. */
function onServer<C extends object>(make: (url: string) => Promise<C> | C, end: (client: C) => Promise<void>) {
  return async () => {
    const d = await postgresEngine.open();
    const client = await make(d.url!);
    return {
      db: client,
      check: d.query,
      async close() {
        await end(client); // before the database is dropped, so no pooled connection is killed under it
        await d.close();
      },
    };
  };
}

const noServer = async () => (await postgresEngine.available()) ? undefined : "no PostgreSQL server here";

const clients: Record<string, Client> = {
  "postgres.js": {
    driver: "postgres.js",
    skip: noServer,
    open: onServer((url) => postgres(url, { max: 4, onnotice: () => {} }), (sql) => sql.end()),
  },
  "PGlite": {
    driver: "pglite",
    skip: () => Promise.resolve(undefined),
    async open() {
      const db = await PGlite.create();
      return { db, check: async (text, params) => (await db.query(text, params)).rows as never, close: () => db.close() };
    },
  },
  "Bun SQL": {
    driver: "bun-sql",
    skip: async () => onlyBun || await noServer(),
    open: onServer((url) => new BunSQL!(url, { max: 4 }), (sql) => sql.close()),
  },
  "node-postgres Pool": {
    driver: "node-postgres",
    skip: noServer,
    open: onServer((url) => {
      const pool = new pg.Pool({ connectionString: url, max: 4 });
      pool.on("error", () => {}); // a destroyed client may still be closing when the test drops its database
      return pool;
    }, (pool) => pool.end()),
  },
  "node-postgres Client": {
    driver: "node-postgres",
    skip: noServer,
    open: onServer(async (url) => {
      const client = new pg.Client(url);
      await client.connect();
      return client;
    }, (client) => client.end()),
  },
};

const TABLES = ["orchwf_workflow_instances", "orchwf_step_instances", "orchwf_workflow_events"];

async function tablesPresent(check: TestDatabase["query"]): Promise<string[]> {
  const rows = await check<{ name: string }>(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1",
  );
  return rows.map((r) => r.name).filter((n) => TABLES.includes(n));
}

for (const [label, client] of Object.entries(clients)) {
  // Decided before the tests are declared, so every runtime reports them as skipped (Deno: "ignored").
  const skip = (await client.skip()) ?? false;
  if (skip) console.log(`*** ${label} tests skipped: ${skip} ***`);
  describe(`${label} passed as it is`, () => {
    test("is detected, and runs the Driver contract: exec, query, transaction, session, error fields", { skip, timeout: TIMEOUT_MS }, async () => {
      const { db, check, close } = await client.open();
      try {
        const driver = toDriver(db);
        assert.equal(driver.name, client.driver);

        await driver.exec("CREATE TABLE t (id int PRIMARY KEY, note text);\nINSERT INTO t VALUES (1, 'one');\nINSERT INTO t VALUES (2, 'two')");
        const rows = await driver.query<{ id: number; note: string }>("SELECT id, note FROM t WHERE id > $1 ORDER BY id", [0]);
        assert.deepEqual(rows.map((r) => ({ ...r })), [{ id: 1, note: "one" }, { id: 2, note: "two" }]);

        const inside = await driver.transaction(async (tx) => {
          await tx.exec("INSERT INTO t VALUES (3, 'three')");
          return (await tx.query<{ n: number }>("SELECT count(*)::int AS n FROM t"))[0].n;
        });
        assert.equal(inside, 3);
        await assert.rejects(driver.transaction(async (tx) => {
          await tx.query("INSERT INTO t VALUES ($1, $2)", [4, "four"]);
          throw new Error("changed my mind");
        }), /changed my mind/);
        assert.deepEqual((await check<{ id: number }>("SELECT id FROM t ORDER BY id")).map((r) => r.id), [1, 2, 3]);

        // A session is one connection: a setting made in it is seen by its next statement.
        const name = await driver.session(async (conn) => {
          await conn.exec("SET application_name = 'orchwf_session_check'");
          const [row] = await conn.query<{ name: string }>("SELECT current_setting('application_name') AS name");
          await conn.exec("RESET application_name");
          return row.name;
        });
        assert.equal(name, "orchwf_session_check");

        // A statement's command-tag row count (what `-- orchwf:batch` loops on), in a session and in a transaction.
        const counts = await driver.session(async (conn) => [
          await conn.execCount!("UPDATE t SET note = note || '!' WHERE id <= 2"),
          await conn.execCount!("DELETE FROM t WHERE id > 100"),
        ]);
        assert.deepEqual(counts, [2, 0]);
        assert.equal(await driver.transaction((tx) => tx.execCount!("UPDATE t SET note = note WHERE id = 3")), 1);

        // Postgres' SQLSTATE and position survive, both in exec (simple protocol) and in query.
        const script = "SELECT 1;\nSELEC 2";
        const fromExec = await driver.exec(script).then(() => undefined, (e) => e);
        assert.equal(fromExec?.code, "42601");
        assert.equal(Number(fromExec?.position), script.indexOf("SELEC 2") + 1);
        const fromQuery = await driver.query("SELECT id, nope FROM t WHERE id = $1", [1]).then(() => undefined, (e) => e);
        assert.equal(fromQuery?.code, "42703");
        assert.equal(Number(fromQuery?.position), "SELECT id, nope".indexOf("nope") + 1);
      } finally {
        await close();
      }
    });

    test("quickSetup and Migrator apply, report and roll back the built-in schema", { skip, timeout: TIMEOUT_MS }, async () => {
      const { db, check, close } = await client.open();
      try {
        const first = await quickSetup(db, { timeoutMs: 30_000 });
        assert.deepEqual(first.applied.map((a) => a.version), orchwfMigrations.map((m) => m.version));
        assert.deepEqual((await quickSetup(db)).applied, [], "quickSetup is idempotent");
        assert.deepEqual(await tablesPresent(check), [...TABLES].sort());

        const migrator = new Migrator(db);
        const status = await migrator.status();
        assert.equal(status.pending, 0);
        assert.ok(status.migrations.every((m) => m.state === "applied" && m.appliedAt !== null));

        const { rolledBack } = await migrator.rollback({ to: "0" });
        assert.deepEqual(rolledBack.map((r) => r.version), orchwfMigrations.map((m) => m.version).reverse());
        assert.deepEqual(await tablesPresent(check), []);
        assert.equal((await migrator.status()).pending, orchwfMigrations.length);
        assert.equal((await migrator.migrate()).applied.length, orchwfMigrations.length);
      } finally {
        await close();
      }
    });

    test("a failing migration rolls back whole and its error names file:line:column", { skip, timeout: TIMEOUT_MS }, async () => {
      const { db, check, close } = await client.open();
      try {
        const good: Migration = {
          version: "1",
          description: "first",
          up: "CREATE TABLE first_table (id int);",
          down: "DROP TABLE first_table;",
        };
        const bad: Migration = {
          version: "2",
          description: "bad",
          up: "CREATE TABLE half_done (id int);\nINSERT INTO half_done VALUES (1);\n\n  SELECT id, missing_column FROM half_done;\n",
          down: "DROP TABLE half_done;",
          source: { up: "migrations/2_bad.up.sql" },
        };
        const migrator = new Migrator(db, { migrations: [good, bad] });
        const err = await migrator.migrate().then(() => undefined, (e) => e);
        assert.ok(err instanceof SqlError, `expected a SqlError, got ${err}`);
        assert.equal(err.sqlState, "42703");
        assert.equal(err.file, "migrations/2_bad.up.sql");
        assert.deepEqual([err.line, err.column], [4, 14]);
        assert.match(err.message, /migrations\/2_bad\.up\.sql:4:14/);

        const [state] = await check<{ half: string | null; first: string | null }>(
          "SELECT to_regclass('half_done')::text AS half, to_regclass('first_table')::text AS first",
        );
        assert.deepEqual({ ...state }, { half: null, first: "first_table" }, "migration 2 left nothing behind; 1 stays");
        const versions = await check<{ version: string }>("SELECT version FROM orchwf_migrations ORDER BY version");
        assert.deepEqual(versions.map((v) => v.version), ["1"]);

        // The same statements outside a transaction go through the driver's session.
        const noTx: Migration = { ...bad, version: "3", description: "no tx", transaction: false, up: "CREATE TABLE no_tx (id int);\nINSERT INTO no_tx VALUES (1);", down: "DROP TABLE no_tx;" };
        const applied = await new Migrator(db, { migrations: [good, noTx] }).migrate();
        assert.deepEqual(applied.applied.map((a) => a.version), ["3"]);
        const [n] = await check<{ n: number }>("SELECT count(*)::int AS n FROM no_tx");
        assert.equal(n.n, 1);
      } finally {
        await close();
      }
    });
  });
}

describe("detection", () => {
  test("an unknown object is refused with the list of what is accepted", () => {
    for (const bad of [{}, { query() {} }, "postgres://localhost/db", () => {}]) {
      assert.throws(() => new Migrator(bad as object), (e: Error & { code?: string }) => {
        assert.equal(e.code, "UNSUPPORTED_DRIVER");
        for (const name of ["postgres.js", "PGlite", "Bun SQL", "node-postgres Pool", "Driver interface"]) {
          assert.ok(e.message.includes(name), `message names ${name}: ${e.message}`);
        }
        return true;
      });
    }
  });

  test("postgres.js is detected as postgres.js", async () => {
    const sql = postgres("postgres://127.0.0.1:1/none"); // never connects: detection looks, it does not query
    try {
      assert.equal(toDriver(sql).name, "postgres.js");
    } finally {
      await sql.end();
    }
  });

  test("Bun SQL is not mistaken for postgres.js (both are functions with unsafe/begin/reserve)", { skip: onlyBun }, async () => {
    const bun = new BunSQL!("postgres://127.0.0.1:1/none");
    try {
      assert.equal(toDriver(bun).name, "bun-sql");
    } finally {
      await bun.close();
    }
  });

  test("a Bun SQL instance on another adapter is refused by name", { skip: onlyBun }, async () => {
    const lite = new BunSQL!("sqlite://:memory:");
    try {
      assert.throws(() => toDriver(lite), /sqlite adapter; @orchwf\/migrate needs PostgreSQL/);
    } finally {
      await lite.close();
    }
  });

  test("a server that refuses the connection is a CONNECTION_FAILED error on every client", { timeout: TIMEOUT_MS }, async () => {
    const nowhere = "postgres://postgres@127.0.0.1:1/none"; // nothing listens on port 1: refused at once
    const made: { db: object; end(): Promise<void> }[] = [];
    const sql = postgres(nowhere, { max: 1 });
    made.push({ db: sql, end: () => sql.end() });
    const pool = new pg.Pool({ connectionString: nowhere });
    made.push({ db: pool, end: () => pool.end() });
    if (BunSQL) {
      const bun = new BunSQL(nowhere);
      made.push({ db: bun, end: () => bun.close() });
    }
    try {
      for (const { db } of made) {
        const err = await quickSetup(db).then(() => undefined, (e) => e);
        assert.equal(err?.code, "CONNECTION_FAILED", `${toDriver(db).name}: ${err}`);
      }
    } finally {
      for (const { end } of made) await end();
    }
  });

  test("a pg Client that was never connected is refused instead of hanging", () => {
    const client = new pg.Client("postgres://127.0.0.1:1/none");
    assert.throws(() => toDriver(client), /not connected: call `await client.connect\(\)` first/);
  });
});

const serverMissing = (await noServer()) ?? false;
describe("node-postgres sharing", () => {
  test("two Migrators on one pg Client, and on one Pool, at the same time apply each migration once", { skip: serverMissing, timeout: TIMEOUT_MS }, async () => {
    for (const label of ["node-postgres Client", "node-postgres Pool"]) {
      const { db, check, close } = await clients[label].open();
      try {
        const [a, b] = await Promise.all([quickSetup(db), quickSetup(db)]);
        assert.equal(a.applied.length + b.applied.length, orchwfMigrations.length, label);
        const [rows] = await check<{ n: number }>("SELECT count(*)::int AS n FROM orchwf_migrations");
        assert.equal(rows.n, orchwfMigrations.length, label);
      } finally {
        await close();
      }
    }
  });
});
