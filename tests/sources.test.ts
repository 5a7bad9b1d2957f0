/**
 * Reading migration directories: nothing is skipped silently (symlinks followed, near-miss names and directories
 * refused), bad bytes and unreadable files are named, each format's own syntax errors name file and line; and
 * repeatable migrations (R__name.sql) re-run when they change, after the versioned ones, never rolled back.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { PGlite } from "@electric-sql/pglite";
import { loadMigrations, type MigrationFormat, Migrator, REPEATABLE_PREFIX } from "../src/mod.ts";
import { flywayChecksum } from "../src/sources/flyway.ts";
import { tree } from "./helpers/tree.ts";

async function refused(dir: string, code: string, fragments: string[], format?: MigrationFormat): Promise<void> {
  await assert.rejects(loadMigrations(dir, { format }), (e: Error & { code?: string }) => {
    assert.equal(e.code, code, e.message);
    for (const f of fragments) assert.ok(e.message.includes(f.replace("{dir}", dir)), `${JSON.stringify(f)} in ${e.message}`);
    return true;
  });
}

describe("file discovery", () => {
  const dirs: string[] = [];
  const make = (files: Record<string, string | Uint8Array>) => {
    const dir = tree({});
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    dirs.push(dir);
    return dir;
  };
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test("symlinked files and a ConfigMap-style ..data directory are followed", async () => {
    const real = make({ "1_a.up.sql": "CREATE TABLE a (id int);\n", "1_a.down.sql": "DROP TABLE a;\n" });
    const mount = mkdtempSync(join(tmpdir(), "orchwf-configmap-"));
    dirs.push(mount);
    mkdirSync(join(mount, "..2024_01_01"));
    writeFileSync(join(mount, "..2024_01_01", "2_b.up.sql"), "CREATE TABLE b (id int);\n");
    symlinkSync("..2024_01_01", join(mount, "..data"));
    symlinkSync("..data/2_b.up.sql", join(mount, "2_b.up.sql"));
    symlinkSync(join(real, "1_a.up.sql"), join(mount, "1_a.up.sql"));
    symlinkSync(join(real, "1_a.down.sql"), join(mount, "1_a.down.sql"));
    const list = await loadMigrations(mount);
    assert.deepEqual(list.map((m) => [m.version, m.down !== undefined]), [["1", true], ["2", false]]);
  });

  test("a dangling symlink is named", async () => {
    const dir = make({});
    symlinkSync(join(dir, "nowhere.sql"), join(dir, "1_a.up.sql"));
    await refused(dir, "UNREADABLE_FILE", ["{dir}/1_a.up.sql", "dangling"]);
  });

  for (const name of ["1_a.up.SQL", "1_a.UP.SQL", "1_a.Up.sql"]) {
    test(`near-miss extension ${name} is BAD_FILE_NAME, not skipped`, async () => {
      await refused(make({ [name]: "SELECT 1;\n" }), "BAD_FILE_NAME", [`{dir}/${name}`]);
    });
  }

  test("a directory named like a migration is BAD_FILE_NAME", async () => {
    const dir = make({ "1_a.up.sql": "SELECT 1;\n" });
    mkdirSync(join(dir, "2_b.up.sql"));
    await refused(dir, "BAD_FILE_NAME", ["{dir}/2_b.up.sql", "directory"]);
    const dir2 = make({ "1_a.up.sql": "SELECT 1;\n" });
    mkdirSync(join(dir2, "3_add_users"));
    await refused(dir2, "BAD_FILE_NAME", ["{dir}/3_add_users", "directory"]);
  });

  test("a NUL byte names the file and line", async () => {
    const dir = make({ "1_a.up.sql": new Uint8Array([...new TextEncoder().encode("SELECT 1;\nSELECT '"), 0, 0x27, 0x3b]) });
    await refused(dir, "INVALID_MIGRATION", ["{dir}/1_a.up.sql:2:", "NUL byte"]);
  });

  test("an unreadable file is UNREADABLE_FILE with its path", { skip: process.getuid?.() === 0 ? "root reads every file" : false }, async () => {
    const dir = make({ "1_a.up.sql": "SELECT 1;\n" });
    chmodSync(join(dir, "1_a.up.sql"), 0o000);
    await refused(dir, "UNREADABLE_FILE", ["{dir}/1_a.up.sql", "permission denied"]);
  });

  test("a file that cannot be read (here: a directory where a diesel up.sql belongs) is UNREADABLE_FILE with its path", async () => {
    const dir = make({});
    mkdirSync(join(dir, "2019-01-01-000000_a", "up.sql"), { recursive: true });
    await refused(dir, "UNREADABLE_FILE", ["{dir}/2019-01-01-000000_a/up.sql"], "diesel");
  });

  test("a missing directory is UNREADABLE_FILE", async () => {
    await refused("/nonexistent/orchwf/x", "UNREADABLE_FILE", ["/nonexistent/orchwf/x", "does not exist"]);
  });

  test("two formats in one directory: refused, naming both, unless --format", async () => {
    const dir = make({ "1_a.up.sql": "SELECT 1;\n", "V2__b.sql": "SELECT 2;\n" });
    await refused(dir, "INVALID_MIGRATION", ["more than one format", "golang-migrate", "flyway", "--format"]);
    await refused(dir, "BAD_FILE_NAME", ["{dir}/V2__b.sql"], "golang-migrate");
  });
});

describe("each format's syntax errors name the file and line", () => {
  const cases: { name: string; format: MigrationFormat; files: Record<string, string>; code: string; fragments: string[] }[] = [
    { name: "dbmate without -- migrate:up", format: "dbmate", files: { "1_a.sql": "CREATE TABLE a (id int);\n" }, code: "INVALID_MIGRATION", fragments: ["{dir}/1_a.sql", "-- migrate:up"] },
    { name: "dbmate SQL before the marker", format: "dbmate", files: { "1_a.sql": "-- hi\nSELECT 1;\n-- migrate:up\nSELECT 2;\n" }, code: "INVALID_MIGRATION", fragments: ["{dir}/1_a.sql:2:"] },
    { name: "dbmate unknown option", format: "dbmate", files: { "1_a.sql": "-- migrate:up transaction:maybe\nSELECT 1;\n" }, code: "INVALID_MIGRATION", fragments: ["{dir}/1_a.sql:1:", "transaction:maybe"] },
    { name: "dbmate two up markers", format: "dbmate", files: { "1_a.sql": "-- migrate:up\nSELECT 1;\n-- migrate:up\nSELECT 2;\n" }, code: "INVALID_MIGRATION", fragments: ["{dir}/1_a.sql:3:"] },
    { name: "goose StatementBegin without End", format: "goose", files: { "1_a.sql": "-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n" }, code: "INVALID_MIGRATION", fragments: ["{dir}/1_a.sql:2:", "StatementEnd"] },
    { name: "goose Go migration", format: "goose", files: { "1_a.go": "package x\n", "2_b.sql": "-- +goose Up\nSELECT 1;\n" }, code: "BAD_FILE_NAME", fragments: ["{dir}/1_a.go"] },
    { name: "Flyway undo without versioned", format: "flyway", files: { "V1__a.sql": "SELECT 1;\n", "U2__b.sql": "SELECT 1;\n" }, code: "INVALID_MIGRATION", fragments: ["{dir}/U2__b.sql"] },
    { name: "Flyway 1 and 1.0 are one version", format: "flyway", files: { "V1__a.sql": "SELECT 1;\n", "V1_0__b.sql": "SELECT 1;\n" }, code: "DUPLICATE_VERSION", fragments: ["defined twice"] },
    { name: "diesel directory without up.sql", format: "diesel", files: { "2019-01-01-000000_a/down.sql": "SELECT 1;\n" }, code: "INVALID_MIGRATION", fragments: ["{dir}/2019-01-01-000000_a", "up.sql"] },
    { name: "diesel UP.SQL", format: "diesel", files: { "2019-01-01-000000_a/UP.SQL": "SELECT 1;\n" }, code: "BAD_FILE_NAME", fragments: ["UP.SQL"] },
    { name: "diesel bad metadata.toml", format: "diesel", files: { "2019-01-01-000000_a/up.sql": "SELECT 1;\n", "2019-01-01-000000_a/metadata.toml": "run_in_transaction = nope\n" }, code: "INVALID_MIGRATION", fragments: ["metadata.toml:1:"] },
    { name: "sqlx simple with a down", format: "sqlx", files: { "1_a.sql": "SELECT 1;\n", "1_a.down.sql": "SELECT 1;\n" }, code: "INVALID_MIGRATION", fragments: ["{dir}/1_a.down.sql", "simple migration"] },
    { name: "node-pg-migrate JS migration", format: "node-pg-migrate", files: { "1700000000000_a.js": "exports.up = () => {};\n" }, code: "BAD_FILE_NAME", fragments: ["1700000000000_a.js"] },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const dir = tree(c.files);
      try {
        await refused(dir, c.code, c.fragments, c.format);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe("repeatable migrations", () => {
  test("R__name.sql: after the versioned ones, again when changed, never rolled back; status and plan know them", { timeout: 120_000 }, async () => {
    const dir = tree({
      "1_a.up.sql": "CREATE TABLE a (id int);\n",
      "1_a.down.sql": "DROP TABLE a;\n",
      "R__count.sql": "CREATE OR REPLACE FUNCTION n() RETURNS bigint LANGUAGE sql AS 'SELECT 1::bigint';\n",
    });
    const db = await PGlite.create();
    try {
      const m1 = new Migrator(db, { migrations: await loadMigrations(dir) });
      assert.deepEqual((await m1.plan()).pending.map((p) => p.version), ["1", "R__count"]);
      assert.deepEqual((await m1.migrate()).applied.map((r) => r.version), ["1", "R__count"]);
      assert.equal((await db.query<{ n: string }>("SELECT n()::text AS n")).rows[0].n, "1");
      assert.deepEqual((await m1.migrate()).applied, []);
      let status = await m1.status();
      assert.equal(status.current, "1");
      assert.deepEqual(status.migrations.map((m) => [m.version, m.state]), [["1", "applied"], ["R__count", "applied"]]);

      // Changed: pending again (not "modified"), re-applied, its one row replaced.
      writeFileSync(join(dir, "R__count.sql"), "CREATE OR REPLACE FUNCTION n() RETURNS bigint LANGUAGE sql AS 'SELECT 2::bigint';\n");
      const m2 = new Migrator(db, { migrations: await loadMigrations(dir) });
      status = await m2.status();
      assert.deepEqual(status.migrations.map((m) => [m.version, m.state]), [["1", "applied"], ["R__count", "pending"]]);
      assert.equal(status.pending, 1);
      assert.deepEqual((await m2.migrate({ to: "1" })).applied, []); // --to a version leaves repeatables out
      assert.deepEqual((await m2.migrate()).applied.map((r) => r.version), ["R__count"]);
      assert.equal((await db.query<{ n: string }>("SELECT n()::text AS n")).rows[0].n, "2");
      const rows = (await db.query<{ version: string }>("SELECT version FROM orchwf_migrations ORDER BY version")).rows;
      assert.deepEqual(rows.map((r) => r.version), ["1", `${REPEATABLE_PREFIX}count`]);

      // Rollback skips it; the versioned one goes.
      assert.deepEqual((await m2.rollback({ to: "0" })).rolledBack.map((r) => r.version), ["1"]);
      assert.deepEqual((await db.query<{ version: string }>("SELECT version FROM orchwf_migrations")).rows.map((r) => r.version), ["R__count"]);
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("Flyway's checksum is CRC-32 over the lines without their endings (CRLF and LF alike)", () => {
    assert.equal(flywayChecksum("a\nb\n"), flywayChecksum("a\r\nb\r\n"));
    assert.equal(flywayChecksum("a\nb\n"), flywayChecksum("ab"));
    // CRC-32("ab") = 0x9E83486D, stored as a signed 32-bit integer.
    assert.equal(flywayChecksum("ab"), 0x9e83486d | 0);
  });
});
