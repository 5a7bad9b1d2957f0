/**
 * Large scripts are parsed in pieces (src/sources/parser.ts): one parse tree of a 50 MB file of INSERTs does not fit
 * the parser's 32-bit WebAssembly heap (its JSON came back cut: "Unexpected EOF"). Pieces end after a `;`; these
 * tests put every construct whose `;` is not a statement's end (strings, dollar quotes, comments, BEGIN ATOMIC,
 * rule actions) across piece ends, and check that the statements and their places are exactly those of parsing
 * each statement alone, that a syntax error deep in a large file is placed exactly, and that the 50 MB file parses.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseStatements } from "../src/core/split.ts";
import { checkScript } from "../src/sources/check.ts";
import { PIECE } from "../src/sources/parser.ts";

/** Statements whose text holds `;` that does not end them, and characters of every UTF-8 length. */
const UNITS = [
  "CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n  SELECT 2;\nEND",
  "CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); INSERT INTO b VALUES (2))",
  "DO $body$ BEGIN PERFORM 1; PERFORM 'é;'; END $body$",
  "INSERT INTO t VALUES ('a;\nb', E'c\\';\\nd', 'ü€😀;')",
  "SELECT 1 /* a; /* nested; */ still; */ + 2",
  "SELECT 3 -- a comment; with a semicolon\n + 4",
  'CREATE TABLE "odd;name" (id int)',
  "COMMENT ON TABLE t IS $$;\n;\n$$",
];

/** A script of `count` units, and the statements each unit gives alone (its own parse). */
async function script(count: number, extra = ""): Promise<{ sql: string; expected: string[] }> {
  const alone = await Promise.all(UNITS.map(async (u) => (await parseStatements(u)).map((s) => s.text)));
  const parts: string[] = [];
  const expected: string[] = [];
  for (let i = 0; i < count; i++) {
    const k = i % UNITS.length;
    parts.push(`${UNITS[k]};${i % 3 === 0 ? "\n\n" : " "}`);
    expected.push(...alone[k]);
  }
  return { sql: parts.join("") + extra, expected };
}

describe("large scripts are parsed in pieces, exactly as a whole", () => {
  test("a piece that ends on each `;` that does not end a statement", async () => {
    for (const unit of UNITS) {
      const alone = (await parseStatements(unit)).map((s) => s.text);
      for (let inner = unit.indexOf(";"); inner >= 0; inner = unit.indexOf(";", inner + 1)) {
        // Filler statements, then white space, so that the unit's inner `;` is the first one at or after PIECE.
        const start = PIECE - inner;
        const filler = "SELECT 1;\n".repeat(Math.floor((start - 1) / 10));
        const sql = `${filler}${" ".repeat(start - filler.length)}${unit};\nSELECT 2;\n`;
        assert.equal(sql.indexOf(";", PIECE), PIECE);
        const statements = await parseStatements(sql);
        const expected = [...Array(filler.length / 10).fill("SELECT 1"), ...alone, "SELECT 2"];
        assert.deepEqual(statements.map((s) => s.text), expected, `cut at ${JSON.stringify(unit.slice(0, inner + 1))}`);
        for (const s of statements) assert.equal(sql.slice(s.start, s.end), s.text);
      }
    }
  });

  test("every statement and its place, with quotes, comments and bodies across piece ends", async () => {
    const units = await script(20_000);
    assert.ok(units.sql.length > 4 * 262_144, `the script spans several pieces (${units.sql.length} characters)`);
    // Shifted by a few characters each time, so that piece ends fall inside each kind of construct.
    for (let shift = 0; shift < 6; shift++) {
      const sql = " ".repeat(shift * 13) + units.sql;
      const statements = await parseStatements(sql);
      assert.deepEqual(statements.map((s) => s.text), units.expected);
      let last = -1;
      for (const s of statements) {
        assert.equal(sql.slice(s.start, s.end), s.text);
        assert.ok(s.start > last, "statements in order");
        last = s.end;
      }
      assert.equal(statements[1].kind, "RuleStmt");
      assert.ok(statements.some((s) => s.kind === "DoStmt" && Object.keys(s.node).length > 0), "structural statements keep their tree");
    }
  });

  test("one statement longer than a piece", async () => {
    const values = Array.from({ length: 40_000 }, (_, i) => `(${i}, 'v;${i}')`).join(", ");
    const long = `INSERT INTO t VALUES ${values}`;
    assert.ok(long.length > 2 * 262_144);
    const { sql, expected } = await script(200);
    const statements = await parseStatements(`${sql}${long};\nSELECT 9;\n`);
    assert.deepEqual(statements.map((s) => s.text), [...expected, long, "SELECT 9"]);
  });

  test("a syntax error deep in a large file is placed at its own line and column", async () => {
    const { sql } = await script(10_000);
    const lines = sql.split("\n").length;
    const { problems } = await checkScript(`${sql}\nSELECT 1;\n  SELEC 2;\nSELECT 3;\n`, { file: "big.sql", version: "1" });
    assert.equal(problems.length, 1);
    assert.equal(problems[0].rule, "syntax-error");
    assert.equal(problems[0].line, lines + 2);
    assert.equal(problems[0].column, 3);
    assert.match(problems[0].message, /SELEC/);
  });

  test("a string left open at the end of a large file is the file's own error", async () => {
    const { sql } = await script(10_000);
    const { problems } = await checkScript(`${sql}\nSELECT 'open;\n`, { file: "big.sql", version: "1" });
    assert.equal(problems.length, 1);
    assert.match(problems[0].message, /unterminated quoted string/);
    assert.equal(problems[0].line, sql.split("\n").length + 1);
  });

  test("50 MB of INSERTs with integers parses (its one tree would pass the parser's 2 GB heap)", async () => {
    const rows = (from: number) => Array.from({ length: 20 }, (_, k) => `(${from + k}, ${(from + k) % 997}, 'r ${from + k} /* x */')`).join(", ");
    const parts: string[] = [];
    let size = 0;
    let n = 0;
    for (let i = 0; size < 50 * 1024 * 1024; i += 20, n++) {
      const s = `INSERT INTO big (id, n, s) VALUES ${rows(i)};\n`;
      parts.push(s);
      size += s.length;
    }
    const statements = await parseStatements(parts.join(""));
    assert.equal(statements.length, n);
    assert.ok(statements.every((s) => s.kind === "InsertStmt"));
  });
});
