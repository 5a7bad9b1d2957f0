/**
 * Statements as PostgreSQL reads them (its own parser, libpg_query in WebAssembly): a table of tricky files, each
 * split exactly where the server would split it, with offsets into the file. Plus the checks built on it:
 * transaction control (also hidden behind a CR-only comment end), statements that need no transaction, psql
 * meta-commands, and syntax errors placed at file:line:column.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { splitStatements } from "../src/mod.ts";
import { checkScript } from "../src/sources/check.ts";
import { parseStatements, transactionProblems, withoutTransactionWrapper } from "../src/core/split.ts";
import { hasStatements } from "../src/core/migration.ts";

interface Case {
  name: string;
  sql: string;
  statements: string[];
}

const CASES: Case[] = [
  {
    name: "BEGIN ATOMIC function body: its inner semicolons and END belong to the function",
    sql: "CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n  SELECT 2;\nEND;\nSELECT f();\n",
    statements: ["CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n  SELECT 2;\nEND", "SELECT f()"],
  },
  {
    name: "CREATE RULE with several actions in parentheses",
    sql: "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2));\nSELECT 1;",
    statements: ["CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2))", "SELECT 1"],
  },
  {
    name: "CR-only line ends: a -- comment ends at CR",
    sql: "CREATE TABLE a (id int); -- note\rCOMMIT;\rCREATE TABLE b (id intt);\r",
    statements: ["CREATE TABLE a (id int)", "COMMIT", "CREATE TABLE b (id intt)"],
  },
  {
    name: "CRLF line ends",
    sql: "SELECT 1; -- one; two\r\nSELECT 2;\r\n",
    statements: ["SELECT 1", "SELECT 2"],
  },
  {
    name: "nested block comments",
    sql: "/* a /* b; */ c; */ SELECT 1; /* x */ SELECT 2",
    statements: ["SELECT 1", "SELECT 2"],
  },
  {
    name: "E'' strings with backslash escapes; a plain '\\' string ends at its quote",
    sql: "SELECT E'\\'; still a string';\nSELECT 'a\\';\nSELECT e'\\\\';",
    statements: ["SELECT E'\\'; still a string'", "SELECT 'a\\'", "SELECT e'\\\\'"],
  },
  {
    name: "dollar quotes with a non-ASCII tag, and $1 parameters",
    sql: "DO $é$ BEGIN PERFORM 1; END $é$;\nSELECT $a$;$a$;\nPREPARE p AS SELECT $1;",
    statements: ["DO $é$ BEGIN PERFORM 1; END $é$", "SELECT $a$;$a$", "PREPARE p AS SELECT $1"],
  },
  {
    name: "quoted identifiers with semicolons and doubled quotes",
    sql: `CREATE TABLE "a;b" ("x""y" text DEFAULT 'it''s; fine');;  -- done\n`,
    statements: [`CREATE TABLE "a;b" ("x""y" text DEFAULT 'it''s; fine')`],
  },
  {
    name: "non-BMP characters before a statement: offsets are string offsets, not bytes",
    sql: "SELECT '😀é';\nSELECT 2;",
    statements: ["SELECT '😀é'", "SELECT 2"],
  },
  {
    name: "comments only",
    sql: "-- nothing\n/* at all; */\n",
    statements: [],
  },
];

describe("statements as PostgreSQL splits them", () => {
  for (const c of CASES) {
    test(c.name, async () => {
      const statements = await splitStatements(c.sql);
      assert.deepEqual(statements.map((s) => s.text), c.statements);
      for (const s of statements) assert.equal(c.sql.slice(s.offset, s.offset + s.text.length), s.text);
    });
  }

  test("a 1.8 MB file full of '/*' inside strings parses (no quadratic pass: it once took 13 s)", { timeout: 120_000 }, async () => {
    const sql = "INSERT INTO t VALUES ('/*');\n".repeat(64_000);
    assert.ok(sql.length > 1_800_000);
    assert.equal(hasStatements(sql), true);
    assert.equal((await splitStatements(sql)).length, 64_000);
  });
});

