/**
 * `baseline --from TOOL` / adoptHistory: a database another tool migrated is adopted (exactly the versions that
 * tool applied are recorded, its table untouched), then `up` applies only what is new. Real dbmate makes one
 * database; the other tools' tables are created as those tools create them. Disagreements are refused, and then
 * nothing is recorded.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { adoptHistory, loadMigrations, Migrator, readToolHistory } from "../src/mod.ts";
import { flywayChecksum } from "../src/sources/flyway.ts";
import { bunRunner, cleanEnv, root, runWith } from "./helpers/cli.ts";
import { engines, postgresEngine, type TestDatabase } from "./helpers/engines.ts";
import { tree } from "./helpers/tree.ts";

const A = "CREATE TABLE a (id int);\n";
const B = "CREATE TABLE b (id int);\n";
const C = "CREATE TABLE c (id int);\n";

async function ours(d: TestDatabase): Promise<string[]> {
  const rows = await d.query<{ version: string }>("SELECT version FROM orchwf_migrations ORDER BY applied_at, version");
  return rows.map((r) => r.version);
}

async function tableExists(d: TestDatabase, name: string): Promise<boolean> {
  return (await d.query<{ ok: boolean }>("SELECT to_regclass($1) IS NOT NULL AS ok", [name]))[0].ok;
}

function sh(command: string, args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env: cleanEnv(env), timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(String(stdout))));
  });
}

describe("baseline --from dbmate on a database the real dbmate migrated (CLI)", () => {
  test("adopts exactly what dbmate applied; up then applies only the new file", { timeout: 180_000 }, async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    const d = await postgresEngine.open();
    const dir = tree({
      "20240101000000_create_a.sql": `-- migrate:up\n${A}\n-- migrate:down\nDROP TABLE a;\n`,
      "20240102000000_create_b.sql": `-- migrate:up\n${B}\n-- migrate:down\nDROP TABLE b;\n`,
    });
    try {
      const url = new URL(d.url!);
      url.searchParams.set("sslmode", "disable");
      await sh(join(root, "node_modules/.bin/dbmate"), ["--url", url.toString(), "--migrations-dir", dir, "--no-dump-schema", "up"], {});
      const before = await d.query<{ version: string }>("SELECT version FROM schema_migrations ORDER BY version");
      assert.deepEqual(before.map((r) => r.version), ["20240101000000", "20240102000000"]);

      writeFileSync(join(dir, "20240103000000_create_c.sql"), `-- migrate:up\n${C}\n-- migrate:down\nDROP TABLE c;\n`);
      const adopted = await runWith(bunRunner, ["baseline", "--from", "dbmate", "--dir", dir, "--db", d.url!, "--json"]);
      assert.equal(adopted.code, 0, adopted.stderr);
      const out = JSON.parse(adopted.stdout);
      assert.equal(out.from, "dbmate");
      assert.deepEqual(out.baselined.map((b: { version: string }) => b.version), ["20240101000000", "20240102000000"]);

      const up = await runWith(bunRunner, ["up", "--dir", dir, "--db", d.url!, "--json"]);
      assert.equal(up.code, 0, up.stderr);
      assert.deepEqual(JSON.parse(up.stdout).applied.map((r: { version: string }) => r.version), ["20240103000000"]);
      assert.ok(await tableExists(d, "c"));
      // dbmate's table is untouched.
      const afterRows = await d.query<{ version: string }>("SELECT version FROM schema_migrations ORDER BY version");
      assert.deepEqual(afterRows, before);

      // Auto-detected, a second time: nothing new to record.
      const again = await runWith(bunRunner, ["baseline", "--from", "--dir", dir, "--db", d.url!]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /schema_migrations" \(dbmate\): 2 applied versions\nnothing to baseline/);

      // dbmate's table stays, as bookkeeping: drift does not report it as schema.
      const drift = await runWith(bunRunner, ["drift", "--dir", dir, "--db", d.url!]);
      assert.equal(drift.code, 0, drift.stdout + drift.stderr);
      assert.match(drift.stdout, /not compared: public\.schema_migrations, another tool's history table/);
      assert.match(drift.stdout, /no drift/);
    } finally {
      await d.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

for (const engine of engines) {
  describe(`adoptHistory on ${engine.name}`, () => {
    let shared: TestDatabase | undefined;
    const fresh = async (): Promise<TestDatabase> => {
      shared ??= await engine.open();
      await shared.query("DROP SCHEMA public CASCADE");
      await shared.query("CREATE SCHEMA public");
      return shared;
    };
    after(() => shared?.close());
    const dirs: string[] = [];
    after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
    const files = (f: Record<string, string>) => {
      const dir = tree(f);
      dirs.push(dir);
      return dir;
    };

    test("golang-migrate: schema_migrations (version bigint, dirty) adopted; dirty refused; up applies only what is new", { timeout: 120_000 }, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const d = await fresh();
      const dir = files({ "1_a.up.sql": A, "1_a.down.sql": "DROP TABLE a;", "2_b.up.sql": B, "3_c.up.sql": C });
      // As golang-migrate's postgres driver keeps it: one row, the current version.
      await d.query("CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)");
      for (const sql of [A, B]) await d.query(sql);
      await d.query("INSERT INTO schema_migrations VALUES (2, true)");
      const migrator = new Migrator(d.db, { migrations: await loadMigrations(dir) });
      await assert.rejects(adoptHistory(d.db, migrator, { from: "golang-migrate" }), (e: Error & { code?: string }) => {
        assert.equal(e.code, "DIRTY");
        assert.match(e.message, /version 2 is dirty/);
        assert.match(e.message, /migrate force 2/);
        return true;
      });
      assert.equal(await tableExists(d, "orchwf_migrations"), false); // nothing written before the check
      await d.query("UPDATE schema_migrations SET dirty = false");
      const result = await adoptHistory(d.db, migrator); // auto-detected
      assert.equal(result.from, "golang-migrate");
      assert.deepEqual(result.versions, ["1", "2"]);
      assert.deepEqual(await ours(d), ["1", "2"]);
      assert.deepEqual((await migrator.migrate()).applied.map((r) => r.version), ["3"]);
      assert.deepEqual(await d.query("SELECT version::text, dirty FROM schema_migrations"), [{ version: "2", dirty: false }]);
    });

    test("dbmate table: a version without a file is refused, naming it; --from golang-migrate on it is refused", { timeout: 60_000 }, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const d = await fresh();
      const dir = files({ "20240101000000_a.sql": `-- migrate:up\n${A}` });
      await d.query("CREATE TABLE schema_migrations (version varchar(128) PRIMARY KEY)");
      await d.query("INSERT INTO schema_migrations VALUES ('20240101000000'), ('20240109000000')");
      const migrator = new Migrator(d.db, { migrations: await loadMigrations(dir) });
      await assert.rejects(adoptHistory(d.db, migrator), /version 20240109000000 applied, but no migration file has it/);
      await assert.rejects(adoptHistory(d.db, migrator, { from: "golang-migrate" }), /looks like dbmate's table/);
      assert.equal(await tableExists(d, "orchwf_migrations"), false);
    });

    test("goose: the latest row of each version decides; a gap is refused unless allowGaps", { timeout: 60_000 }, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const d = await fresh();
      const dir = files({
        "00001_a.sql": `-- +goose Up\n${A}`,
        "00002_b.sql": `-- +goose Up\n${B}`,
        "00003_c.sql": `-- +goose Up\n${C}`,
      });
      await d.query(`CREATE TABLE goose_db_version (id serial PRIMARY KEY, version_id bigint NOT NULL, is_applied boolean NOT NULL, tstamp timestamp DEFAULT now())`);
      // 0 is goose's own row; 2 was applied and then rolled back; 3 applied.
      await d.query(`INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true), (1, true), (2, true), (2, false), (3, true)`);
      const migrator = new Migrator(d.db, { migrations: await loadMigrations(dir) });
      const history = await readToolHistory(d.db, migrator.migrations);
      assert.equal(history.from, "goose");
      assert.deepEqual(history.versions, ["00001", "00003"]);
      assert.match(history.problems[0].message, /00002_b\.sql is not applied according to .*goose_db_version.*allow-gaps/);
      const result = await adoptHistory(d.db, migrator, { allowGaps: true });
      assert.deepEqual(result.baselined.map((b) => b.version), ["00001", "00003"]);
      for (const sql of [A, C]) await d.query(sql);
      assert.deepEqual((await migrator.migrate()).applied.map((r) => r.version), ["00002"]);
    });

    test("flyway: versioned, undone, failed rows and repeatables by checksum", { timeout: 60_000 }, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const d = await fresh();
      const fn = "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';\n";
      const dir = files({ "V1__a.sql": A, "V1_1__b.sql": B, "V2__c.sql": C, "R__f.sql": fn, "R__g.sql": fn.replace(/f\(\)/, "g()") });
      await d.query(`CREATE TABLE flyway_schema_history (installed_rank int PRIMARY KEY, version varchar(50), description varchar(200) NOT NULL,
        type varchar(20) NOT NULL, script varchar(1000) NOT NULL, checksum int, installed_by varchar(100) NOT NULL,
        installed_on timestamp NOT NULL DEFAULT now(), execution_time int NOT NULL, success boolean NOT NULL)`);
      const row = (rank: number, version: string | null, desc: string, type: string, script: string, checksum: number | null, success = true) =>
        d.query(`INSERT INTO flyway_schema_history VALUES ($1, $2, $3, $4, $5, $6, 'me', now(), 1, $7)`, [rank, version, desc, type, script, checksum, success]);
      await row(1, "1", "a", "SQL", "V1__a.sql", flywayChecksum(A));
      await row(2, "1.1", "b", "SQL", "V1_1__b.sql", flywayChecksum(B));
      await row(3, null, "f", "SQL", "R__f.sql", flywayChecksum(fn)); // unchanged since: applied
      await row(4, null, "g", "SQL", "R__g.sql", 12345); // changed since: left pending
      await row(5, "2", "c", "SQL", "V2__c.sql", flywayChecksum(C), false);
      const migrator = new Migrator(d.db, { migrations: await loadMigrations(dir) });
      await assert.rejects(adoptHistory(d.db, migrator), (e: Error & { code?: string }) => e.code === "DIRTY" && /flyway repair/.test(e.message));
      await d.query("DELETE FROM flyway_schema_history WHERE installed_rank = 5");
      await d.query(`UPDATE flyway_schema_history SET checksum = 1 WHERE installed_rank = 2`);
      await assert.rejects(adoptHistory(d.db, migrator), (e: Error & { code?: string }) => e.code === "CHECKSUM_MISMATCH" && /V1_1__b\.sql changed since Flyway applied/.test(e.message));
      await d.query(`UPDATE flyway_schema_history SET checksum = $1 WHERE installed_rank = 2`, [flywayChecksum(B)]);
      const result = await adoptHistory(d.db, migrator, { from: "flyway" });
      assert.deepEqual(result.versions, ["1", "1.1", "R__f"]);
      for (const sql of [A, B, fn]) await d.query(sql);
      assert.deepEqual((await migrator.migrate()).applied.map((r) => r.version), ["2", "R__g"]);
    });

    test("diesel, sqlx and node-pg-migrate tables", { timeout: 60_000 }, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      let d = await fresh();
      const diesel = files({ "00000000000000_setup/up.sql": "", "2019-02-26-002946_a/up.sql": A, "2019-02-27-000000_b/up.sql": B });
      await d.query("CREATE TABLE __diesel_schema_migrations (version varchar(50) PRIMARY KEY NOT NULL, run_on timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP)");
      await d.query("INSERT INTO __diesel_schema_migrations (version) VALUES ('00000000000000'), ('20190226002946')");
      let migrator = new Migrator(d.db, { migrations: await loadMigrations(diesel) });
      assert.deepEqual((await adoptHistory(d.db, migrator)).versions, ["00000000000000", "20190226002946"]);
      await d.query(A);
      assert.deepEqual((await migrator.migrate()).applied.map((r) => r.version), ["20190227000000"]);

      d = await fresh();
      const sqlx = files({ "1_a.sql": A, "2_b.sql": B, "3_c.sql": C });
      await d.query(`CREATE TABLE _sqlx_migrations (version bigint PRIMARY KEY, description text NOT NULL, installed_on timestamptz NOT NULL DEFAULT now(),
        success boolean NOT NULL, checksum bytea NOT NULL, execution_time bigint NOT NULL)`);
      await d.query(`INSERT INTO _sqlx_migrations VALUES (1, 'a', now(), true, sha384(convert_to($1, 'UTF8')), 1), (2, 'b', now(), false, sha384(convert_to($2, 'UTF8')), 1)`, [A, B]);
      migrator = new Migrator(d.db, { migrations: await loadMigrations(sqlx) });
      await assert.rejects(adoptHistory(d.db, migrator), (e: Error & { code?: string }) => e.code === "DIRTY" && /migration 2 failed part way/.test(e.message));
      await d.query("DELETE FROM _sqlx_migrations WHERE version = 2");
      assert.deepEqual((await adoptHistory(d.db, migrator, { from: "sqlx" })).versions, ["1"]);

      d = await fresh();
      const npm = files({ "1700000000000_a.sql": `-- Up Migration\n${A}`, "1700000000001_b.sql": `-- Up Migration\n${B}` });
      await d.query("CREATE TABLE pgmigrations (id serial PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL)");
      await d.query("INSERT INTO pgmigrations (name, run_on) VALUES ('1700000000000_a', now())");
      migrator = new Migrator(d.db, { migrations: await loadMigrations(npm) });
      assert.deepEqual((await adoptHistory(d.db, migrator)).versions, ["1700000000000"]);
      await d.query(A);
      assert.deepEqual((await migrator.migrate()).applied.map((r) => r.version), ["1700000000001"]);
    });
  });
}
