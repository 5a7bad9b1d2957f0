/**
 * One round trip per migration after the first (src/engine/folded-step.ts), on PostgreSQL through postgres.js:
 * - the messages sent: the first migration takes two (read, then apply), each later one one, and one read at the end;
 * - the guard: when the table no longer holds what the run knows (here a migration records a later version
 *   itself, as another run would), the one-message step changes nothing and the long way finds that version
 *   applied: its SQL never runs;
 * - an error in a one-message step is placed in its file (the server counts from the message's start).
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import postgres from "postgres";
import { type Migration, Migrator, SqlError } from "../src/mod.ts";
import { postgresEngine, type TestDatabase } from "./helpers/engines.ts";

const tables = (n: number): Migration[] =>
  Array.from({ length: n }, (_, i) => ({ version: String(i + 1).padStart(3, "0"), description: `t${i + 1}`, up: `CREATE TABLE t${i + 1} (id int);` }));

describe("one round trip per migration", () => {
  const open: TestDatabase[] = [];
  const clients: postgres.Sql[] = [];
  after(async () => {
    for (const c of clients) await c.end();
    for (const d of open) await d.close();
  });

  async function database(t: { skip(msg: string): void }): Promise<{ d: TestDatabase; sql: postgres.Sql; sent: string[] } | undefined> {
    if (!(await postgresEngine.available())) return void t.skip("no PostgreSQL server here");
    const d = await postgresEngine.open();
    open.push(d);
    const sent: string[] = [];
    const sql = postgres(d.url!, { max: 1, onnotice: () => {}, debug: (_c: number, query: string) => void sent.push(query) });
    clients.push(sql);
    return { d, sql, sent };
  }

  test("after the first migration, each is one message: lock, guard, SQL, bookkeeping, COMMIT", async (t) => {
    const env = await database(t);
    if (!env) return;
    await new Migrator(env.sql, { migrations: tables(1) }).migrate(); // the version table exists
    const start = env.sent.length;
    const { applied } = await new Migrator(env.sql, { migrations: tables(6) }).migrate();
    assert.deepEqual(applied.map((a) => a.version), ["002", "003", "004", "005", "006"]);
    const steps = env.sent.slice(start).filter((q) => q.startsWith("BEGIN ISOLATION LEVEL READ COMMITTED"));
    // 002: opening + read, then its SQL; 003-006: one message each; then one read that finds nothing left.
    const folded = steps.filter((q) => q.includes("orchwf-step-guard") && /CREATE TABLE t\d/.test(q) && q.includes("COMMIT"));
    assert.equal(folded.length, 4, steps.join("\n---\n"));
    assert.equal(steps.length, 6, "the first step's opening, four folded steps, the final read");
    const rows = await env.d.query("SELECT count(*)::int AS n FROM orchwf_migrations");
    assert.deepEqual(rows, [{ n: 6 }]);
  });

  test("the guard: a table changed since the run's last step sends the step the long way, and nothing runs twice", async (t) => {
    const env = await database(t);
    if (!env) return;
    const migrations: Migration[] = [
      ...tables(1),
      // Records 003 as applied without running it, as another run would have: the run's knowledge is now stale.
      {
        version: "002",
        description: "records 003",
        up: "INSERT INTO orchwf_migrations (version, description, checksum, execution_ms, dirty, applied_at) VALUES ('003', 'elsewhere', 'x', 0, false, now());",
      },
      { version: "003", description: "must not run", up: "CREATE TABLE ran_003 (id int);" },
      { version: "004", description: "t4", up: "CREATE TABLE t4 (id int);" },
    ];
    await new Migrator(env.sql, { migrations: migrations.slice(0, 1) }).migrate();
    const start = env.sent.length;
    const { applied } = await new Migrator(env.sql, { migrations, allowDrift: true }).migrate({ allowDrift: true }).catch((e) => {
      throw e;
    });
    assert.deepEqual(applied.map((a) => a.version), ["002", "004"]);
    const ran = await env.d.query("SELECT to_regclass('ran_003') IS NOT NULL AS ran");
    assert.deepEqual(ran, [{ ran: false }], "003 was recorded by another hand: its SQL must not run");
    const refused = env.sent.slice(start).filter((q) => q.includes("orchwf-step-guard") && q.includes("ran_003"));
    assert.equal(refused.length, 1, "003 was tried in one message, and its guard refused it");
  });

  test("an error in a one-message step is placed in its file, line and column", async (t) => {
    const env = await database(t);
    if (!env) return;
    const migrations: Migration[] = [
      ...tables(2),
      { version: "003", description: "bad", up: "CREATE TABLE t3 (id int);\nSELECT id,\n       no_such_column FROM t3;\n", source: { up: "003_bad.up.sql" } },
    ];
    await new Migrator(env.sql, { migrations: migrations.slice(0, 1) }).migrate();
    const err = await new Migrator(env.sql, { migrations }).migrate().then(() => undefined, (e) => e);
    assert.ok(err instanceof SqlError, String(err));
    assert.equal(err.code, "SQL_ERROR");
    assert.match(err.message, /003_bad\.up\.sql:3:8/);
    const rows = await env.d.query("SELECT version FROM orchwf_migrations ORDER BY version");
    assert.deepEqual(rows, [{ version: "001" }, { version: "002" }]);
    const t3 = await env.d.query("SELECT to_regclass('t3') IS NOT NULL AS made");
    assert.deepEqual(t3, [{ made: false }], "rolled back whole");
  });
});
