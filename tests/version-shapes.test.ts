/** One version comparison everywhere: dotted Flyway versions below an applied one never reach BigInt. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { outOfOrder } from "../src/cli/render.ts";
import { compareVersions, versionKey } from "../src/core/migration.ts";
import { bunRunner, runWith } from "./helpers/cli.ts";

test("outOfOrder compares dotted, zero-padded and timestamp versions with --to", () => {
  const entries = [
    { version: "1", state: "applied" },
    { version: "1.1", state: "pending" },
    { version: "2", state: "applied" },
  ] as never;
  assert.deepEqual(outOfOrder(entries, "2"), ["1.1"]);
  assert.deepEqual(outOfOrder(entries, "1"), []);
  assert.equal(compareVersions("1.1", "002"), -1);
  assert.equal(versionKey("0001.10"), "1.10");
});

test("up --to 2 with a Flyway V1_1 pending below the applied V2 applies it with a warning", { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "orchwf-fw-"));
  try {
    writeFileSync(join(dir, "V1__a.sql"), "CREATE TABLE a (id int);\n");
    writeFileSync(join(dir, "V2__c.sql"), "CREATE TABLE c (id int);\n");
    const db = ["--dir", dir, "--db", `pglite:${join(dir, "data")}`];
    assert.equal((await runWith(bunRunner, ["up", ...db])).code, 0);
    writeFileSync(join(dir, "V1_1__b.sql"), "CREATE TABLE b (id int);\n");
    const run = await runWith(bunRunner, ["up", "--to", "2", ...db, "--json"]);
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stderr, /BigInt/);
    assert.deepEqual(JSON.parse(run.stdout).applied.map((a: { version: string }) => a.version), ["1.1"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
