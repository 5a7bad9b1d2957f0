/**
 * The CLI, run for real in subprocesses, the four ways: Bun on the sources, Deno on src/mod.ts, Node on the
 * npm bundle, the compiled binary; each against pglite:memory, a pglite:PATH directory and PostgreSQL 15.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { postgresEngine } from "./helpers/engines.ts";
import { buildDistributions, bunRunner, cleanEnv, type CliRun, denoRunner, type Runner, runWith } from "./helpers/cli.ts";

const PASSWORD = "s3cret-Pw";
let dist: ReturnType<typeof buildDistributions> | undefined;
const runners: Runner[] = [bunRunner, denoRunner];

before(() => {
  dist = buildDistributions(); // once per file run: the Node bundle and the binary
  runners.push(...dist.runners);
});
after(() => dist?.cleanup());

function json(run: CliRun): Record<string, unknown> & { migrations?: { version: string; state: string }[] } {
  assert.equal(run.code, 0, `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return JSON.parse(run.stdout);
}

function ok(run: CliRun): CliRun {
  assert.equal(run.code, 0, `exit ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return run;
}

for (const name of ["bun", "deno", "node", "binary"] as const) {
  const runner = () => runners.find((r) => r.name === name)!;
  const cli = (args: string[], options?: Parameters<typeof runWith>[2]) => runWith(runner(), args, options);

  describe(`orchwf-migrate on ${name}`, () => {
    test("pglite:memory: dry run, up, status --exit-code", { timeout: 900_000 }, async () => {
      const dry = await cli(["up", "--dry-run", "--db", "pglite:memory", "--json"]);
      assert.deepEqual((json(dry).pending as { version: string }[]).map((p) => p.version), ["001"]);
      const up = ok(await cli(["up", "--db", "pglite:memory", "--no-color"]));
      assert.match(up.stdout, /applied\s+001\s+Create OrchWF tables\s+\(\d+(\.\d+)? m?s\)/);
      const status = await cli(["status", "--exit-code", "--db", "pglite:memory"]);
      assert.equal(status.code, 3, status.stderr);
      assert.match(status.stdout, /001\s+Create OrchWF tables\s+pending/);
    });

    test("pglite:PATH: every command, the aliases, and the directory lock released after each run", { timeout: 900_000 }, async () => {
      const dir = mkdtempSync(join(tmpdir(), `orchwf-cli-${name}-`));
      const db = ["--db", `pglite:${join(dir, "data")}`];
      try {
        assert.deepEqual((json(await cli(["migrate", ...db, "--json"])).applied as { version: string }[]).map((a) => a.version), ["001"]);
        const status = json(await cli(["status", ...db, "--json"]));
        assert.deepEqual(status.migrations!.map((m) => [m.version, m.state]), [["001", "applied"]]);
        assert.equal(status.current, "001");
        const table = ok(await cli(["status", ...db]));
        assert.match(table.stdout, /VERSION\s+DESCRIPTION\s+STATE\s+APPLIED AT/);
        assert.match(table.stdout, /001\s+Create OrchWF tables\s+applied\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
        const redo = json(await cli(["redo", ...db, "--json"]));
        assert.deepEqual([(redo.rolledBack as { version: string }[])[0].version, (redo.applied as { version: string }[])[0].version], ["001", "001"]);
        const down = json(await cli(["rollback", ...db, "--json"]));
        const rolledBack = down.rolledBack as { version: string; description: string; durationMs: number }[];
        assert.deepEqual(rolledBack.map((r) => [r.version, r.description]), [["001", "Create OrchWF tables"]]);
        assert.ok(Number.isFinite(rolledBack[0].durationMs) && rolledBack[0].durationMs >= 0, String(rolledBack[0].durationMs));
        assert.deepEqual(Object.keys(down), ["database", "rolledBack", "current"]);
        assert.equal(down.database, `pglite:${join(dir, "data")}`);
        assert.equal(down.current, null);
        assert.equal((await cli(["status", "--exit-code", ...db])).code, 3);
        ok(await cli(["up", "--to", "001", ...db]));
        ok(await cli(["down", "--all", ...db]));
        assert.equal((await cli(["status", "--exit-code", ...db])).code, 3);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test("output through a pipe is never cut off: status --json and verify --json far beyond 64 KiB", { timeout: 900_000 }, async () => {
      const dir = mkdtempSync(join(tmpdir(), `orchwf-big-${name}-`));
      try {
        const long = "x".repeat(200);
        for (let i = 1; i <= 400; i++) {
          const v = String(i).padStart(4, "0");
          writeFileSync(join(dir, `${v}_${long}_${i}.up.sql`), `CREATE TABLE t${i} (id int);`);
          writeFileSync(join(dir, `${v}_${long}_${i}.down.sql`), `DROP TABLE t${i};`);
        }
        const status = await cli(["status", "--json", "--dir", dir, "--db", "pglite:memory"]);
        assert.ok(status.stdout.length > 2 * 65536, `only ${status.stdout.length} bytes`);
        assert.equal(json(status).migrations!.length, 400);
        if (name !== "binary") return; // verify's output takes the same way out; once is enough for its minutes of work
        const wide = mkdtempSync(join(tmpdir(), `orchwf-wide-${name}-`));
        const columns = Array.from({ length: 40 }, (_, c) => `column_with_a_rather_long_name_${c} text`).join(", ");
        for (let i = 1; i <= 12; i++) {
          writeFileSync(join(wide, `${String(i).padStart(3, "0")}_t${i}.up.sql`), `CREATE TABLE t${i} (${columns});`);
          writeFileSync(join(wide, `${String(i).padStart(3, "0")}_t${i}.down.sql`), `DROP TABLE t${i};`);
        }
        const verify = await cli(["verify", "--json", "--dir", wide]);
        rmSync(wide, { recursive: true, force: true });
        assert.equal((json(verify).migrations as unknown[]).length, 12);
        assert.ok(verify.stdout.length > 65536, `only ${verify.stdout.length} bytes`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test("PostgreSQL 15: -db as the Go tool spelled it, --json, down --to/--all; the password never printed", { timeout: 900_000 }, async (t) => {
      if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
      const d = await postgresEngine.open();
      const url = new URL(d.url!);
      url.password = PASSWORD; // trust auth: accepted and ignored, so it can only leak through our output
      try {
        const runs: CliRun[] = [];
        const run = async (args: string[]) => {
          const r = await cli(args);
          runs.push(r);
          return r;
        };
        const up = json(await run(["-db", url.toString(), "up", "--json"]));
        assert.equal(up.current, "001");
        assert.equal(up.database, url.toString().replace(PASSWORD, "****"));
        const rows = await d.query<{ version: string }>("SELECT version FROM orchwf_migrations");
        assert.deepEqual(rows.map((r) => r.version), ["001"]);
        const status = json(await run(["status", "--json", "--db", url.toString()]));
        assert.deepEqual(status.migrations!.map((m) => m.state), ["applied"]);
        ok(await run(["status", "--exit-code", "--db", url.toString()]));
        json(await run(["down", "--to", "0", "--db", url.toString(), "--json"])).current === null || assert.fail();
        assert.equal((await run(["status", "--exit-code", "--db", url.toString()])).code, 3);
        ok(await run(["up", "--db", url.toString()]));
        ok(await run(["redo", "--db", url.toString()]));
        ok(await run(["down", "--all", "--db", url.toString()]));
        const tables = await d.query("SELECT 1 FROM information_schema.tables WHERE table_name LIKE 'orchwf_w%'");
        assert.equal(tables.length, 0);
        // With ORCHWF_DB_URL instead of a flag, and a failure that quotes the URL.
        const env = cleanEnv({ ORCHWF_DB_URL: url.toString().replace(/:\d+\//, ":1/") });
        const refused = await runWith(runner(), ["status", "--timeout", "5s"], { env });
        runs.push(refused);
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /cannot connect/);
        for (const r of runs) {
          assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD), `password printed:\n${r.stdout}\n${r.stderr}`);
        }
      } finally {
        await d.close();
      }
    });

    test("a password the server quotes back is masked: text, --json and stderr, for up and verify", { timeout: 180_000 }, async (t) => {
      if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
      const dbs = [await postgresEngine.open(), await postgresEngine.open(), await postgresEngine.open()];
      const dir = mkdtempSync(join(tmpdir(), `orchwf-leak-${name}-`));
      const urls = dbs.map((d) => {
        const url = new URL(d.url!);
        url.password = PASSWORD; // trust auth: accepted and ignored, so it can only leak through our output
        return url.toString();
      });
      try {
        // The SQL quotes the very URL given to --db and the password alone, so the server's messages and the
        // catalog (a default, a comment) echo them: 003 fails with `invalid input syntax ... "<url>"`, and 002's
        // down leaves a default and a comment behind, which verify prints.
        const quoted = urls[0];
        const files: Record<string, string> = {
          "001_settings.up.sql": "CREATE TABLE settings (dsn text);\n",
          "001_settings.down.sql": "DROP TABLE settings;\n",
          "002_dsn.up.sql": `ALTER TABLE settings ALTER dsn SET DEFAULT '${quoted}';\nCOMMENT ON TABLE settings IS 'rotated ${PASSWORD}';\n`,
          "002_dsn.down.sql": "SELECT 1;\n",
          "003_check.up.sql": `SELECT '${quoted}'::int;\n`,
        };
        for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
        const masked = quoted.replace(PASSWORD, "****");
        const runs: CliRun[] = [];
        const run = async (args: string[]) => {
          const r = await cli(["--dir", dir, ...args]);
          runs.push(r);
          return r;
        };
        const upText = await run(["up", "--db", urls[0]]);
        assert.equal(upText.code, 1, upText.stderr);
        assert.ok(upText.stderr.includes(`invalid input syntax for type integer: "${masked}"`), upText.stderr);
        const upJson = await run(["up", "--json", "--db", urls[0]]);
        assert.equal(upJson.code, 1, upJson.stderr);
        const error = JSON.parse(upJson.stdout).error as { code: string; message: string };
        assert.equal(error.code, "SQL_ERROR");
        assert.ok(error.message.includes(`"${masked}"`), error.message);
        const verifyText = await run(["verify", "--db", urls[1]]);
        assert.equal(verifyText.code, 1, verifyText.stderr);
        assert.ok(verifyText.stdout.includes(`DEFAULT '${masked}'`) && verifyText.stdout.includes("COMMENT 'rotated ****'"), verifyText.stdout);
        const verifyJson = await run(["verify", "--json", "--db", urls[2]]);
        assert.equal(verifyJson.code, 1, verifyJson.stderr);
        const report = JSON.parse(verifyJson.stdout) as { error: { message: string } };
        assert.ok(report.error.message.includes("rotated ****"), report.error.message);
        assert.ok(verifyJson.stderr.includes("rotated ****"), verifyJson.stderr);
        for (const r of runs) {
          assert.ok(!r.stdout.includes(PASSWORD) && !r.stderr.includes(PASSWORD), `password printed:\n${r.stdout}\n${r.stderr}`);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
        for (const d of dbs) await d.close();
      }
    });
  });
}

describe("the compiled binary with nothing around it", () => {
  test("up + status in an empty directory on pglite:./.orchwf/pgdata; no --db in a script is exit 2", { timeout: 900_000 }, async () => {
    const binary = runners.find((r) => r.name === "binary")!;
    const cwd = mkdtempSync(join(tmpdir(), "orchwf-empty-"));
    try {
      const guessed = await runWith(binary, ["up"], { cwd });
      assert.equal(guessed.code, 2, guessed.stderr);
      const up = await runWith(binary, ["up", "--db", "pglite:./.orchwf/pgdata"], { cwd });
      assert.equal(up.code, 0, up.stderr);
      const status = await runWith(binary, ["status", "--exit-code"], { cwd, env: cleanEnv({ ORCHWF_DB_URL: "pglite:./.orchwf/pgdata" }) });
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /001\s+Create OrchWF tables\s+applied/);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
