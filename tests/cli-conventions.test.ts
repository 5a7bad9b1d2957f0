/**
 * CLI conventions, run for real in subprocesses (Bun on the sources): the database you meant (no guessing in a
 * script), .env, one configuration story (flags and environment variables), help and did-you-mean, colours,
 * display-width alignment, completions, progress only on a terminal, out-of-order versions, escaped control
 * characters, validated durations, interruption, and README's CLI section equal to --help.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, afterEach, describe, test } from "node:test";
import { postgresEngine } from "./helpers/engines.ts";
import { bunBin, bunRunner, cleanEnv, root, runWith } from "./helpers/cli.ts";
import { escapeControl, useColor } from "../src/cli/output.ts";
import { suggest } from "../src/cli/suggest.ts";

const LONG = { timeout: 240_000 };
const MAIN = join(root, "src/cli/main.ts");
// Bun itself reads ./.env before any program starts (the compiled binary is built without that); `bun --no-env-file`
// leaves .env to the CLI, as Node and the binary do, so these tests see the CLI's own loader.
const ownEnvRunner = { ...bunRunner, prefix: ["--no-env-file", ...bunRunner.prefix] };
const cli = (args: string[], options?: Parameters<typeof runWith>[2]) => runWith(ownEnvRunner, args, options);
const temps: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "orchwf-conv-"));
  temps.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Runs the CLI on a pseudo-terminal (util-linux `script`), as a person at a terminal would. */