describe("checks before anything runs", () => {
  const check = async (sql: string, transaction = true) =>
    (await checkScript(sql, { file: "002_x.up.sql", version: "002", transaction })).problems.map((p) => `${p.rule} ${p.line}:${p.column}`);

  test("COMMIT after a CR-only comment end is found, on its line", async () => {
    assert.deepEqual(await check("CREATE TABLE a (id int); -- note\rCOMMIT;\rCREATE TABLE b (id int);\r"), ["transaction-control 2:1"]);
  });

  test("PREPARE TRANSACTION, COMMIT PREPARED, ROLLBACK PREPARED, ABORT, END are refused like COMMIT", async () => {
    const sql = "SELECT 1;\nPREPARE TRANSACTION 'x';\nCOMMIT PREPARED 'x';\nROLLBACK PREPARED 'x';\nABORT;\nEND;\nSTART TRANSACTION;\n";
    const problems = transactionProblems(await parseStatements(sql));
    assert.deepEqual(problems.map((p) => /"([A-Z ]+)"/.exec(p.message)![1]), [
      "PREPARE TRANSACTION",
      "COMMIT PREPARED",
      "ROLLBACK PREPARED",
      "ROLLBACK",
      "COMMIT",
      "START TRANSACTION",
    ]);
  });

  test("RELEASE or ROLLBACK TO without its SAVEPOINT is refused; with it, fine", async () => {
    assert.deepEqual(await check("SELECT 1;\nRELEASE a;\n"), ["transaction-control 2:1"]);
    assert.deepEqual(await check("SAVEPOINT a;\nSELECT 1;\nROLLBACK TO a;\nRELEASE a;\n"), []);
  });

  test("a whole-file BEGIN; … COMMIT; wrapper is fine and blanked to the same length", async () => {
    const sql = "BEGIN;\r\nCREATE TABLE t (id int);\r\nCOMMIT;\r\n";
    assert.deepEqual(await check(sql), []);
    const body = await withoutTransactionWrapper(sql);
    assert.equal(body, "     ;\r\nCREATE TABLE t (id int);\r\n      ;\r\n");
  });

  test("END closing a BEGIN ATOMIC body is not transaction control", async () => {
    assert.deepEqual(await check("CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END;\nSELECT f();"), []);
  });

  test("statements that cannot run in a transaction block need -- orchwf:no-transaction", async () => {
    const sql = [
      "CREATE INDEX CONCURRENTLY i ON t (a);",
      "DROP INDEX CONCURRENTLY i;",
      "REINDEX INDEX CONCURRENTLY i;",
      "VACUUM t;",
      "ALTER SYSTEM SET work_mem = '8MB';",
      "CREATE DATABASE d;",
      "ALTER TABLE t DETACH PARTITION p CONCURRENTLY;",
      "CREATE INDEX i2 ON t (a);",
      "ANALYZE t;",
    ].join("\n");
    assert.deepEqual(await check(sql), [1, 2, 3, 4, 5, 6, 7].map((n) => `needs-no-transaction ${n}:1`));
    assert.deepEqual(await check(sql, false), []);
  });

  test("psql meta-commands are refused with their line", async () => {
    const { problems } = await checkScript("SELECT 1;\n\\set ON_ERROR_STOP on\n\\i other.sql\n", { file: "003_x.up.sql", version: "003" });
    assert.equal(problems.length, 1);
    assert.equal(problems[0].rule, "psql-meta-command");
    assert.equal(`${problems[0].line}:${problems[0].column}`, "2:1");
    assert.match(problems[0].message, /psql meta-command "\\set" is not SQL/);
  });

  test("a backslash inside a string is not a meta-command", async () => {
    assert.deepEqual(await check("SELECT '\n\\i x\n';"), []);
  });

  test("syntax errors are placed at line:column in characters, after CR, CRLF and non-ASCII text", async () => {
    assert.deepEqual(await check("SELECT 'é😀';\r\n  SELEC 2;"), ["syntax-error 2:3"]);
    assert.deepEqual(await check("SELECT 1;\rSELECT 'é', 'x"), ["syntax-error 2:13"]);
    const { problems } = await checkScript("SELECT 1;\nCREAT TABLE t ();\n", { file: "f.sql", version: "1" });
    assert.equal(problems[0].message, 'syntax error at or near "CREAT"');
    assert.match(problems[0].frame, /> 2 \| CREAT TABLE t \(\);\n\s+\| \^/);
  });

  test("a NUL byte is a problem of the file, not of the connection", async () => {
    assert.deepEqual(await check("SELECT 1;\nSELECT '\0';"), ["syntax-error 2:9"]);
  });
});

test("a server error position in a CR-only file is placed on its line", async () => {
  const { locate } = await import("../src/core/errors.ts");
  const sql = "SELECT 1;\rSELECT nope;\r";
  const at = locate(sql, sql.indexOf("nope") + 1);
  assert.deepEqual([at.line, at.column], [2, 8]);
  assert.match(at.frame, /> 2 \| SELECT nope;/);
});
