/**
 * squash: a 50-migration generated history (tables, indexes, seed rows, functions, ALTER + UPDATE) squashed at 30
 * through the CLI, in place. On PGlite and PostgreSQL 15: a fresh database migrated from the squashed directory has
 * the schema and the rows of one migrated from the original; a database that applied the original up to 30 (or 50)
 * keeps working and records the baseline in place of 1..30; one that applied only 1..12 is refused.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { loadMigrations, type Migration, MigrationError, Migrator } from "../src/mod.ts";
import { main } from "../src/cli/main.ts";
import { diffSnapshots, snapshotSchema } from "../src/schema/snapshot.ts";
import { detectDrift, renderDriftReport } from "../src/schema/drift.ts";
import { benchMigrations } from "../scripts/bench/generate.ts";
import { engines, type TestDatabase } from "./helpers/engines.ts";

const VERSION_TABLE = { excludeTables: ["public.orchwf_migrations"] };
const pad = (i: number) => String(i).padStart(4, "0");
const root = mkdtempSync(join(tmpdir(), "orchwf-squash-"));
const originalDir = join(root, "original");
const squashedDir = join(root, "squashed");
let original: Migration[];
let squashed: Migration[];
let cliJson: Record<string, unknown>;

/** Writes the history twice, squashes one copy in place through the CLI; every test awaits it. */
async function prepare(): Promise<void> {
  for (const dir of [originalDir, squashedDir]) {
    mkdirSync(dir);
    for (const m of benchMigrations(50)) {
      writeFileSync(join(dir, `${pad(m.index)}_${m.name}.up.sql`), m.up);
      writeFileSync(join(dir, `${pad(m.index)}_${m.name}.down.sql`), m.down);
    }
  }
  original = await loadMigrations(originalDir);
  let stdout = "";
  const code = await main(["squash", "--to", "0030", "--dir", squashedDir, "--json"], {
    stdout: (t) => (stdout += t),
    stderr: () => {},
    env: {},
    isTTY: false,
  });
  assert.equal(code, 0, stdout);
  cliJson = JSON.parse(stdout);
  squashed = await loadMigrations(squashedDir);
}
let prepared: Promise<void> | undefined;
const ready = () => (prepared ??= prepare());
after(() => rmSync(root, { recursive: true, force: true }));

test("the squashed directory: one baseline 0030 replacing 0001..0030, the later files untouched", { timeout: 300_000 }, async () => {
  await ready();
  const files = readdirSync(squashedDir).sort();
  assert.equal(files.length, 1 + 40, files.join(" "));
  assert.ok(files.includes("0030_squashed.up.sql"));
  assert.deepEqual(squashed.map((m) => m.version), ["0030", ...Array.from({ length: 20 }, (_, i) => pad(31 + i))]);
  const baseline = squashed[0];
  assert.deepEqual(baseline.replaces, Array.from({ length: 30 }, (_, i) => pad(i + 1)));
  assert.equal(baseline.description, "squashed 0001 to 0030");
  assert.equal(baseline.down, undefined);
  assert.doesNotMatch(baseline.up, /^SET (statement_timeout|lock_timeout)|RESET ALL|set_config\('search_path', '', false\)/m);
  for (const f of files.filter((f) => f !== "0030_squashed.up.sql")) {
    assert.equal(readFileSync(join(squashedDir, f), "utf8"), readFileSync(join(originalDir, f), "utf8"), f);
  }
  // JSON contract: what was replaced and removed, and every data statement found (seed INSERTs, UPDATEs).
  assert.equal(cliJson.to, "0030");
  assert.equal((cliJson.replaced as string[]).length, 30);
  assert.equal((cliJson.removed as string[]).length, 60);
  assert.equal(cliJson.dumper, "pglite-tools");
  const data = cliJson.dataStatements as { version: string; line: number; statement: string }[];
  assert.deepEqual(data.map((d) => d.version), ["0003", "0005", "0008", "0010", "0013", "0015", "0018", "0020", "0023", "0025", "0028", "0030"]);
  assert.match(data[0].statement, /^INSERT INTO bench_0/);
  assert.equal(data[1].line, 2);
});

/** Every generated table's row count and quantities: the data the migrations wrote. */
async function data(d: TestDatabase): Promise<string[]> {
  const out: string[] = [];
  for (let g = 0; g < 10; g++) {
    const [row] = await d.query<{ n: number; q: string; notes: number }>(
      `SELECT count(*)::int AS n, coalesce(sum(qty), 0)::text AS q, count(note)::int AS notes FROM bench_${g}`,
    );
    out.push(`bench_${g} ${row.n} ${row.q} ${row.notes}`);
  }
  const [seq] = await d.query<{ v: string }>("SELECT nextval('bench_0_id_seq')::text AS v");
  out.push(`bench_0_id_seq ${seq.v}`);
  return out;
}

