/**
 * drift (schema): a database migrated with a rich history reports no drift; each of 26 hand-made changes
 * (columns, types, defaults, comments, indexes, constraints, triggers, functions, views, sequences, enums,
 * domains, policies, row level security, extensions, tables) is reported as exactly the expected difference;
 * --ignore patterns leave objects out; the live database is only read; on PGlite and PostgreSQL 15.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PGlite } from "@electric-sql/pglite";
import { hstore } from "@electric-sql/pglite/contrib/hstore";
import { Migrator } from "../src/mod.ts";
import { detectDrift, renderDriftReport } from "../src/schema/drift.ts";
import { snapshotSchema } from "../src/schema/snapshot.ts";
import { postgresEngine, type TestDatabase } from "./helpers/engines.ts";
import { handMadeDrifts, richHistory } from "./helpers/schema-history.ts";

/** A live database of each engine; PGlite with hstore available, so that an extension can be installed by hand. */
const live: {
  name: string;
  available: () => Promise<boolean>;
  open: () => Promise<TestDatabase>;
  exec: (d: TestDatabase, sql: string) => Promise<void>;
}[] = [
  {
    name: "pglite",
    available: () => Promise.resolve(true),
    async open() {
      const db = await PGlite.create({ extensions: { hstore } });
      return { db, query: async (text, params) => (await db.query(text, params)).rows as never, close: () => db.close() };
    },
    exec: (d, sql) => (d.db as PGlite).exec(sql).then(() => {}),
  },
  { ...postgresEngine, exec: (d, sql) => d.query(sql).then(() => {}) },
];


const key = (d: { drift: string; kind: string; name: string }) => `${d.drift} ${d.kind} ${d.name}`;

for (const engine of live) {
  describe(`drift of the live schema on ${engine.name}`, () => {
    test("clean: no drift; every hand-made change: exactly its difference; ignore; read-only", { timeout: 240_000 }, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const d = await engine.open();
      try {
        await new Migrator(d.db, { migrations: richHistory }).migrate();
        const clean = await detectDrift(d.db, richHistory);
        assert.deepEqual(clean.differences, [], renderDriftReport(clean));
        assert.equal(clean.ok, true);
        assert.deepEqual(clean.applied, ["001", "002", "003"]);
        assert.equal(clean.table, "public.orchwf_migrations");
        assert.match(renderDriftReport(clean), /no drift/);

        for (const change of handMadeDrifts) await engine.exec(d, change.sql);
        const before = await snapshotSchema(d.db);
        const rowsBefore = await d.query("SELECT version, checksum FROM orchwf_migrations ORDER BY version");
        const report = await detectDrift(d.db, richHistory);
        const found = report.differences.map(key).sort();
        const expected = handMadeDrifts.flatMap((c) => c.expect.map(key)).sort();
        assert.deepEqual(found, expected, renderDriftReport(report));
        assert.equal(report.ok, false);
        for (const c of handMadeDrifts) {
          for (const e of c.expect) assert.ok(found.includes(key(e)), `${c.what}: ${key(e)} not reported`);
        }
        const fk = report.differences.find((x) => x.name === "public.notes.notes_person_id_fkey")!;
        assert.match(fk.expected!, /ON DELETE CASCADE/);
        assert.doesNotMatch(fk.actual!, /CASCADE/);
        const text = renderDriftReport(report, "live");
        assert.match(text, /extra in the database: extension hstore/);
        assert.match(text, /missing from the database: trigger public\.notes\.notes_stamp/);
        assert.match(text, /changed in the database: enum public\.mood\n\s+migrations: 'sad', 'ok', 'happy'\n\s+database:\s+'sad', 'ok', 'happy', 'ecstatic'/);
        assert.match(text, /DRIFT: 28 differences/);

        // Objects owned by others: a schema glob, a table with its parts, one kind.
        const ignoring = await detectDrift(d.db, richHistory, { ignore: ["audit.*", "public.notes", "extension:*"] });
        const left = ignoring.differences.map(key);
        assert.ok(!left.some((k) => / audit\.| public\.notes[ .]|^extra extension /.test(k)), left.join("\n"));
        assert.ok(left.includes("extra column public.people.nickname"));
        assert.equal(ignoring.ignored, report.differences.length - ignoring.differences.length);
        assert.equal(ignoring.ignored, 11); // audit: 3, public.notes and its parts: 7, hstore: 1

        // Only read: the schema and the version table are as they were.
        assert.deepEqual(await snapshotSchema(d.db), before);
        assert.deepEqual(await d.query("SELECT version, checksum FROM orchwf_migrations ORDER BY version"), rowsBefore);
      } finally {
        await d.close();
      }
    });
  });
}

describe("drift on PostgreSQL 15: busy server", () => {
  test("a table locked by DDL makes drift give up after lock_timeout instead of queueing", { timeout: 120_000 }, async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    const d = await postgresEngine.open();
    const postgres = (await import("postgres")).default;
    const other = postgres(d.url!, { max: 1, onnotice: () => {} });
    try {
      await new Migrator(d.db, { migrations: richHistory }).migrate();
      const holder = await other.reserve();
      await holder.unsafe("BEGIN; LOCK TABLE people IN ACCESS EXCLUSIVE MODE");
      const started = Date.now();
      const result = await detectDrift(d.db, richHistory, { lockTimeoutMs: 300 }).catch((e) => e);
      const took = Date.now() - started;
      await holder.unsafe("ROLLBACK");
      holder.release();
      assert.ok(result instanceof Error, "drift read a table under an ACCESS EXCLUSIVE lock without waiting");
      assert.match(String((result as Error).message), /lock timeout|canceling statement due to lock timeout/i);
      assert.ok(took < 30_000, `took ${took} ms`);
    } finally {
      await other.end();
      await d.close();
    }
  });
});
