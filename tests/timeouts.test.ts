/**
 * Timeouts and connection failures: ConnectionError for unreachable hosts/ports and wrong passwords (never
 * showing the password), LOCK_TIMEOUT when another session holds the migration lock (and a finite default),
 * TIMEOUT / ABORTED for the overall deadline and AbortSignal on PostgreSQL and, enforced on the client, on PGlite.
 * In every case the interrupted migration is rolled back.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import postgres from "postgres";
import { ConnectionError, History, MigrationError, Migrator, type Migration } from "../src/mod.ts";
import { catalog } from "./helpers/catalog.ts";
import { engines, pgliteEngine, postgresEngine, type TestDatabase } from "./helpers/engines.ts";
import { startPgBouncer } from "./helpers/pgbouncer.ts";
import { postgresServerUrl } from "./helpers/postgres-server.ts";

const base: Migration = { version: "001", description: "base", up: "CREATE TABLE base (id int);" };
const slow = (seconds: number): Migration => ({
  version: "002",
  description: "slow",
  up: `CREATE TABLE slow_made (id int);\nSELECT pg_sleep(${seconds});\n`,
});

/** Asserts the database holds exactly what it held before (catalog and version rows). */
async function assertUnchanged(d: TestDatabase, before: { catalog: string[]; versions: unknown[] }) {
  assert.deepEqual(await catalog(d), before.catalog);
  assert.deepEqual(await d.query("SELECT version FROM orchwf_migrations ORDER BY version"), before.versions);
}

async function snapshot(d: TestDatabase) {
  return { catalog: await catalog(d), versions: await d.query("SELECT version FROM orchwf_migrations ORDER BY version") };
}

function withoutPassword(err: unknown, password: string): void {
  const texts = [String(err), (err as Error).message, (err as Error).stack ?? "", JSON.stringify(err), String((err as Error).cause)];
  for (const text of texts) assert.ok(!text.includes(password), `the password leaked: ${text}`);
}

describe("connection failures", () => {
  test("unreachable port: ConnectionError with a clear message, no password in it", { timeout: 120_000 }, async () => {
    const sql = postgres("postgres://app:Sup3r-Secret-pw@127.0.0.1:1/app", { connect_timeout: 5, max: 1 });
    try {
      const err = await new Migrator(sql).migrate().catch((e) => e);
      assert.ok(err instanceof ConnectionError, String(err));
      assert.equal(err.code, "CONNECTION_FAILED");
      assert.match(err.message, /^cannot connect to the database: .*ECONNREFUSED/);
      withoutPassword(err, "Sup3r-Secret-pw");
      const status = await new Migrator(sql).status().catch((e) => e);
      assert.equal(status.code, "CONNECTION_FAILED");
    } finally {
      await sql.end({ timeout: 1 });
    }
  });

  test("unreachable host: the connect timeout gives a ConnectionError", { timeout: 120_000 }, async () => {
    // 192.0.2.0/24 is TEST-NET-1: never routed, so the connection attempt can only time out (or fail at once).
    const sql = postgres("postgres://app:Other-Secret-pw@192.0.2.1:5432/app", { connect_timeout: 1, max: 1 });
    try {
      const err = await new Migrator(sql).migrate().catch((e) => e);
      assert.ok(err instanceof ConnectionError, String(err));
      assert.match(err.message, /^cannot connect to the database: /);
      withoutPassword(err, "Other-Secret-pw");
    } finally {
      await sql.end({ timeout: 1 });
    }
  });

  test("wrong password (PgBouncer with password auth in front of the server): ConnectionError without the password", { timeout: 120_000 }, async (t) => {
    const serverUrl = await postgresServerUrl();
    if (!serverUrl) return t.skip("no PostgreSQL server here");
    const bouncer = await startPgBouncer(serverUrl, { users: { app: "the-right-one" } });
    if (!bouncer) return t.skip("pgbouncer is not installed");
    const sql = postgres(bouncer.url("postgres", "app", "Wrong-Pa55word"), { max: 1, prepare: false, connect_timeout: 5 });
    try {
      const err = await new Migrator(sql).migrate().catch((e) => e);
      assert.ok(err instanceof ConnectionError, String(err));
      assert.match(err.message, /password authentication failed/);
      assert.match(err.message, /\((28P01|08P01)\)$/); // PgBouncer answers 08P01 itself
      withoutPassword(err, "Wrong-Pa55word");
    } finally {
      await sql.end({ timeout: 1 });
      await bouncer.stop();
    }
  });
});

