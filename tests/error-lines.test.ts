/**
 * A runtime error without a server position (`index "no_such_index" does not exist`, `column "x" of relation "t"
 * does not exist`) is reported at the line and column of the statement that failed, as psql names the line, on
 * PostgreSQL and PGlite.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { type Migration, type MigrationError, Migrator } from "../src/mod.ts";
import { engines, type TestDatabase } from "./helpers/engines.ts";

const file = "migrations/002_x.up.sql";
const cases: { what: string; up: string; line: number; column: number }[] = [
  { what: "a dropped index that does not exist", up: "CREATE TABLE t (id int);\n\n  DROP INDEX no_such_index;\nCREATE TABLE u (id int);", line: 3, column: 3 },
  { what: "a column of a relation", up: "CREATE TABLE t (id int);\nALTER TABLE t\n  DROP COLUMN x;", line: 2, column: 1 },
  { what: "a relation named schema-qualified in the message", up: "SELECT 1;\nDROP TABLE missing_table;", line: 2, column: 1 },
];

for (const engine of engines) {
  describe(`errors without a position on ${engine.name}`, () => {
    let d: TestDatabase | undefined;
    after(async () => await d?.close());
    for (const [i, c] of cases.entries()) {
      test(`${c.what}: line ${c.line}`, async (t) => {
        if (!(await engine.available())) return t.skip(`no ${engine.name} here`);
        d ??= await engine.open();
        const migrations: Migration[] = [{ version: "002", description: "x", up: c.up, source: { up: file } }];
        const table = `versions_${i}`;
        await assert.rejects(new Migrator(d.db, { migrations, table }).migrate(), (e: MigrationError) => {
          assert.equal(e.code, "SQL_ERROR", String(e));
          assert.match(e.message, new RegExp(`failed at ${file}:${c.line}:${c.column}: `));
          return true;
        });
      });
    }
  });
}
