/**
 * The engine against hostile migrations and broken sessions (issue #11, engine part), on PGlite and PostgreSQL:
 * session SETs / SET ROLE / RESET ALL never move our bookkeeping or the next migration, a failure of our own
 * bookkeeping is reported as ours, COPY FROM STDIN and NUL bytes are refused naming the file and line,
 * `rollback({ all })` includes version 0, `redo()` redoes only the newest version, and server refusals
 * (permission, read-only, lost connection) come with documented codes.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import postgres from "postgres";
import { loadMigrations, type Migration, MigrationError, Migrator, SqlError } from "../src/mod.ts";
import { engines, type TestDatabase } from "./helpers/engines.ts";

let unique = 0;
/** Names no other test in this file (or a parallel run on the same server) uses. */
const fresh = (prefix: string) => `${prefix}_${process.pid}_${++unique}_${Math.random().toString(36).slice(2, 7)}`;

const m = (version: string, up: string, down?: string): Migration => ({ version, description: `m${version}`, up, ...(down ? { down } : {}) });

async function rejects(work: Promise<unknown>, check: (e: MigrationError) => void): Promise<void> {
  try {
    await work;
  } catch (e) {
    assert.ok(e instanceof MigrationError, `expected a MigrationError, got ${String(e)}`);
    check(e);
    return;
  }
  assert.fail("expected a rejection");
}

