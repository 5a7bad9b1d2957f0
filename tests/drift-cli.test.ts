/**
 * The CLI's drift, dump and up --dump-schema on PostgreSQL 15 (in-process `main`, real database): exit codes, the
 * --json contracts, the checksum report beside the schema comparison; and dump from the single binary copied alone
 * into an empty directory (pg_dump's WebAssembly embedded).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { main } from "../src/cli/main.ts";
import { buildCompiled } from "../scripts/build.ts";
import { postgresEngine } from "./helpers/engines.ts";
import { migrationDir } from "./fixtures/spawn-runner.ts";

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: {}, isTTY: false });
  return { code, stdout, stderr };
}

describe("CLI drift and dump on PostgreSQL 15", () => {
  test("up --dump-schema; drift clean (0) and drifted (1) with checksum and schema; dump --from live|files", { timeout: 300_000 }, async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    const d = await postgresEngine.open();
    const dir = migrationDir({
      "001_a.up.sql": "CREATE TABLE a (id int PRIMARY KEY, name text NOT NULL);\n",
      "002_b.up.sql": "CREATE TABLE b (id int REFERENCES a (id));\nCREATE INDEX b_id ON b (id);\n",
    });
    const out = mkdtempSync(join(tmpdir(), "orchwf-dump-cli-"));
    try {
      const base = ["--dir", dir, "--db", d.url!];
      const schemaFile = join(out, "db", "schema.sql");
      const up = await cli(["up", ...base, "--dump-schema", schemaFile]);
      assert.equal(up.code, 0, up.stderr);
      assert.match(up.stderr, /wrote .*schema\.sql \(2 applied migrations, by pg_dump 15\./);
      const written = readFileSync(schemaFile, "utf8");
      assert.match(written, /CREATE TABLE public\.b/);
      assert.match(written, /INSERT INTO "public"\."orchwf_migrations" \(version, description, checksum\) VALUES \(E'002', E'b', /);

      const clean = await cli(["drift", ...base, "--json"]);
      assert.equal(clean.code, 0, clean.stdout + clean.stderr);
      const cleanJson = JSON.parse(clean.stdout);
      assert.equal(cleanJson.ok, true);
      assert.deepEqual(cleanJson.applied, ["001", "002"]);
      assert.equal(cleanJson.database, d.url);
      assert.deepEqual(cleanJson.checksum, { modified: [], missing: [] });

      // A hotfix by hand, and 002 edited after it ran.
      await d.query("ALTER TABLE a ADD COLUMN hotfix boolean DEFAULT false");
      writeFileSync(join(dir, "002_b.up.sql"), "CREATE TABLE b (id int REFERENCES a (id));\nCREATE INDEX b_id ON b (id, id);\n");
      const drifted = await cli(["drift", ...base, "--json"]);
      assert.equal(drifted.code, 1);
      const json = JSON.parse(drifted.stdout);
      assert.equal(json.ok, false);
      assert.deepEqual(json.checksum, { modified: ["002"], missing: [] });
      // The replay uses the file as it is now: its index differs from the one the database got from the old text.
      assert.deepEqual(json.differences.map((x: { drift: string; name: string }) => `${x.drift} ${x.name}`), [
        "extra public.a.hotfix",
        "changed public.b_id",
      ]);
      const text = await cli(["drift", ...base, "--ignore", "public.a", "--ignore=index:public.b_*"]);
      assert.equal(text.code, 1);
      assert.match(text.stdout, /modified: 002 was applied from a file that has changed since/);
      assert.match(text.stdout, /DRIFT: 1 difference \(2 ignored\)/);

      const live = await cli(["dump", ...base, "--json"]);
      assert.equal(live.code, 0, live.stderr);
      const liveJson = JSON.parse(live.stdout);
      assert.equal(liveJson.from, "live");
      assert.equal(liveJson.dumper, "pg_dump");
      assert.match(liveJson.sql, /hotfix boolean DEFAULT false/);
      const files = await cli(["dump", "--dir", dir, "--out", join(out, "files.sql"), "--json"]);
      assert.equal(files.code, 0, files.stderr);
      assert.equal(JSON.parse(files.stdout).from, "files");
      assert.equal(JSON.parse(files.stdout).dumper, "pglite-tools");
      assert.doesNotMatch(readFileSync(join(out, "files.sql"), "utf8"), /hotfix/);
      const bad = await cli(["dump", ...base, "--from", "somewhere", "--json"]);
      assert.equal(bad.code, 2);
    } finally {
      await d.close();
      rmSync(dir, { recursive: true, force: true });
      rmSync(out, { recursive: true, force: true });
    }
  });
});

test("the single binary, alone in an empty directory, dumps a replay with its embedded pg_dump", { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), "orchwf-bin-dump-"));
  try {
    const bin = join(dir, "orchwf-migrate");
    copyFileSync(buildCompiled(join(dir, "build", "orchwf-migrate")), bin);
    rmSync(join(dir, "build"), { recursive: true });
    const { stdout, code } = await new Promise<{ stdout: string; code: number }>((resolve) => {
      execFile(bin, ["dump", "--from", "files", "--out", "schema.sql", "--json"], { cwd: dir, env: { PATH: "/usr/bin:/bin" } }, (err, stdout) =>
        resolve({ stdout: String(stdout), code: err ? Number((err as { code?: number }).code ?? 1) : 0 }));
    });
    assert.equal(code, 0, stdout);
    assert.equal(JSON.parse(stdout).dumper, "pglite-tools");
    assert.ok(existsSync(join(dir, "schema.sql")));
    assert.match(readFileSync(join(dir, "schema.sql"), "utf8"), /CREATE TABLE public\.orchwf_workflow_instances/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
