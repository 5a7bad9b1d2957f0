/**
 * The version table's shape and rows are checked before anything touches them: a table that is not ours is refused
 * (VERSION_TABLE) and never ALTERed; NULL, non-digit and twice-recorded versions are refused before any decision.
 * The Go package's table is still adopted (tests/compat.test.ts).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Migration, MigrationError, Migrator } from "../src/mod.ts";
import { judgeShape } from "../src/engine/history-shape.ts";
import { engines, type TestDatabase } from "./helpers/engines.ts";
import { bunRunner, cleanEnv, runWith } from "./helpers/cli.ts";

const one: Migration = { version: "1", description: "one", up: "CREATE TABLE hs_one (id int);", down: "DROP TABLE hs_one;" };
const two: Migration = { version: "2", description: "two", up: "CREATE TABLE hs_two (id int);", down: "DROP TABLE hs_two;" };

async function columnsOf(d: TestDatabase, table: string): Promise<string[]> {
  const rows = await d.query<{ c: string }>(
    "SELECT attname || ' ' || format_type(atttypid, atttypmod) AS c FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
    [table],
  );
  return rows.map((r) => r.c);
}

async function refused(what: Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(what, (err: unknown) => {
    assert.ok(err instanceof MigrationError, `a MigrationError, not ${String(err)}`);
    assert.equal(err.code, "VERSION_TABLE");
    assert.match(err.message, pattern);
    return true;
  });
}

for (const engine of engines) {
  const skip = (await engine.available()) ? false : "no PostgreSQL server here";
  describe(`version table shape on ${engine.name}`, { skip }, () => {
    // One database per engine (PGlite is slow to create); each test works in a schema of its own.
    let d: TestDatabase;
    let n = 0;
    before(async () => {
      d = await engine.open();
    });
    after(() => d?.close());
    const fresh = async () => {
      const s = `hs_${++n}`;
      await d.query(`CREATE SCHEMA ${s}`);
      return s;
    };
    test("a table of that name with other columns is refused and left exactly as it was", async () => {
      const s = await fresh();
      await d.query(`CREATE TABLE ${s}.orchwf_migrations (id serial PRIMARY KEY, name text)`);
      const before = await columnsOf(d, `${s}.orchwf_migrations`);
      const migrator = new Migrator(d.db, { migrations: [one], schema: s });
      await refused(migrator.migrate(), /found columns id integer, name text.*Nothing was changed.*baseline/s);
      await refused(migrator.status(), /not a version table/);
      await refused(migrator.rollback(), /not a version table/);
      await refused(migrator.baseline({ to: "1" }), /not a version table/);
      assert.deepEqual(await columnsOf(d, `${s}.orchwf_migrations`), before, "never ALTERed");
      assert.deepEqual(await d.query(`SELECT to_regclass('${s}.hs_one') AS t`), [{ t: null }], "no migration ran");
    });

    test("--table schema_migrations pointed at golang-migrate's table is refused, named, and not altered", async () => {
      const s = await fresh();
      await d.query(`CREATE TABLE ${s}.schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)`);
      await d.query(`INSERT INTO ${s}.schema_migrations VALUES (1, false)`);
      const migrator = new Migrator(d.db, { migrations: [one, two], table: "schema_migrations", schema: s });
      await refused(migrator.migrate(), /column version is bigint.*golang-migrate's table/s);
      await refused(migrator.status(), /golang-migrate/);
      assert.deepEqual(await columnsOf(d, `${s}.schema_migrations`), ["version bigint", "dirty boolean"]);
      assert.deepEqual(await d.query(`SELECT version::text AS v, dirty FROM ${s}.schema_migrations`), [{ v: "1", dirty: false }]);
    });

    test("a view, or a table missing the Go package's columns (dbmate's), is refused", async () => {
      const s = await fresh();
      await d.query(`CREATE VIEW ${s}.orchwf_migrations AS SELECT '1'::text AS version, ''::text AS description, now() AS applied_at`);
      await refused(new Migrator(d.db, { migrations: [one], schema: s }).migrate(), /it is a view/);
      await d.query(`CREATE TABLE ${s}.schema_migrations (version varchar(128) PRIMARY KEY)`);
      await refused(
        new Migrator(d.db, { migrations: [one], table: "schema_migrations", schema: s }).migrate(),
        /no description, applied_at columns.*dbmate/s,
      );
      assert.deepEqual(await columnsOf(d, `${s}.schema_migrations`), ["version character varying(128)"]);
    });

    test("rows 1 and 001 both present: status and down refuse instead of picking one", async () => {
      const s = await fresh();
      const migrator = new Migrator(d.db, { migrations: [one, two], schema: s });
      await migrator.migrate();
      await d.query(`INSERT INTO ${s}.orchwf_migrations (version, description, dirty) VALUES ('001', 'one again', false)`);
      await refused(migrator.status(), /records version 1 twice, as "1" and "001"/);
      await refused(migrator.rollback(), /twice.*DELETE FROM/s);
      await refused(migrator.rollback({ to: "0" }), /twice/);
      const left = await d.query<{ v: string }>(`SELECT version AS v FROM ${s}.orchwf_migrations ORDER BY version`);
      assert.deepEqual(left.map((r) => r.v), ["001", "1", "2"], "nothing was rolled back");
      assert.deepEqual(await d.query(`SELECT to_regclass('${s}.hs_two')::text AS t`), [{ t: `${s}.hs_two` }]);
    });

    test("a NULL or non-digit version is refused by status, up and down (no TypeError, never the current version)", async () => {
      const s = await fresh();
      // A table of our shape whose version column lost its primary key (made by hand), holding a NULL.
      await d.query(`CREATE TABLE ${s}.orchwf_migrations (version VARCHAR(255), description TEXT,
        applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, checksum TEXT, execution_ms INTEGER, dirty BOOLEAN NOT NULL DEFAULT false)`);
      await d.query(`INSERT INTO ${s}.orchwf_migrations (version, description) VALUES (NULL, 'lost')`);
      const migrator = new Migrator(d.db, { migrations: [one], schema: s });
      await refused(migrator.status(), /a row with version NULL.*version IS NULL/s);
      await refused(migrator.migrate(), /version NULL/);
      await d.query(`UPDATE ${s}.orchwf_migrations SET version = 'v2_final'`);
      await refused(migrator.status(), /a row with version "v2_final", which is not a version/);
      await refused(migrator.rollback(), /v2_final/);
      assert.deepEqual(await d.query(`SELECT to_regclass('${s}.hs_one') AS t`), [{ t: null }]);
    });

    test("our table with a column of the user's own (nullable) still works; with a NOT NULL one it is refused", async () => {
      const s = await fresh();
      const migrator = new Migrator(d.db, { migrations: [one, two], schema: s });
      await migrator.migrate({ to: "1" });
      await d.query(`ALTER TABLE ${s}.orchwf_migrations ADD COLUMN note text`);
      assert.deepEqual((await migrator.migrate()).applied.map((a) => a.version), ["2"]);
      await d.query(`ALTER TABLE ${s}.orchwf_migrations ADD COLUMN owner text NOT NULL DEFAULT 'x'`);
      await d.query(`ALTER TABLE ${s}.orchwf_migrations ALTER COLUMN owner DROP DEFAULT`);
      await refused(migrator.rollback(), /column owner is NOT NULL without a default/);
    });
  });
}

describe("version table shape: the pure judgement", () => {
  const go = [
    { name: "version", type: "character varying(255)", required: true },
    { name: "description", type: "text", required: false },
    { name: "applied_at", type: "timestamp without time zone", required: false },
  ];
  test("the Go package's table is upgradable, ours is ready", () => {
    assert.deepEqual(judgeShape('"t"', "r", go), {
      kind: "upgradable",
      columns: new Set(["version", "description", "applied_at"]),
      missing: ["checksum", "execution_ms", "dirty"],
    });
    const ours = [...go, { name: "checksum", type: "text", required: false }, { name: "execution_ms", type: "integer", required: false }, {
      name: "dirty",
      type: "boolean",
      required: false,
    }];
    assert.equal(judgeShape('"t"', "p", ours).kind, "ready");
  });
  test("the Go table plus a column we do not know is not upgraded", () => {
    assert.throws(() => judgeShape('"t"', "r", [...go, { name: "extra", type: "text", required: false }]), /it has column extra/);
  });
});

const serverSkip = (await engines[1].available()) ? false : "no PostgreSQL server here";
describe("version table shape through the CLI", () => {
  test("status --json reports VERSION_TABLE with exit 1", { skip: serverSkip }, async () => {
    const d = await engines[1].open();
    try {
      await d.query("CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)");
      const run = await runWith(bunRunner, ["status", "--json", "--table", "schema_migrations", "--db", d.url!], { env: cleanEnv() });
      assert.equal(run.code, 1, run.stderr);
      const { error } = JSON.parse(run.stdout);
      assert.equal(error.code, "VERSION_TABLE");
      assert.match(error.message, /golang-migrate/);
      assert.deepEqual(await columnsOf(d, "schema_migrations"), ["version bigint", "dirty boolean"]);
    } finally {
      await d.close();
    }
  });
});
