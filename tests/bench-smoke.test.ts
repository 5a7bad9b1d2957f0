/**
 * Keeps scripts/bench.ts working: a tiny run (N=20, one run each) against the test server, written to a temp
 * file. No timing is asserted: benchmarks are not tests. Skipped without a PostgreSQL server (like the PG tests).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "node:test";
import { postgresServerUrl } from "./helpers/postgres-server.ts";

const root = resolve(import.meta.dirname!, "..");

test("bench script runs every contender on a small workload and writes its tables", { timeout: 600_000 }, async (t) => {
  const url = await postgresServerUrl();
  if (!url) return t.skip("no PostgreSQL server");
  const dir = mkdtempSync(join(tmpdir(), "orchwf-bench-smoke-"));
  try {
    const out = join(dir, "BENCHMARKS.md");
    const r = spawnSync(join(root, "node_modules", ".bin", "bun"), [join(root, "scripts", "bench.ts"), "--n", "20", "--runs", "1", "--out", out, "--url", url], {
      encoding: "utf8",
      cwd: root,
    });
    assert.equal(r.status, 0, `bench failed:\n${r.stderr}\n${r.stdout}`);
    const md = readFileSync(out, "utf8");
    for (const name of [
      "psql -1 -f (the limit)", "dbmate", "node-pg-migrate", "postgrator", "ours: library on Bun", "ours: CLI on Node", "ours: compiled binary",
      "dbmate status", "ours: compiled binary status", "PGlite: fresh instance + quickSetup", "PGlite: createTestDatabase() restored",
    ]) {
      assert.match(md, new RegExp(`\\| ${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\| [0-9.]+ \\|`), `row for ${name}`);
    }
    assert.match(md, /## Machine/);
    // The first migration of the run goes the long way (read, then its script); the 19 after it, one message each.
    assert.match(md, /exec: migration script \+ bookkeeping \+ COMMIT \| 1 \|/);
    assert.match(md, /one message: [^|]*migration script[^|]* \| 19 \|/);
    assert.match(md, /## 300 realistic migrations|## \d+ realistic migrations/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("importing the package loads no PGlite code, so a Postgres-only run never pays for it", () => {
  const loaded = (entry: string) => {
    const code = `await import(${JSON.stringify(entry)}); console.log(Object.keys(require.cache).filter((k) => k.includes("@electric-sql")).length)`;
    const r = spawnSync(join(root, "node_modules", ".bin", "bun"), ["-e", code], { encoding: "utf8", cwd: root });
    assert.equal(r.status, 0, r.stderr);
    return Number(r.stdout.trim());
  };
  assert.ok(loaded("@electric-sql/pglite") > 0, "the check sees PGlite when it is imported");
  assert.equal(loaded(join(root, "src", "mod.ts")), 0);
});