for (const engine of engines) {
  describe(`engine hardening on ${engine.name}`, () => {
    // PGlite is slow to create: one instance for the file, each test with its own tables and version table.
    let shared: Promise<TestDatabase> | undefined;
    after(async () => {
      if (shared) await (await shared).close();
    });
    /** One connection, so that a library user's session state and the run share a session; `end` closes it. */
    const oneSession = (d: TestDatabase) => {
      const db = engine.name === "pglite" ? d.db : postgres(d.url!, { max: 1, onnotice: () => {} });
      const run = (text: string) => engine.name === "pglite" ? d.query(text) : (db as postgres.Sql).unsafe(text);
      const end = async () => {
        if (engine.name !== "pglite") await (db as postgres.Sql).end();
      };
      return { db, run, end };
    };
    const withDb = (name: string, fn: (d: TestDatabase) => Promise<void>, serverOnly = false) =>
      test(name, { timeout: 120_000 }, async (t) => {
        if (!(await engine.available())) return t.skip("no PostgreSQL server here");
        if (serverOnly && engine.name === "pglite") return t.skip("in-process: there is no connection to lose");
        if (engine.name === "pglite") {
          shared ??= engine.open();
          return await fn(await shared);
        }
        const d = await engine.open();
        try {
          await fn(d);
        } finally {
          await d.close();
        }
      });

    withDb("a session SET search_path in one migration moves neither the version table nor the next migration", async (d) => {
      const [s, a, b, table] = [fresh("other"), fresh("a"), fresh("b"), fresh("versions")];
      const list = [
        m("1", `CREATE SCHEMA ${s};\nSET search_path TO ${s};\nCREATE TABLE ${a} (id int);\n`),
        m("2", `CREATE TABLE ${b} (id int);\n`),
      ];
      const { applied } = await new Migrator(d.db, { migrations: list, table }).migrate();
      assert.deepEqual(applied.map((r) => r.version), ["1", "2"]);
      const where = await d.query<{ relname: string; nspname: string }>(
        `SELECT c.relname::text AS relname, n.nspname::text AS nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE c.relname IN ('${a}', '${b}', '${table}') ORDER BY 1`,
      );
      assert.deepEqual(
        Object.fromEntries(where.map((r) => [r.relname, r.nspname])),
        { [a]: s, [b]: "public", [table]: "public" },
        "the next migration and the version table stay where the run started (one `up` = `up --to 1` then `up`)",
      );
      const [{ path }] = await d.query<{ path: string }>("SELECT current_setting('search_path') AS path");
      assert.doesNotMatch(path, new RegExp(s), "the session's search_path is put back");
    });

    withDb("SET ROLE in a migration: the row is recorded as the run's user, and the next migration runs as it", async (d) => {
      const [role, a, b, table] = [fresh("nobody"), fresh("a"), fresh("b"), fresh("versions")];
      const list = [m("1", `CREATE ROLE ${role};\nCREATE TABLE ${a} (id int);\nSET ROLE ${role};\n`), m("2", `CREATE TABLE ${b} (id int);\n`)];
      try {
        const { applied } = await new Migrator(d.db, { migrations: list, table }).migrate();
        assert.deepEqual(applied.map((r) => r.version), ["1", "2"]);
        const [owner] = await d.query<{ owner: string }>(`SELECT pg_get_userbyid(relowner)::text AS owner FROM pg_class WHERE relname = '${b}'`);
        const [me] = await d.query<{ me: string }>("SELECT current_user::text AS me");
        assert.equal(owner.owner, me.me);
      } finally {
        await d.query(`RESET ROLE`);
        await d.query(`DROP TABLE IF EXISTS ${a}, ${b}`);
        await d.query(`DROP ROLE IF EXISTS ${role}`);
      }
    });

    withDb("RESET ALL in a migration: the library user's own session settings come back for the next migration", async (d) => {
      const [s, b, table] = [fresh("app"), fresh("b"), fresh("versions")];
      const { db, run, end } = oneSession(d);
      try {
        await run(`CREATE SCHEMA ${s}`);
        await run(`SET search_path TO ${s}, public`);
        const list = [m("1", "RESET ALL;\nSELECT 1;\n"), m("2", `CREATE TABLE ${b} (id int);\n`)];
        await new Migrator(db, { migrations: list, table }).migrate();
        const [row] = await run(`SELECT n.nspname::text AS nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname = '${b}'`) as { nspname: string }[];
        assert.equal(row.nspname, s);
        const [path] = await run("SELECT current_setting('search_path') AS p") as { p: string }[];
        assert.match(path.p, new RegExp(`^${s}, public$`));
      } finally {
        await run("RESET search_path");
        await end();
      }
    });

    withDb("a superuser's session setting kept under a lesser role it then SET: both come back for the next migration, no permission error", async (d) => {
      const [role, b, table] = [fresh("lesser"), fresh("b"), fresh("versions")];
      const { db, run, end } = oneSession(d);
      try {
        await run(`CREATE ROLE ${role}`);
        await run(`GRANT ALL ON SCHEMA public TO ${role}`);
        // session_replication_role can only be set by a superuser; the lesser role could not set it back itself.
        await run("SET session_replication_role = replica");
        await run(`SET ROLE ${role}`);
        const list = [m("1", "RESET ALL;\nRESET ROLE;\nSET session_replication_role = origin;\n"), m("2", `CREATE TABLE ${b} (id int);\n`)];
        await new Migrator(db, { migrations: list, table }).migrate();
        const [row] = await run(`SELECT current_user::text AS me, current_setting('session_replication_role') AS srr, (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = '${b}') AS owner`) as { me: string; srr: string; owner: string }[];
        assert.deepEqual(row, { me: role, srr: "replica", owner: role });
      } finally {
        await run("RESET ROLE");
        await run("RESET session_replication_role");
        await run(`DROP TABLE IF EXISTS ${b}, ${table}`);
        await run(`REVOKE ALL ON SCHEMA public FROM ${role}`);
        await run(`DROP ROLE IF EXISTS ${role}`);
        await end();
      }
    });

    withDb("a migration that breaks our bookkeeping: reported as ours (not as a line of the file), nothing committed", async (d) => {
      const [a, table] = [fresh("a"), fresh("versions")];
      const list = [m("1", "SELECT 1;\n"), m("2", `CREATE TABLE ${a} (id int);\nALTER TABLE ${table} RENAME TO ${table}_gone;\n`)];
      list[1].source = { up: "2_break.up.sql" };
      const migrator = new Migrator(d.db, { migrations: list, table });
      await migrator.migrate({ to: "1" });
      await rejects(migrator.migrate(), (e) => {
        assert.ok(!(e instanceof SqlError), `not a SqlError of the file: ${e.message}`);
        assert.equal(e.code, "DATABASE_ERROR");
        assert.equal(e.version, "2");
        assert.match(e.message, /recording it in .*versions/);
      });
      const [gone] = await d.query<{ t: string | null }>(`SELECT to_regclass('${a}')::text AS t`);
      assert.equal(gone.t, null, "the migration was rolled back");
    });

    withDb("COPY ... FROM STDIN and NUL bytes are refused before anything runs, naming file and line", async (d) => {
      const dir = await mkdtemp(join(tmpdir(), "orchwf-hard-"));
      try {
        await writeFile(join(dir, "1_copy.up.sql"), "CREATE TABLE t (id int);\n\nCOPY t (id) FROM stdin;\n");
        // Refused by the checks every run makes before the first migration (PostgreSQL's parser names it).
        await rejects(new Migrator(d.db, { migrations: await loadMigrations(dir) }).migrate(), (e) => {
          assert.equal(e.code, "INVALID_MIGRATION");
          assert.match(e.message, /nothing was applied/);
          assert.match(e.message, /1_copy\.up\.sql:3:1: "COPY \.\.\. FROM STDIN"/);
        });
        assert.deepEqual(await d.query<{ t: string | null }>("SELECT to_regclass('t')::text AS t"), [{ t: null }]);
        await rm(join(dir, "1_copy.up.sql"));
        await writeFile(join(dir, "2_nul.up.sql"), "SELECT 1;\nSELECT '\0';\n");
        await rejects(loadMigrations(dir), (e) => {
          assert.equal(e.code, "INVALID_MIGRATION");
          assert.match(e.message, /2_nul\.up\.sql:2: .*NUL/);
        });
        await rejects(new Migrator(d.db, { migrations: [m("1", "COPY t TO STDOUT")] }).migrate(), (e) => {
          assert.match(e.message, /COPY \.\.\. TO STDOUT/);
        });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    withDb("rollback({ all: true }) rolls back version 0 too; to: \"0\" keeps a real version 0", async (d) => {
      const [a, b, table] = [fresh("a"), fresh("b"), fresh("versions")];
      const list = [m("00000000000000", `CREATE TABLE ${a} (id int);`, `DROP TABLE ${a};`), m("1", `CREATE TABLE ${b} (id int);`, `DROP TABLE ${b};`)];
      const migrator = new Migrator(d.db, { migrations: list, table });
      await migrator.migrate();
      assert.deepEqual((await migrator.rollback({ to: "0" })).rolledBack.map((r) => r.version), ["1"]);
      await migrator.migrate();
      assert.deepEqual((await migrator.rollback({ all: true })).rolledBack.map((r) => r.version), ["1", "00000000000000"]);
      assert.equal((await migrator.status()).current, null);
    });

    withDb("redo() with a lower version pending redoes only the newest applied version", async (d) => {
      const [a, b, c, table] = [fresh("a"), fresh("b"), fresh("c"), fresh("versions")];
      const one = m("1", `CREATE TABLE ${a} (id int);`, `DROP TABLE ${a};`);
      const two = m("2", `CREATE TABLE ${b} (id int);`, `DROP TABLE ${b};`);
      const three = m("3", `CREATE TABLE ${c} (id int);`, `DROP TABLE ${c};`);
      await new Migrator(d.db, { migrations: [one, three], table }).migrate();
      const { rolledBack, applied } = await new Migrator(d.db, { migrations: [one, two, three], table }).redo();
      assert.deepEqual(rolledBack.map((r) => r.version), ["3"]);
      assert.deepEqual(applied.map((r) => r.version), ["3"]);
      const status = await new Migrator(d.db, { migrations: [one, two, three], table }).status();
      assert.deepEqual(status.migrations.map((s) => `${s.version}:${s.state}`), ["1:applied", "2:pending", "3:applied"]);
    });

    withDb("a read-only session: READ_ONLY, with what to do", async (d) => {
      const table = fresh("versions");
      const db = engine.name === "pglite" ? d.db : postgres(d.url!, { max: 1, onnotice: () => {}, connection: { default_transaction_read_only: true } });
      if (engine.name === "pglite") await d.query("SET default_transaction_read_only = on");
      try {
        await rejects(new Migrator(db, { migrations: [m("1", "SELECT 1;")], table }).migrate(), (e) => {
          assert.equal(e.code, "READ_ONLY");
          assert.match(e.message, /read-only/);
        });
      } finally {
        if (engine.name === "pglite") await d.query("RESET default_transaction_read_only");
        else await (db as postgres.Sql).end();
      }
    });

    withDb("no right to create the version table: PERMISSION_DENIED naming the table", async (d) => {
      const [role, s, table] = [fresh("weak"), fresh("locked"), fresh("versions")];
      await d.query(`CREATE SCHEMA ${s}`);
      await d.query(`CREATE ROLE ${role} LOGIN`);
      await d.query(`GRANT USAGE ON SCHEMA ${s} TO ${role}`);
      const db = engine.name === "pglite" ? d.db : postgres(Object.assign(new URL(d.url!), { username: role }).toString(), { max: 1, onnotice: () => {} });
      if (engine.name === "pglite") await d.query(`SET ROLE ${role}`);
      try {
        await rejects(new Migrator(db, { migrations: [m("1", "SELECT 1;")], table, schema: s }).migrate(), (e) => {
          assert.equal(e.code, "PERMISSION_DENIED");
          assert.match(e.message, new RegExp(table));
        });
      } finally {
        if (engine.name === "pglite") await d.query("RESET ROLE");
        else await (db as postgres.Sql).end();
        await d.query(`DROP SCHEMA ${s} CASCADE`);
        await d.query(`DROP ROLE ${role}`);
      }
    });

    withDb("the connection is lost in the middle of a migration: CONNECTION_FAILED, the migration rolled back", async (d) => {
      const [a, table] = [fresh("a"), fresh("versions")];
      const sql = postgres(d.url!, { max: 2, onnotice: () => {} });
      try {
        const list = [m("1", `CREATE TABLE ${a} (id int);\nSELECT pg_sleep(30);\n`)];
        const run = new Migrator(sql, { migrations: list, table }).migrate();
        let victim: { pid: number } | undefined;
        while (!victim) {
          [victim] = await d.query<{ pid: number }>(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(30)%' AND query NOT LIKE '%pg_stat_activity%' AND state = 'active'",
          );
          if (!victim) await new Promise((r) => setTimeout(r, 50));
        }
        await d.query("SELECT pg_terminate_backend($1)", [victim.pid]);
        await rejects(run, (e) => assert.equal(e.code, "CONNECTION_FAILED"));
        const [gone] = await d.query<{ t: string | null }>(`SELECT to_regclass('${a}')::text AS t`);
        assert.equal(gone.t, null);
      } finally {
        await sql.end({ timeout: 1 }); // postgres.js waits forever for a connection that died mid-query
      }
    }, true);
  });
}
