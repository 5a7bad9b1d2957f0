/** Pure rules of migration files: names, directives, ordering, validation, checksums. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  checksum,
  compareVersions,
  MigrationError,
  migrationFromFiles,
  parseFileName,
  readDirectives,
  validateMigrations,
} from "../src/mod.ts";

describe("file names", () => {
  test("golang-migrate names parse into version, name, direction", () => {
    assert.deepEqual(parseFileName("001_create_orchwf_tables.up.sql"), {
      version: "001",
      name: "create_orchwf_tables",
      direction: "up",
    });
    assert.deepEqual(parseFileName("20240131120000_add_users.down.sql")?.direction, "down");
  });
  for (const bad of ["001.up.sql", "abc_x.up.sql", "001_x.sql", "001_x.UP.sql", "001_x.up.sql.bak", "_x.up.sql"]) {
    test(`"${bad}" is not a migration file name`, () => assert.equal(parseFileName(bad), undefined));
  }
});

describe("directives", () => {
  test("no-transaction and description are read from the leading comments", () => {
    const d = readDirectives("-- hello\n-- orchwf:no-transaction\n-- orchwf:description Add the index\nCREATE INDEX", "f");
    assert.deepEqual(d, { noTransaction: true, description: "Add the index" });
  });
  test("a directive after the first statement is not a directive", () => {
    assert.deepEqual(readDirectives("SELECT 1;\n-- orchwf:no-transaction\n", "f"), { noTransaction: false });
  });
  test("an unknown directive is an error naming file and line", () => {
    assert.throws(() => readDirectives("\n-- orchwf:no-transactoin\nSELECT 1", "m/002_x.up.sql"), (e: unknown) => {
      assert.ok(e instanceof MigrationError);
      assert.equal(e.code, "INVALID_MIGRATION");
      assert.match(e.message, /m\/002_x\.up\.sql:2: unknown directive/);
      return true;
    });
  });
  test("the description defaults to the file name with spaces, and no-transaction in either file applies", () => {
    const m = migrationFromFiles({ version: "2", name: "add_users", up: "SELECT 1", down: "-- orchwf:no-transaction\nSELECT 2" });
    assert.equal(m.description, "add users");
    assert.equal(m.transaction, false);
  });
});

describe("versions", () => {
  test("order numerically, with leading zeros and beyond 2^53", () => {
    const sorted = ["10", "2", "001", "20240131120000", "9007199254740993", "9007199254740992"].sort(compareVersions);
    assert.deepEqual(sorted, ["001", "2", "10", "20240131120000", "9007199254740992", "9007199254740993"]);
  });
  test("validation sorts and rejects non-digit versions and duplicates (001 = 1); empty SQL is a no-op", () => {
    const sorted = validateMigrations([
      { version: "10", description: "b", up: "SELECT 1" },
      { version: "9", description: "a", up: "SELECT 1" },
    ]);
    assert.deepEqual(sorted.map((m) => m.version), ["9", "10"]);
    const code = (list: Parameters<typeof validateMigrations>[0]) => {
      try {
        validateMigrations(list);
        return "none";
      } catch (e) {
        return (e as MigrationError).code;
      }
    };
    assert.equal(code([{ version: "v1", description: "", up: "SELECT 1" }]), "INVALID_MIGRATION");
    assert.equal(code([{ version: "1", description: "", up: "SELECT 1" }, { version: "001", description: "", up: "SELECT 1" }]), "DUPLICATE_VERSION");
    assert.equal(code([{ version: "1", description: "", up: "-- nothing\n  ;" }]), "none");
    assert.equal(code([{ version: "1", description: "", up: "SELECT 1", down: "/* nothing */" }]), "none");
    assert.equal(code([{ version: "1", description: "", up: 7 as unknown as string }]), "INVALID_MIGRATION");
  });
});

describe("checksum", () => {
  test("is the SHA-256 of the SQL and ignores CRLF versus LF", () => {
    assert.equal(checksum("SELECT 1;\n"), checksum("SELECT 1;\r\n"));
    assert.notEqual(checksum("SELECT 1;"), checksum("SELECT 2;"));
    // Known vectors (sha256sum of the same bytes): the empty string, and UTF-8 text with CRLF folded to LF.
    assert.equal(checksum(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert.equal(checksum("SELECT 1;\r\n"), "b4e0497804e46e0a0b0b8c31975b062152d551bac49c3c2e80932567b4085dcd");
    assert.equal(checksum("é😀\n"), "f26b68b6994ea006d176890661e1c0401f133bb6cffe91cecfc5bd0570921cb8");
  });
});