describe("lock wait timeout on PostgreSQL", () => {
  test("another session holds the migration lock: LOCK_TIMEOUT, nothing changed", { timeout: 120_000 }, async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    const d = await postgresEngine.open();
    const holder = postgres(d.url!, { max: 1, onnotice: () => {} });
    try {
      await new Migrator(d.db, { migrations: [base] }).migrate();
      const before = await snapshot(d);
      const key = new History(undefined, "orchwf_migrations").lockKey;
      await holder.unsafe("SELECT pg_advisory_lock($1::bigint)", [key]);
      const err = await new Migrator(d.db, { migrations: [base, slow(0)], lockTimeoutMs: 300 }).migrate().catch((e) => e);
      assert.ok(err instanceof MigrationError, String(err));
      assert.equal(err.code, "LOCK_TIMEOUT");
      // The table's schema is resolved once per run, so the message names it.
      assert.match(err.message, /could not take the migration lock on "public"\."orchwf_migrations" within 300 ms: another migration run holds it/);
      await assertUnchanged(d, before);
      // No lockTimeoutMs given: the overall timeout still ends the wait (the default lock timeout is 60 s).
      const timedOut = await new Migrator(d.db, { migrations: [base, slow(0)] }).migrate({ timeoutMs: 300 }).catch((e) => e);
      assert.equal(timedOut.code, "TIMEOUT");
      await holder.unsafe("SELECT pg_advisory_unlock($1::bigint)", [key]);
      assert.deepEqual((await new Migrator(d.db, { migrations: [base, slow(0)] }).migrate()).applied.map((r) => r.version), ["002"]);
    } finally {
      await holder.end();
      await d.close();
    }
  });

  test("a migration waiting for a table lock an application holds (no retries): SQL_ERROR 55P03, nothing changed", { timeout: 120_000 }, async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    const d = await postgresEngine.open();
    const app = postgres(d.url!, { max: 1, onnotice: () => {} });
    try {
      await new Migrator(d.db, { migrations: [base] }).migrate();
      const before = await snapshot(d);
      const alter: Migration = { version: "002", description: "alter", up: "CREATE TABLE other (id int);\nALTER TABLE base ADD COLUMN x int;\n" };
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => (locked = r));
      const holding = app.begin(async (tx) => {
        await tx`LOCK TABLE base IN ACCESS EXCLUSIVE MODE`;
        locked();
        await released;
      });
      await isLocked;
      const err = await new Migrator(d.db, { migrations: [base, alter], ddlLockTimeoutMs: 300, lockRetries: 0 }).migrate().catch((e) => e);
      release();
      await holding;
      assert.equal(err.code, "SQL_ERROR", String(err));
      assert.equal(err.sqlState, "55P03");
      assert.match(err.message, /canceling statement due to lock timeout/);
      await assertUnchanged(d, before);
    } finally {
      await app.end();
      await d.close();
    }
  });

  test("lock timeouts are finite: a migration's statements wait 2 s by default, 60 s (the migration lock's) with ddlLockTimeoutMs 0", { timeout: 120_000 }, async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    const d = await postgresEngine.open();
    try {
      const probe: Migration = { version: "1", description: "probe", up: "CREATE TABLE probe AS SELECT current_setting('lock_timeout') AS v;" };
      await new Migrator(d.db, { migrations: [probe] }).migrate();
      assert.deepEqual(await d.query("SELECT v FROM probe"), [{ v: "2s" }]);
      const probe2: Migration = { version: "2", description: "probe", up: "CREATE TABLE probe2 AS SELECT current_setting('lock_timeout') AS v;" };
      await new Migrator(d.db, { migrations: [probe, probe2], ddlLockTimeoutMs: 0 }).migrate();
      assert.deepEqual(await d.query("SELECT v FROM probe2"), [{ v: "1min" }]);
    } finally {
      await d.close();
    }
  });
});

for (const engine of engines) {
  describe(`overall timeout and AbortSignal on ${engine.name}`, () => {
    test("timeoutMs stops a long migration with TIMEOUT; the migration is rolled back; the next run completes", { timeout: 120_000 }, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const d = await engine.open();
      try {
        await new Migrator(d.db, { migrations: [base] }).migrate();
        const before = await snapshot(d);
        // On PostgreSQL statement_timeout interrupts pg_sleep; PGlite cannot be interrupted, so the statement
        // ends and the client-side check rolls the transaction back.
        const seconds = engine === pgliteEngine ? 1 : 30;
        const err = await new Migrator(d.db, { migrations: [base, slow(seconds)] }).migrate({ timeoutMs: 300 }).catch((e) => e);
        assert.ok(err instanceof MigrationError, String(err));
        assert.equal(err.code, "TIMEOUT");
        assert.equal(err.message, "migration run timed out after 300 ms");
        await assertUnchanged(d, before);
        assert.deepEqual((await new Migrator(d.db, { migrations: [base, slow(0)] }).migrate()).applied.map((r) => r.version), ["002"]);
      } finally {
        await d.close();
      }
    });

    test("an AbortSignal stops the run with ABORTED and rolls the running migration back", { timeout: 120_000 }, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const d = await engine.open();
      try {
        await new Migrator(d.db, { migrations: [base] }).migrate();
        const before = await snapshot(d);
        const controller = new AbortController();
        const seconds = engine === pgliteEngine ? 0.5 : 30;
        const migrator = new Migrator(d.db, {
          migrations: [base, slow(seconds)],
          // Abort as the migration starts; on PostgreSQL its statement is cancelled on the server.
          onEvent: (e) => e.type === "start" && setTimeout(() => controller.abort(), 100),
        });
        const err = await migrator.migrate({ signal: controller.signal }).catch((e) => e);
        assert.ok(err instanceof MigrationError, String(err));
        assert.equal(err.code, "ABORTED");
        await assertUnchanged(d, before);
        const already = await migrator.migrate({ signal: controller.signal }).catch((e) => e);
        assert.equal(already.code, "ABORTED", "an aborted signal stops the run before it starts");
        await assertUnchanged(d, before);
      } finally {
        await d.close();
      }
    });
  });
}
