/** Positions reported by Postgres -> file line, column and code frame. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { codeFrame, locate } from "../src/mod.ts";

test("a 1-based character position maps to line and column, counting characters not UTF-16 units", () => {
  const script = "-- é😀\nSELECT 1;\n  selec 2;";
  const position = Array.from(script).indexOf("s") + 1; // the lower-case "selec"
  const at = locate(script, position);
  assert.equal(at.line, 3);
  assert.equal(at.column, 3);
  assert.match(at.frame, />\s*3 \|   selec 2;\n\s+\|   \^/);
});

test("the code frame shows the neighbours and tolerates CRLF", () => {
  const frame = codeFrame("a\r\nb\r\nc\r\nd", 2, 1);
  assert.equal(frame, "  1 | a\n> 2 | b\n    | ^\n  3 | c");
});
