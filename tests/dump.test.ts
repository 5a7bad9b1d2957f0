/**
 * dump: the file is deterministic (two runs, same text), executable (loaded into an empty database it gives the
 * schema the migrations give, with the version table's rows so the Migrator sees every version applied), from a
 * replay (pg_dump in WebAssembly) and from a live PostgreSQL 15 (its pg_dump, and the snapshot writer).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Migrator } from "../src/mod.ts";
import { dumpDatabase, dumpMigrations } from "../src/schema/dump.ts";
import { diffSnapshots, snapshotSchema } from "../src/schema/snapshot.ts";
import { engines, postgresEngine, type TestDatabase } from "./helpers/engines.ts";
import { richHistory } from "./helpers/schema-history.ts";

const VERSION_TABLE = ["public.orchwf_migrations"];

async function load(d: TestDatabase, sql: string): Promise<void> {
  const db = d.db as { exec?: (s: string) => Promise<unknown>; unsafe?: (s: string) => { simple(): Promise<unknown> } };
  if (typeof db.unsafe === "function") await db.unsafe(sql).simple();
  else await db.exec!(sql);
}

/** Loads `sql` into a fresh database of `engine` and checks its schema and version table against a migrated one. */
async function assertRoundTrip(engine: typeof engines[number], sql: string): Promise<void> {
  const migrated = await engine.open();
  const loaded = await engine.open();
  try {
    await new Migrator(migrated.db, { migrations: richHistory }).migrate();
    await load(loaded, sql);
    const expected = await snapshotSchema(migrated.db, { excludeTables: VERSION_TABLE });
    const actual = await snapshotSchema(loaded.db, { excludeTables: VERSION_TABLE });
    assert.deepEqual(diffSnapshots(expected, actual), []);
    assert.equal(expected.objects.length, 43); // every object of the rich history, compared above
    // The version table came with the dump: every version applied, checksums intact, nothing to run.
    const status = await new Migrator(loaded.db, { migrations: richHistory }).status();
    assert.deepEqual(status.migrations.map((m) => `${m.version} ${m.state}`), ["001 applied", "002 applied", "003 applied"]);
    assert.deepEqual((await new Migrator(loaded.db, { migrations: richHistory }).migrate()).applied, []);
  } finally {
    await migrated.close();
    await loaded.close();
  }
}

describe("dump of a replay (pg_dump in WebAssembly)", () => {
  let first: string;
  test("deterministic, no banner or psql-only lines, rows at the end", { timeout: 120_000 }, async () => {
    const a = await dumpMigrations(richHistory);
    const b = await dumpMigrations(richHistory);
    assert.equal(a.dumper, "pglite-tools");
    assert.equal(a.sql, b.sql, "two dumps differ");
    assert.deepEqual(a.versions, ["001", "002", "003"]);
    assert.doesNotMatch(a.sql, /Dumped (from|by)|\\restrict|transaction_timeout/);
    const lines = a.sql.trimEnd().split("\n");
    assert.equal(lines[lines.length - 1], "RESET ALL;");
    assert.match(lines[lines.length - 3], /^INSERT INTO "public"\."orchwf_migrations" \(version, description, checksum\) VALUES \(E'003', E'audit', E'[0-9a-f]{64}'\);$/);
    // Dependency order: the enum before the table using it, the table before the view over it.
    assert.ok(a.sql.indexOf("CREATE TYPE public.mood") < a.sql.indexOf("CREATE TABLE public.people"));
    assert.ok(a.sql.indexOf("CREATE TABLE public.people") < a.sql.indexOf("CREATE VIEW public.happy_people"));
    first = a.sql;
  });
  for (const engine of engines) {
    test(`loads into an empty ${engine.name} database: same schema as the migrations`, { timeout: 180_000 }, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      first ??= (await dumpMigrations(richHistory)).sql;
      await assertRoundTrip(engine, first);
    });
  }
});

describe("dump of a live PostgreSQL 15 database", () => {
  for (const dumper of ["pg_dump", "snapshot"] as const) {
    test(`${dumper}: round trip`, { timeout: 180_000 }, async (t) => {
      if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
      const live = await postgresEngine.open();
      try {
        await new Migrator(live.db, { migrations: richHistory }).migrate();
        const dump = await dumpDatabase(live.db, { url: live.url, dumper });
        assert.equal(dump.dumper, dumper);
        if (dumper === "pg_dump") assert.match(dump.dumperVersion ?? "", /^15\./);
        assert.equal((await dumpDatabase(live.db, { url: live.url, dumper })).sql, dump.sql, "two dumps differ");
        await assertRoundTrip(postgresEngine, dump.sql);
      } finally {
        await live.close();
      }
    });
  }
});
