/**
 * Directories as their own tools accept them: what the original tool ignores is ignored (diesel's README and data
 * files beside its migration directories), what it reads is read (Flyway's subdirectories), and a directory that
 * yields no migration while holding SQL files says so instead of reporting "0 migrations".
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, test } from "node:test";
import { detectFormat, loadMigrations, type MigrationError } from "../src/mod.ts";
import { tree } from "./helpers/tree.ts";

const made: string[] = [];
const dir = (files: Record<string, string>) => {
  const d = tree(files);
  made.push(d);
  return d;
};
after(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

test("diesel: a README, a data .sql file and hidden entries beside the migration directories are ignored, as diesel does", async () => {
  const d = dir({
    "README.md": "# migrations\n",
    "data_oauth_github.sql": "INSERT INTO users VALUES (1);\n",
    ".keep/notes.txt": "x",
    "2019-02-26-002946_create_users/up.sql": "CREATE TABLE users (id int);\n",
    "2019-02-26-002946_create_users/down.sql": "DROP TABLE users;\n",
    "2019-03-01-000000_add_name/up.sql": "ALTER TABLE users ADD COLUMN name text;\n",
  });
  assert.equal(await detectFormat(d), "diesel");
  assert.deepEqual((await loadMigrations(d)).map((m) => m.version), ["20190226002946", "20190301000000"]);
});

test("Flyway: files kept only in subdirectories are found, as Flyway finds them", async () => {
  const d = dir({ "2024/V1__create.sql": "CREATE TABLE a (id int);\n", "2024/q2/V2__more.sql": "CREATE TABLE b (id int);\n" });
  assert.equal(await detectFormat(d), "flyway");
  assert.deepEqual((await loadMigrations(d)).map((m) => m.version), ["1", "2"]);
});

test("a directory with SQL files but no migration in its format is an error naming a file, not 0 migrations", async () => {
  const d = dir({ "old/001_create.up.sql": "CREATE TABLE a (id int);\n" });
  await assert.rejects(loadMigrations(d), (e: MigrationError) => {
    assert.equal(e.code, "INVALID_MIGRATION");
    assert.match(e.message, /no golang-migrate migration found, but it holds SQL files \(.*old\/001_create\.up\.sql\)/);
    return true;
  });
  // An empty directory is still simply empty.
  assert.deepEqual(await loadMigrations(dir({})), []);
});
