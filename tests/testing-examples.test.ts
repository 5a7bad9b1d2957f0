/**
 * The testing examples (examples/testing_example/*.test.ts) run as a user runs them, with the test runner of the
 * runtime running this file: `bun test`, `deno test -A`, `node --import tsx --test`. Each must pass every test
 * it has; the server one gets this suite's PostgreSQL through TEST_DATABASE_URL.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { postgresServerUrl } from "./helpers/postgres-server.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const runtime = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";

/** The runtime's own test runner on one file; the count of passed tests, read from its summary. */
function runTests(file: string, env: Record<string, string>): Promise<{ code: number; out: string; passed: number; failed: number }> {
  const [command, args] = runtime === "bun"
    ? [process.execPath, ["test", "--timeout", "120000", file]]
    : runtime === "deno"
    ? [process.execPath, ["test", "-A", file]]
    : [process.execPath, ["--import", "tsx", "--test", "--test-reporter=tap", file]];
  return new Promise((resolve) => {
    // NODE_TEST_CONTEXT tells a child `node --test` it runs inside this one's runner (and to skip its files).
    const { NODE_TEST_CONTEXT: _, ...parent } = process.env;
    execFile(command, args, { cwd: root, env: { ...parent, NO_COLOR: "1", ...env }, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const out = `${stdout}${stderr}`;
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
      const pick = (re: RegExp) => Number(out.match(re)?.[1] ?? 0);
      const passed = runtime === "bun" ? pick(/^\s*(\d+) pass$/m) : runtime === "deno" ? pick(/(\d+) passed \((\d+) steps\)/) && pick(/\((\d+) steps\)/) : pick(/^# pass (\d+)$/m);
      const failed = runtime === "bun" ? pick(/^\s*(\d+) fail$/m) : runtime === "deno" ? pick(/(\d+) failed/) : pick(/^# fail (\d+)$/m);
      resolve({ code, out, passed, failed });
    });
  });
}

const serverUrl = await postgresServerUrl();

describe(`testing examples under ${runtime}'s test runner`, () => {
  test("workflow_store.test.ts (PGlite): 4 tests pass", { timeout: 600_000 }, async () => {
    const r = await runTests("examples/testing_example/workflow_store.test.ts", {});
    assert.equal(r.code, 0, r.out);
    assert.deepEqual([r.passed, r.failed], [4, 0], r.out);
  });

  test("server_store.test.ts (PostgreSQL templates): 2 tests pass", { timeout: 300_000, skip: serverUrl ? false : "no PostgreSQL server here" }, async () => {
    const r = await runTests("examples/testing_example/server_store.test.ts", { TEST_DATABASE_URL: serverUrl! });
    assert.equal(r.code, 0, r.out);
    assert.deepEqual([r.passed, r.failed], [2, 0], r.out);
  });
});