for (const engine of engines) {
  describe(`squash on ${engine.name}`, () => {
    test("fresh from squashed = fresh from original; prefix 30 and 50 adopt the baseline; prefix 12 refused", { timeout: 600_000 }, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      await ready();
      const opened: TestDatabase[] = [];
      const open = async () => {
        const d = await engine.open();
        opened.push(d);
        return d;
      };
      try {
        const full = await open();
        await new Migrator(full.db, { migrations: original }).migrate();
        const expected = await snapshotSchema(full.db, VERSION_TABLE);
        const expectedData = await data(full);

        // 1. A fresh database from the squashed directory: same schema, same rows.
        const fresh = await open();
        const run = await new Migrator(fresh.db, { migrations: squashed }).migrate();
        assert.equal(run.applied.length, 21);
        assert.deepEqual(diffSnapshots(expected, await snapshotSchema(fresh.db, VERSION_TABLE)), []);
        assert.deepEqual(await data(fresh), expectedData);

        // 2. Applied the original up to 0030: the baseline counts as applied, 0031.. run, rows swapped.
        const at30 = await open();
        await new Migrator(at30.db, { migrations: original }).migrate({ to: "0030" });
        const migrator = new Migrator(at30.db, { migrations: squashed });
        // drift sees it as the Migrator does: the baseline counts as applied, and its replay matches the schema.
        const drift = await detectDrift(at30.db, squashed);
        assert.deepEqual([drift.ok, drift.applied, drift.checksum], [true, ["0030"], { modified: [], missing: [] }], renderDriftReport(drift));
        const status = await migrator.status();
        assert.equal(status.migrations[0].version, "0030");
        assert.equal(status.migrations[0].state, "applied");
        assert.equal(status.pending, 20);
        assert.deepEqual((await migrator.migrate()).applied.map((a) => a.version), squashed.slice(1).map((m) => m.version));
        assert.deepEqual(diffSnapshots(expected, await snapshotSchema(at30.db, VERSION_TABLE)), []);
        assert.deepEqual(await data(at30), expectedData);
        const rows = await at30.query<{ version: string }>("SELECT version FROM orchwf_migrations ORDER BY version");
        assert.deepEqual(rows.map((r) => r.version), squashed.map((m) => m.version));
        assert.ok((await migrator.status()).migrations.every((m) => m.state === "applied"));

        // 3. Applied all 50: nothing runs, the baseline's row replaces 0001..0030.
        const onFull = new Migrator(full.db, { migrations: squashed });
        assert.deepEqual((await onFull.plan()).pending, []);
        assert.deepEqual((await onFull.migrate()).applied, []);
        assert.equal((await full.query<{ n: number }>("SELECT count(*)::int AS n FROM orchwf_migrations"))[0].n, 21);
        assert.deepEqual(diffSnapshots(expected, await snapshotSchema(full.db, VERSION_TABLE)), []);

        // 4. Applied only 0001..0012: refused, nothing changed.
        const at12 = await open();
        await new Migrator(at12.db, { migrations: original }).migrate({ to: "0012" });
        const before12 = await snapshotSchema(at12.db);
        const refused = await new Migrator(at12.db, { migrations: squashed }).migrate().catch((e) => e);
        assert.ok(refused instanceof MigrationError, String(refused));
        assert.equal(refused.code, "SQUASHED_PARTIAL");
        assert.equal(refused.version, "0030");
        assert.match(refused.message, /records only part of them: 0001, 0002, 0003, …, 0011, 0012; missing 0013, 0014, 0015, …, 0029, 0030/);
        assert.deepEqual(await snapshotSchema(at12.db), before12);
      } finally {
        for (const d of opened) await d.close();
      }
    });
  });
}

test("squash refuses an unknown version and a missing --to, writing nothing", async () => {
  const dir = mkdtempSync(join(tmpdir(), "orchwf-squash-bad-"));
  try {
    writeFileSync(join(dir, "001_a.up.sql"), "CREATE TABLE a (id int);\n");
    const run = async (args: string[]) => {
      let stdout = "";
      const code = await main(args, { stdout: (t) => (stdout += t), stderr: () => {}, env: {}, isTTY: false });
      return { code, json: JSON.parse(stdout) };
    };
    const unknown = await run(["squash", "--to", "7", "--dir", dir, "--json"]);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.json.error.code, "UNKNOWN_VERSION");
    const noTo = await run(["squash", "--dir", dir, "--json"]);
    assert.equal(noTo.code, 2);
    assert.equal(noTo.json.error.code, "USAGE");
    assert.deepEqual(readdirSync(dir), ["001_a.up.sql"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("-- orchwf:replaces: parsed over several lines; a replaced version still present is refused; bad lists are refused", async () => {
  const { migrationFromFiles, validateMigrations } = await import("../src/core/migration.ts");
  const baseline = migrationFromFiles({
    version: "003",
    name: "squashed",
    up: "-- orchwf:replaces 001 002\n-- orchwf:replaces 003\nCREATE TABLE t (id int);\n",
    upFile: "m/003_squashed.up.sql",
  });
  assert.deepEqual(baseline.replaces, ["001", "002", "003"]);
  const later = migrationFromFiles({ version: "004", name: "later", up: "CREATE TABLE u (id int);\n" });
  assert.deepEqual(validateMigrations([later, baseline]).map((m) => m.version), ["003", "004"]);
  const stale = migrationFromFiles({ version: "002", name: "old", up: "CREATE TABLE o (id int);\n", upFile: "m/002_old.up.sql" });
  assert.throws(() => validateMigrations([baseline, stale]), (e: MigrationError) =>
    e.code === "INVALID_MIGRATION" && e.file === "m/002_old.up.sql" && /replaced by the squashed migration 003 \(m\/003_squashed\.up\.sql\); delete it/.test(e.message));
  assert.throws(
    () => migrationFromFiles({ version: "005", name: "x", up: "-- orchwf:replaces 001 two\nSELECT 1;\n", upFile: "m/005_x.up.sql" }),
    (e: MigrationError) => e.code === "INVALID_MIGRATION" && /m\/005_x\.up\.sql:1: unknown directive/.test(e.message),
  );
});
