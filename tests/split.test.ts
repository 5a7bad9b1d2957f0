/** The statement splitter: quotes, dollar quotes, comments. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { splitStatements } from "../src/mod.ts";

const texts = (sql: string) => splitStatements(sql).map((s) => s.text.trim());

test("splits on semicolons outside quotes, dollar quotes and comments", () => {
  const sql = `CREATE TABLE "a;b" (x text DEFAULT 'it''s; fine');
-- a comment; with a semicolon
/* block; /* nested; */ still */
CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;
DO $$ BEGIN PERFORM 1; END $$;
SELECT E'\\'; still a string';`;
  assert.deepEqual(texts(sql), [
    `CREATE TABLE "a;b" (x text DEFAULT 'it''s; fine')`,
    `-- a comment; with a semicolon\n/* block; /* nested; */ still */\nCREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql`,
    "DO $$ BEGIN PERFORM 1; END $$",
    "SELECT E'\\'; still a string'",
  ]);
});

test("drops empty and comment-only statements and keeps offsets into the script", () => {
  const sql = "SELECT 1;;  -- done\n";
  const parts = splitStatements(sql);
  assert.equal(parts.length, 1);
  assert.equal(sql.slice(parts[0].offset, parts[0].offset + parts[0].text.length), "SELECT 1");
  const second = splitStatements("SELECT 1;\nSELECT $1x")[1];
  assert.equal(second.offset, 9);
});
