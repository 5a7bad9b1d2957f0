/** Positions reported by Postgres -> file line, column and code frame. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { codeFrame, locate } from "../src/mod.ts";

test("a 1-based character position maps to line and column, counting characters not UTF-16 units", () => {
  // Multi-byte characters before the error on its own line (é is one UTF-16 unit, 😀 two): the column must count
  // each as one character, as Postgres does; counting UTF-16 units would say 15.
  const script = "-- é😀\nSELECT 1;\nSELECT 'é😀', selec 2;";
  const position = Array.from(script).indexOf("s") + 1; // the lower-case "selec", in characters
  assert.equal(Array.from(script)[position - 1], "s");
  const at = locate(script, position);
  assert.equal(at.line, 3);
  assert.equal(at.column, 14);
  assert.equal(at.frame, "  1 | -- é😀\n  2 | SELECT 1;\n> 3 | SELECT 'é😀', selec 2;\n    |              ^");
});

test("the code frame shows the neighbours and tolerates CRLF", () => {
  const frame = codeFrame("a\r\nb\r\nc\r\nd", 2, 1);
  assert.equal(frame, "  1 | a\n> 2 | b\n    | ^\n  3 | c");
});