function onTerminal(args: string[], cwd: string, env = cleanEnv()): { code: number; output: string } {
  const command = [bunBin, "--no-env-file", MAIN, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const run = spawnSync("script", ["-qec", command, "/dev/null"], { cwd, env, encoding: "utf8", timeout: 180_000 });
  return { code: run.status ?? -1, output: `${run.stdout}${run.stderr}` };
}

/** A fresh empty database: on the PostgreSQL server when there is one (fast), else a PGlite directory. */
const opened: { close(): Promise<void> }[] = [];
async function scratchDb(): Promise<string> {
  if (await postgresEngine.available()) {
    const d = await postgresEngine.open();
    opened.push(d);
    return d.url!;
  }
  return `pglite:${join(tempDir(), "data")}`;
}
after(async () => {
  for (const d of opened.splice(0)) await d.close();
});

function migrationsDir(files: Record<string, string>): string {
  const dir = join(tempDir(), "migrations");
  mkdirSync(dir);
  for (const [name, sql] of Object.entries(files)) writeFileSync(join(dir, name), sql);
  return dir;
}

describe("the database you meant", () => {
  test("no URL in a script, or an empty --db, exits 2 naming the three ways; nothing is created", LONG, async () => {
    const cwd = tempDir();
    for (const args of [["up"], ["status"], ["up", "--db", ""], ["down", "--db="]]) {
      const run = await cli(args, { cwd });
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      for (const way of ["--db", "ORCHWF_DB_URL", "DATABASE_URL"]) assert.ok(run.stderr.includes(way), `${args.join(" ")} does not name ${way}: ${run.stderr}`);
    }
    assert.deepEqual(readdirSync(cwd), [], "no ./.orchwf/pgdata made");
  });

  test("an interactive terminal gets the embedded default, announced; progress shows there and never in a pipe", LONG, async () => {
    const cwd = tempDir();
    const dir = migrationsDir({
      "001_a.up.sql": "CREATE TABLE a (id int);",
      "001_a.down.sql": "DROP TABLE a;",
      "002_b.up.sql": "CREATE TABLE b (id int);",
      "002_b.down.sql": "DROP TABLE b;",
    });
    const tty = onTerminal(["up", "--dir", dir], cwd);
    assert.equal(tty.code, 0, tty.output);
    assert.match(tty.output, /using the embedded PGlite database in \.\/\.orchwf\/pgdata/);
    assert.match(tty.output, /\[\d\/2\]/, "a [done/total] progress line on the terminal");
    assert.ok(readdirSync(cwd).includes(".orchwf"));
    const piped = await cli(["down", "--all", "--dir", dir, "--db", "pglite:./.orchwf/pgdata"], { cwd });
    assert.equal(piped.code, 0, piped.stderr);
    assert.ok(!/\[\d\/2\]|\r/.test(piped.stdout + piped.stderr), `progress in a pipe: ${JSON.stringify(piped.stderr)}`);
    const json = onTerminal(["up", "--dir", dir, "--json"], cwd);
    assert.ok(!/\[\d\/2\]/.test(json.output), "no progress with --json");
    assert.deepEqual(JSON.parse(json.output.slice(json.output.indexOf("{"))).applied.map((a: { version: string }) => a.version), ["001", "002"]);
  });
});

describe("one configuration story", () => {
  test(".env in the working directory is read, set variables win, --env-file and --no-env-file", LONG, async () => {
    const cwd = tempDir();
    // A database that refuses at once: what the CLI tried to reach shows which configuration it read.
    writeFileSync(join(cwd, ".env"), "ORCHWF_DB_URL=postgres://nobody@127.0.0.1:1/from_dotenv\nORCHWF_TABLE=from_dotenv\n");
    const read = await cli(["status", "--verbose"], { cwd });
    assert.equal(read.code, 1, read.stderr);
    assert.match(read.stderr, /--db postgres:\/\/nobody@127\.0\.0\.1:1\/from_dotenv from ORCHWF_DB_URL/);
    assert.match(read.stderr, /--table from_dotenv from ORCHWF_TABLE/);
    const set = await cli(["status", "--verbose"], { cwd, env: cleanEnv({ ORCHWF_TABLE: "from_env" }) });
    assert.match(set.stderr, /--table from_env from ORCHWF_TABLE/, "a variable already set wins over .env");
    const flag = await cli(["status", "--verbose", "--table", "from_flag"], { cwd, env: cleanEnv({ ORCHWF_TABLE: "from_env" }) });
    assert.doesNotMatch(flag.stderr, /--table from_env/, "a flag wins over the environment");
    const ignored = await cli(["status", "--no-env-file"], { cwd });
    assert.equal(ignored.code, 2, "--no-env-file: nothing read, so no database in a script");
    writeFileSync(join(cwd, "other.env"), "DATABASE_URL=postgres://nobody@127.0.0.1:1/from_other\n");
    const named = await cli(["status", "--verbose", "--env-file", join(cwd, "other.env")], { cwd: tempDir() });
    assert.match(named.stderr, /from_other from DATABASE_URL/);
    const byEnv = await cli(["status", "--verbose"], { cwd: tempDir(), env: cleanEnv({ ORCHWF_ENV_FILE: join(cwd, "other.env") }) });
    assert.match(byEnv.stderr, /from_other from DATABASE_URL/);
    const missing = await cli(["status", "--env-file", "nope.env"], { cwd });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.env/);
  });

  test("create then up agree on ORCHWF_MIGRATIONS_DIR; create needs a directory; --timestamp; --with-orchwf numbers after the built-ins", LONG, async () => {
    const cwd = tempDir();
    const dir = join(cwd, "db");
    const env = cleanEnv({ ORCHWF_MIGRATIONS_DIR: dir, ORCHWF_DB_URL: await scratchDb() });
    const noDir = await cli(["create", "add_users"], { cwd });
    assert.equal(noDir.code, 2);
    assert.match(noDir.stderr, /ORCHWF_MIGRATIONS_DIR/);
    const created = JSON.parse((await cli(["create", "add_users", "--json"], { cwd, env })).stdout);
    writeFileSync(created.up, "CREATE TABLE users (id int);\n");
    writeFileSync(created.down, "DROP TABLE users;\n");
    const up = await cli(["up", "--json"], { cwd, env });
    assert.equal(up.code, 0, up.stderr);
    assert.deepEqual(JSON.parse(up.stdout).applied.map((a: { version: string }) => a.version), [created.version]);
    const stamped = JSON.parse((await cli(["create", "later", "--timestamp", "--json"], { cwd, env })).stdout);
    assert.match(stamped.version, /^20\d{12}$/);
    const both = join(cwd, "both");
    const withBuiltins = JSON.parse((await cli(["create", "mine", "--dir", both, "--with-orchwf", "--json"], { cwd })).stdout);
    assert.equal(withBuiltins.version, "002", "after the built-in 001");
    writeFileSync(withBuiltins.up, "CREATE TABLE mine (id int);\n");
    writeFileSync(withBuiltins.down, "DROP TABLE mine;\n");
    const combined = await cli(["up", "--dir", both, "--with-orchwf", "--db", await scratchDb(), "--json"], { cwd });
    assert.equal(combined.code, 0, combined.stderr);
    assert.deepEqual(JSON.parse(combined.stdout).applied.map((a: { version: string }) => a.version), ["001", "002"]);
  });

  test("durations are validated: a usage error (exit 2) instead of an instant timeout or a server error", LONG, async () => {
    for (const args of [["--timeout", "999999999999"], ["--lock-timeout", "600h"], ["--lock-timeout", "0"], ["--timeout", "soon"]]) {
      const run = await cli(["status", "--db", "pglite:memory", ...args]);
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stderr}`);
      assert.match(run.stderr, new RegExp(args[0]));
    }
    const fromEnv = await cli(["status", "--db", "pglite:memory"], { env: cleanEnv({ ORCHWF_LOCK_TIMEOUT: "600h" }) });
    assert.equal(fromEnv.code, 2);
    assert.match(fromEnv.stderr, /ORCHWF_LOCK_TIMEOUT/);
  });
});

describe("conventions", () => {
  test("help CMD and CMD --help show a description and an example for every command; did-you-mean", LONG, async () => {
    const help = await cli(["help"]);
    const commands = [...help.stdout.matchAll(/^ {2}([a-z]+)(?: \S+)?\s{2,}\S/gm)].map((m) => m[1]);
    assert.ok(commands.length >= 10, help.stdout);
    for (const name of commands) {
      const [a, b] = await Promise.all([cli(["help", name]), cli([name, "--help"])]);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(a.stdout, b.stdout);
      assert.match(a.stdout, new RegExp(`^Usage: orchwf-migrate ${name}`));
      assert.match(a.stdout, /\n\nExamples:\n {2}[^\n]*orchwf-migrate /);
      assert.ok(a.stdout.split("\n")[2].length > 20, `${name} has a description`);
    }
    const typo = await cli(["stauts"]);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /did you mean status\?/);
    assert.equal(typo.stderr.match(/did you mean/g)?.length, 1, "one hint, once");
    const option = await cli(["up", "--dry-rnu"]);
    assert.equal(option.code, 2);
    assert.match(option.stderr, /unknown option --dry-rnu for up; did you mean --dry-run\?/);
    assert.equal(suggest("--tabel", ["--table", "--timeout"]), "--table");
    assert.equal(suggest("xyzzy", ["status", "up"]), undefined);
  });

  test("colours follow Node's styleText rules: FORCE_COLOR wins (0 is off), NO_COLOR, --no-color, off when piped", LONG, async () => {
    const esc = "\u001b[";
    // The error line is red when colours are on; a refused connection fails fast, with no database at all.
    const status = (env: Record<string, string>, extra: string[] = []) =>
      cli(["status", "--db", "postgres://nobody@127.0.0.1:1/x", ...extra], { env: cleanEnv(env) }).then((r) => r.stderr);
    const [forced, zero, noColor, flag, piped] = await Promise.all([
      status({ FORCE_COLOR: "1" }),
      status({ FORCE_COLOR: "0" }),
      status({ NO_COLOR: "1" }),
      status({ FORCE_COLOR: "1" }, ["--no-color"]),
      status({}),
    ]);
    assert.ok(forced.includes(`${esc}31merror:`), forced);
    for (const out of [zero, noColor, flag, piped]) assert.ok(!out.includes(esc), out);
    assert.equal(useColor({ isTTY: true, env: { NO_COLOR: "" }, flag: true }), false);
    assert.equal(useColor({ isTTY: false, env: { FORCE_COLOR: "true", NO_COLOR: "1" }, flag: true }), true);
    assert.equal(useColor({ isTTY: true, env: { TERM: "dumb" }, flag: true }), false);
  });

  test("the status table aligns wide (CJK) descriptions; control characters in names are escaped, never printed raw", LONG, async () => {
    const dir = migrationsDir({
      "001_创建用户表.up.sql": "CREATE TABLE users (id int);",
      "002_plain.up.sql": "CREATE TABLE plain (id int);",
      "003_evil\u001b[2J\u001b]0;owned\u0007.up.sql": "CREATE TABLE evil (id int);",
    });
    const db = await scratchDb();
    for (const env of [cleanEnv(), cleanEnv({ FORCE_COLOR: "1" })]) {
      const run = await cli(["status", "--dir", dir, "--db", db], { env });
      assert.equal(run.code, 0, run.stderr);
      // deno-lint-ignore no-control-regex -- looking for control characters
      const visible = run.stdout.replace(/\u001b\[[0-9;]*m/g, "");
      // deno-lint-ignore no-control-regex -- looking for control characters
      assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f]/.test(visible), `a raw control character: ${JSON.stringify(run.stdout)}`);
      assert.ok(run.stdout.includes("evil\\u001b[2J\\u001b]0;owned\\u0007"), run.stdout);
      const lines = visible.split("\n").filter((l) => /^00[12]\s/.test(l));
      const column = (line: string) => {
        let width = 0;
        for (const ch of line.slice(0, line.indexOf("pending"))) width += /[\u4e00-\u9fff]/.test(ch) ? 2 : 1;
        return width;
      };
      assert.equal(column(lines[0]), column(lines[1]), lines.join("\n"));
    }
    const json = await cli(["status", "--dir", dir, "--db", db, "--json"]);
    const parsed = JSON.parse(json.stdout);
    assert.equal(parsed.migrations[2].description, "evil\u001b[2J\u001b]0;owned\u0007", "JSON keeps the value, escaped");
    assert.equal(escapeControl("a\u009bb\u202ec"), "a\\u009bb\\u202ec");
  });

  test("completion bash|zsh|fish lists the commands and options; bash parses it", LONG, async () => {
    for (const shell of ["bash", "zsh", "fish"]) {
      const run = await cli(["completion", shell]);
      assert.equal(run.code, 0, run.stderr);
      const words = shell === "fish"
        ? ["-a status", "-a rollback", "-l dry-run", "-l db", "-l exit-code", "-l with-orchwf"]
        : ["status", "rollback", "--dry-run", "--db", "--exit-code", "--with-orchwf"];
      for (const word of words) assert.ok(run.stdout.includes(word), `${shell} lacks ${word}`);
      if (shell === "bash") {
        const check = spawnSync("bash", ["-n"], { input: run.stdout, encoding: "utf8" });
        assert.equal(check.status, 0, check.stderr);
        const words = spawnSync("bash", ["-c", `${run.stdout}\nCOMP_WORDS=(orchwf-migrate up --dr); COMP_CWORD=2; _orchwf_migrate; echo "\${COMPREPLY[@]}"`], { encoding: "utf8" });
        assert.equal(words.stdout.trim(), "--dry-run");
      }
    }
    assert.equal((await cli(["completion", "tcsh"])).code, 2);
  });

  test("--quiet prints only the result; --verbose says where settings came from", LONG, async () => {
    const dir = migrationsDir({ "001_a.up.sql": "CREATE TABLE a (id int);" });
    const quiet = await cli(["up", "-q", "--dir", dir, "--db", await scratchDb()]);
    assert.equal(quiet.code, 0, quiet.stderr);
    assert.equal(quiet.stdout, "1 migration applied; current version 001\n");
    const verbose = await cli(["status", "--verbose"], { env: cleanEnv({ ORCHWF_DB_URL: await scratchDb(), ORCHWF_MIGRATIONS_DIR: dir }) });
    assert.match(verbose.stderr, /--db postgres:\S+ from ORCHWF_DB_URL/);
    assert.match(verbose.stderr, /--dir \S+ from ORCHWF_MIGRATIONS_DIR/);
  });
});

describe("out-of-order versions", () => {
  test("warned and named in status and up --dry-run, applied by default, refused with --strict", LONG, async () => {
    const dir = migrationsDir({ "001_a.up.sql": "CREATE TABLE a (id int);", "003_c.up.sql": "CREATE TABLE c (id int);" });
    const db = ["--dir", dir, "--db", await scratchDb()];
    assert.equal((await cli(["up", ...db])).code, 0);
    writeFileSync(join(dir, "002_b.up.sql"), "CREATE TABLE b (id int);"); // merged from another branch
    const status = await cli(["status", ...db, "--json"]);
    assert.deepEqual(JSON.parse(status.stdout).outOfOrder, ["002"]);
    assert.match(status.stderr, /out-of-order.*002/);
    const table = await cli(["status", ...db]);
    assert.match(table.stdout, /002\s+b\s+pending \(out of order\)/);
    const dry = await cli(["up", ...db, "--dry-run", "--json"]);
    assert.deepEqual(JSON.parse(dry.stdout).outOfOrder, ["002"]);
    const strict = await cli(["up", ...db, "--json"], { env: cleanEnv({ ORCHWF_STRICT: "1" }) });
    assert.equal(strict.code, 1);
    assert.equal(JSON.parse(strict.stdout).error.code, "OUT_OF_ORDER");
    assert.equal(JSON.parse((await cli(["status", ...db, "--json"])).stdout).pending, 1, "--strict applied nothing");
    const up = await cli(["up", ...db]);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stderr, /warning: out-of-order versions: 002/);
    assert.match(up.stdout, /applied\s+002/);
  });
});

describe("interruption", () => {
  for (const target of ["pglite", "postgres"] as const) {
    test(`SIGINT on ${target}: the running migration rolls back, the CLI names it and exits 130`, LONG, async (t) => {
      let url = `pglite:${join(tempDir(), "data")}`;
      let close = async () => {};
      if (target === "postgres") {
        if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
        const d = await postgresEngine.open();
        url = d.url!;
        close = () => d.close();
      }
      try {
        const dir = migrationsDir({
          "001_a.up.sql": "CREATE TABLE a (id int);",
          "002_slow.up.sql": "CREATE TABLE b (id int);\nSELECT pg_sleep(4);\n",
          "003_c.up.sql": "CREATE TABLE c (id int);",
        });
        const child = spawn(bunBin, ["--no-env-file", MAIN, "up", "--dir", dir, "--db", url, "--no-color"], { env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stderr.on("data", (d) => (stderr += d));
        const code = await new Promise<number | null>((resolve) => {
          child.stdout.on("data", (d) => {
            stdout += d;
            if (/applied\s+001/.test(stdout)) setTimeout(() => child.kill("SIGINT"), 300); // while 002 sleeps
          });
          child.on("exit", (c) => resolve(c));
        });
        assert.equal(code, 130, `${stdout}\n${stderr}`);
        assert.match(stderr, /stopped by SIGINT: migration 002 \(slow\) was rolled back/);
        const status = await cli(["status", "--dir", dir, "--db", url, "--json"]);
        assert.deepEqual(JSON.parse(status.stdout).migrations.map((m: { state: string }) => m.state), ["applied", "pending", "pending"]);
      } finally {
        await close();
      }
    });
  }
});

describe("README", () => {
  test("the CLI section quotes orchwf-migrate --help exactly", LONG, async () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const match = /<!-- help:start -->\n```text\n([\s\S]*?)```\n<!-- help:end -->/.exec(readme);
    assert.ok(match, "README has a help block between <!-- help:start --> and <!-- help:end -->");
    const help = await cli(["--help"]);
    assert.equal(match[1], help.stdout);
  });
});
