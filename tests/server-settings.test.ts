/**
 * Server and session settings unlike the run's: a database- or role-level statement_timeout does not kill a
 * migration (a migration has the run's own timeout or none), and a migration's SET SESSION AUTHORIZATION is put
 * back before the next migration and our bookkeeping, as SET ROLE is.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import postgres from "postgres";
import { type Migration, Migrator } from "../src/mod.ts";
import { engines, postgresEngine, type TestDatabase } from "./helpers/engines.ts";

const m = (version: string, up: string): Migration => ({ version, description: `m${version}`, up });
const role = `orchwf_settings_${process.pid}_${Math.random().toString(36).slice(2, 7)}`;

describe("a database-level statement_timeout (PostgreSQL)", () => {
  let d: TestDatabase | undefined;
  after(async () => await d?.close());
  test("does not apply to migrations; the run's own timeout still does", async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    d = await postgresEngine.open();
    const name = new URL(d.url!).pathname.slice(1);
    await d.query(`ALTER DATABASE ${name} SET statement_timeout = '100ms'`);
    // A new client: the database's setting applies to its sessions.
    const sql = postgres(d.url!, { max: 1, onnotice: () => {} });
    try {
      assert.equal((await sql`SHOW statement_timeout`)[0].statement_timeout, "100ms");
      const slow = [m("1", "SELECT pg_sleep(0.5); CREATE TABLE slow_done (id int)")];
      await new Migrator(sql, { migrations: slow }).migrate();
      assert.equal((await sql`SELECT count(*)::int AS n FROM pg_class WHERE relname = 'slow_done'`)[0].n, 1);
      // The session keeps its own setting for the application's queries.
      assert.equal((await sql`SHOW statement_timeout`)[0].statement_timeout, "100ms");
      const slower = [...slow, m("2", "SELECT pg_sleep(2)")];
      await assert.rejects(new Migrator(sql, { migrations: slower }).migrate({ timeoutMs: 300 }), (e: { code: string }) => e.code === "TIMEOUT");
    } finally {
      await sql.end();
    }
  });
});

for (const engine of engines) {
  describe(`SET SESSION AUTHORIZATION in a migration on ${engine.name}`, () => {
    let d: TestDatabase | undefined;
    after(async () => {
      if (!d) return;
      await d.query(`DROP OWNED BY ${role}`).catch(() => {});
      await d.query(`DROP ROLE IF EXISTS ${role}`).catch(() => {});
      await d.close();
    });
    test("is put back before the next migration and the bookkeeping", async (t) => {
      if (!(await engine.available())) return t.skip(`no ${engine.name} here`);
      d = await engine.open();
      const [{ me }] = await d.query<{ me: string }>("SELECT session_user::text AS me");
      const migrations = [
        m("1", `CREATE ROLE ${role}; GRANT CREATE ON SCHEMA public TO ${role}; SET SESSION AUTHORIZATION ${role}; CREATE TABLE owned_by_role (id int)`),
        m("2", "CREATE TABLE owned_by_run (id int)"),
      ];
      await new Migrator(d.db, { migrations }).migrate();
      const owners = await d.query<{ t: string; o: string }>(
        "SELECT relname AS t, pg_get_userbyid(relowner) AS o FROM pg_class WHERE relname IN ('owned_by_role', 'owned_by_run') ORDER BY 1",
      );
      assert.deepEqual(owners, [{ t: "owned_by_role", o: role }, { t: "owned_by_run", o: me }]);
      const [{ now }] = await d.query<{ now: string }>("SELECT session_user::text AS now");
      assert.equal(now, me);
    });
  });
}
