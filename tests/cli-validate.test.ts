/**
 * `validate`, `lint` and `up --dry-run` run for real in subprocesses, the four ways (Bun on the sources, Deno on
 * src/mod.ts, Node on the npm bundle, the compiled binary, whose parser WebAssembly is embedded): the same tricky
 * directory gives the same problems everywhere. Spawns every runtime itself, so it runs once, from Bun.
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { after, before, describe, test } from "node:test";
import { buildDistributions, bunRunner, type CliRun, denoRunner, type Runner, runWith } from "./helpers/cli.ts";
import { migrationDir } from "./fixtures/spawn-runner.ts";
import { orchwfMigrations } from "../src/mod.ts";

const fromBun = Boolean((process.versions as { bun?: string }).bun);
let dist: ReturnType<typeof buildDistributions> | undefined;
const runners: Runner[] = [bunRunner, denoRunner];

before(() => {
  if (!fromBun) return;
  dist = buildDistributions();
  runners.push(...dist.runners);
});
after(() => dist?.cleanup());

const TRICKY = {
  "001_atomic.up.sql": "CREATE TABLE t (id int);\nCREATE FUNCTION two() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n  SELECT 2;\nEND;\n",
  "002_cr.up.sql": "CREATE TABLE a (id int); -- note\rCOMMIT;\rCREATE TABLE b (id int);\r",
  "003_dollar.up.sql": "DO $é$ BEGIN PERFORM 1; END $é$;\r\nSELECT E'\\'; still a string', /* a /* nested */ comment */ 2;\r\n",
  "004_psql.up.sql": "SELECT 1;\n\\i other.sql\n",
  "005_rule.up.sql": "-- orchwf:no-transaction\nCREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO t VALUES (1); INSERT INTO t VALUES (2));\nVACUUM t;\n",
  "006_vacuum.up.sql": "VACUUM t;\n",
};

function parsed(run: CliRun, code: number): Record<string, unknown> {
  assert.equal(run.code, code, `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

for (const name of ["bun", "deno", "node", "binary"] as const) {
  describe(`validate, lint, up --dry-run on ${name}`, () => {
    const cli = (args: string[]) => runWith(runners.find((r) => r.name === name)!, args);

    test("tricky files: each problem at file:line:column, the rest valid", { timeout: 180_000 }, async (t) => {
      if (!fromBun) return t.skip("spawns every runtime itself: run from Bun");
      const dir = migrationDir(TRICKY);
      try {
        const report = parsed(await cli(["validate", "--dir", dir, "--json"]), 1) as { problems: Record<string, unknown>[]; migrations: number };
        assert.equal(report.migrations, 6);
        assert.deepEqual(report.problems.map((p) => `${p.version} ${p.rule} ${p.line}:${p.column}`), [
          "002 transaction-control 2:1",
          "004 psql-meta-command 2:1",
          "006 needs-no-transaction 1:1",
        ]);
        const text = await cli(["validate", "--dir", dir]);
        assert.equal(text.code, 1);
        assert.match(text.stdout, /004_psql\.up\.sql:2:1: error psql-meta-command: psql meta-command "\\i" is not SQL/);

        for (const bad of ["002_cr.up.sql", "004_psql.up.sql", "006_vacuum.up.sql"]) rmSync(join(dir, bad));
        const valid = parsed(await cli(["validate", "--dir", dir, "--json"]), 0);
        assert.deepEqual(valid.problems, []);
        // --with-orchwf and --format reach validate and lint as they reach up.
        const withBuiltins = parsed(await cli(["validate", "--dir", dir, "--with-orchwf", "--json"]), 0);
        assert.equal(withBuiltins.migrations, (valid.migrations as number) + orchwfMigrations.length);
        const wrongFormat = await cli(["lint", "--dir", dir, "--format", "dbmate", "--json"]);
        assert.equal(wrongFormat.code, 1, wrongFormat.stderr);
        assert.match(JSON.parse(wrongFormat.stdout).error.message, /no "-- migrate:up" line/);

        const lint = parsed(await cli(["lint", "--dir", dir, "--json"]), 1) as { findings: { rule: string; version: string }[] };
        assert.deepEqual(lint.findings.map((f) => `${f.version} ${f.rule}`), ["005 no-transaction-not-idempotent"]);

        const dry = await cli(["up", "--dry-run", "--dir", dir, "--db", "pglite:memory", "--timeout", "0"]);
        assert.equal(dry.code, 0, dry.stderr);
        assert.match(dry.stdout, /\/\* orchwf bookkeeping \*\/ BEGIN;\n(.*\n)*CREATE FUNCTION two\(\) RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n {2}SELECT 1;\n {2}SELECT 2;\nEND;\n/);
        // After a no-transaction statement: its connection's session put back, as up does.
        assert.match(dry.stdout, /\nVACUUM t;\n\/\* orchwf bookkeeping \*\/ DO \$orchwf\$ BEGIN IF session_user/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
