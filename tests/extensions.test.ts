/**
 * PGlite extensions: the bundled ones the migrations create are found before the run and loaded, by the CLI on
 * `pglite:` URLs (Bun on the sources and the compiled binary, which carries them), by `verifyMigrations` and by
 * `createTestDatabase`; one PGlite lacks is an error naming it and the file.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, describe, test } from "node:test";
import { dumpMigrations, loadMigrations, type Migration, planNextMigration, replayMigrations, verifyMigrations } from "../src/mod.ts";
import { pgliteExtensions, requiredExtensions } from "../src/sources/extensions.ts";
import { createTestDatabase } from "../src/testing.ts";
import { bunRunner, buildDistributions, runWith } from "./helpers/cli.ts";
import { tree } from "./helpers/tree.ts";

const FILES = {
  "1_extensions.up.sql": 'CREATE EXTENSION IF NOT EXISTS pg_trgm;\nCREATE EXTENSION "uuid-ossp";\nCREATE EXTENSION ltree;\n',
  "1_extensions.down.sql": 'DROP EXTENSION ltree;\nDROP EXTENSION "uuid-ossp";\nDROP EXTENSION pg_trgm;\n',
  "2_use.up.sql":
    "CREATE TABLE doc (id uuid PRIMARY KEY DEFAULT uuid_generate_v4(), path ltree, title text);\nCREATE INDEX doc_title ON doc USING gin (title gin_trgm_ops);\n",
  "2_use.down.sql": "DROP TABLE doc;\n",
};

describe("detecting CREATE EXTENSION", () => {
  test("names, quoted names and IF NOT EXISTS; not in comments or strings; the first file asking", () => {
    const m = (version: string, up: string): Migration => ({ version, description: "", up, source: { up: `${version}.up.sql` } });
    const found = requiredExtensions([
      m("1", "-- CREATE EXTENSION postgis;\n/* create extension hstore */ SELECT 'create extension cube';\ncreate extension if not exists CITEXT;"),
      m("2", 'CREATE EXTENSION "uuid-ossp" WITH SCHEMA public;\nCREATE EXTENSION citext;'),
    ]);
    assert.deepEqual([...found], [["citext", "1.up.sql"], ["uuid-ossp", "2.up.sql"]]);
  });

  test("an extension PGlite lacks: INVALID_MIGRATION naming it and the file", async () => {
    await assert.rejects(pgliteExtensions(["postgis"], new Map([["postgis", "m/3_geo.up.sql"]])), (e: Error & { code?: string; file?: string }) => {
      assert.equal(e.code, "INVALID_MIGRATION");
      assert.equal(e.file, "m/3_geo.up.sql");
      assert.match(e.message, /^m\/3_geo\.up\.sql: PGlite has no extension "postgis"/);
      assert.match(e.message, /pg_trgm/);
      return true;
    });
  });
});

describe("PGlite runs migrations that create bundled extensions", () => {
  const dir = tree(FILES);
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("CLI up and verify on pglite:memory (Bun); an unbundled extension names the file", { timeout: 180_000 }, async () => {
    const up = await runWith(bunRunner, ["up", "--db", "pglite:memory", "--dir", dir, "--json", "--timeout", "0"]);
    assert.equal(up.code, 0, up.stderr);
    assert.deepEqual(JSON.parse(up.stdout).applied.map((r: { version: string }) => r.version), ["1", "2"]);
    const verify = await runWith(bunRunner, ["verify", "--dir", dir, "--json", "--timeout", "0"]);
    assert.equal(verify.code, 0, verify.stderr);
    assert.equal(JSON.parse(verify.stdout).ok, true);
    const extra = await runWith(bunRunner, ["up", "--db", "pglite:memory", "--dir", dir, "--extensions", "postgis", "--json", "--timeout", "0"]);
    assert.equal(extra.code, 1);
    assert.match(extra.stderr + extra.stdout, /PGlite has no extension \\?"postgis\\?"/);
    const geo = tree({ "1_geo.up.sql": "CREATE EXTENSION postgis;\n" });
    try {
      const r = await runWith(bunRunner, ["up", "--db", "pglite:memory", "--dir", geo, "--json", "--timeout", "0"]);
      assert.equal(r.code, 1);
      const err = JSON.parse(r.stdout).error;
      assert.equal(err.code, "INVALID_MIGRATION");
      assert.ok(err.message.startsWith(`${geo}/1_geo.up.sql: PGlite has no extension "postgis"`), err.message);
    } finally {
      rmSync(geo, { recursive: true, force: true });
    }
  });

  test("verifyMigrations and createTestDatabase load them", { timeout: 180_000 }, async () => {
    const migrations = await loadMigrations(dir);
    const report = await verifyMigrations(migrations);
    assert.deepEqual(report.migrations.map((m) => m.status), ["verified", "verified"]);
    const db = await createTestDatabase({ migrations });
    try {
      await db.query("INSERT INTO doc (path, title) VALUES ('a.b', 'hello')");
      const rows = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM doc WHERE title % 'helo' AND path <@ 'a'");
      assert.equal(rows.rows[0].n, 1);
    } finally {
      await db.close();
    }
  });

  test("replays load them too: dump --from files, drift's replay, squash, diff", { timeout: 180_000 }, async () => {
    const migrations = await loadMigrations(dir);
    const { sql } = await dumpMigrations(migrations, { dumper: "snapshot" });
    assert.match(sql, /CREATE EXTENSION IF NOT EXISTS "pg_trgm"/);
    assert.match(sql, /gin_trgm_ops/);
    const replay = await replayMigrations(migrations);
    await replay.close();
    const next = await planNextMigration(migrations, `${FILES["1_extensions.up.sql"]}${FILES["2_use.up.sql"]}CREATE INDEX doc_path ON doc USING gist (path);`);
    assert.equal(next.proven, true, JSON.stringify([next.failed, next.upDiffers]));
    assert.deepEqual(next.up.statements, ["CREATE INDEX doc_path ON public.doc USING gist (path)"]);
  });

  test("the compiled binary carries the extensions", { timeout: 300_000 }, async () => {
    const built = buildDistributions();
    try {
      const binary = built.runners.find((r) => r.name === "binary")!;
      const r = await runWith(binary, ["up", "--db", "pglite:memory", "--dir", dir, "--json", "--timeout", "0"], { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout).applied.map((x: { version: string }) => x.version), ["1", "2"]);
    } finally {
      built.cleanup();
    }
  });
});
