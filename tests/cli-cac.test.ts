/**
 * The command line as users type it, parsed by cac from the command table: the classes of convention a user of
 * goose, golang-migrate or dbmate expects (single-dash long options, help on a bare call, options a command does
 * not use refused, CLI words in every message, completions that keep their texts, a closed stdout that never stops
 * a run). Run through Bun in a subprocess; tests/cli.test.ts runs the same table under Deno, Node and the binary.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { COMMANDS, GLOBAL_OPTIONS } from "../src/cli/commands.ts";
import { parseArgs } from "../src/cli/parse.ts";
import { bunRunner, cleanEnv, root, runWith } from "./helpers/cli.ts";

const LONG = { timeout: 180_000 };
const cli = (args: string[]) => runWith(bunRunner, args);
const base = mkdtempSync(join(tmpdir(), "orchwf-cac-"));
after(() => rmSync(base, { recursive: true, force: true }));
const table = { commands: COMMANDS, globals: GLOBAL_OPTIONS };

function migrations(count: number): string {
  const dir = mkdtempSync(join(base, "m-"));
  for (let i = 1; i <= count; i++) {
    const v = String(i).padStart(3, "0");
    writeFileSync(join(dir, `${v}_t${v}.up.sql`), `CREATE TABLE t${v} (id int);\n`);
    writeFileSync(join(dir, `${v}_t${v}.down.sql`), `DROP TABLE t${v};\n`);
  }
  return dir;
}

describe("values as typed", () => {
  test("cac's number conversion never reaches a value: 001, 1e3, 0x10, 00 stay text, in both spellings", () => {
    for (const value of ["001", "1e3", "0x10", "00", "1.10", " 7"]) {
      assert.equal(parseArgs(["up", "--to", value], table).flags.to, value);
      assert.equal(parseArgs(["up", `--to=${value}`], table).flags.to, value);
      assert.deepEqual(parseArgs(["resolve", value, "--applied"], table).positionals, [value]);
    }
  });

  test("repeatable options keep every value in order; --no-env-file is a flag, not a value of --env-file", () => {
    const parsed = parseArgs(["drift", "--ignore", "a.*", "--ignore=007", "--no-env-file"], table);
    assert.deepEqual(parsed.lists.ignore, ["a.*", "007"]);
    assert.equal(parsed.flags["no-env-file"], true);
    assert.equal(parsed.flags["env-file"], undefined);
  });
});

describe("conventions", () => {
  test("every long option takes the Go tools' single dash: -dir, -db, -table=NAME, -lock-timeout", LONG, async () => {
    const dir = migrations(2);
    const run = await cli(["status", "-dir", dir, "-db", "pglite:memory", "-table=go_style", "-lock-timeout", "5s", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    const status = JSON.parse(run.stdout);
    assert.deepEqual(status.migrations.map((m: { version: string }) => m.version), ["001", "002"]);
    assert.match(JSON.stringify(status), /go_style/);
    // Short flags stay short flags.
    assert.equal(parseArgs(["status", "-q"], table).flags.quiet, true);
  });

  test("a bare orchwf-migrate prints the help on stdout and exits 0, like --help", LONG, async () => {
    const bare = await cli([]);
    const help = await cli(["--help"]);
    assert.equal(bare.code, 0, bare.stderr);
    assert.equal(bare.stderr, "");
    assert.equal(bare.stdout, help.stdout);
    assert.match(bare.stdout, /^Usage: orchwf-migrate COMMAND \[options\]$/m);
  });

  test("help of an unknown command suggests a real one, never `help help`", LONG, async () => {
    for (const [word, hint] of [["nope", undefined], ["stauts", "status"], ["rollbak", "rollback"]] as const) {
      const run = await cli(["help", word]);
      assert.equal(run.code, 2);
      assert.doesNotMatch(run.stderr, /help help/);
      if (hint) assert.match(run.stderr, new RegExp(`did you mean orchwf-migrate help ${hint}\\?`));
      else assert.match(run.stderr, /run orchwf-migrate help for the list of commands/);
    }
  });

  test("a command refuses the global options it does not use instead of ignoring them", LONG, async () => {
    const dir = migrations(1);
    for (const command of [["squash", "--to", "001"], ["validate"], ["lint"], ["create", "x"]]) {
      const run = await cli([...command, "--dir", dir, "--db", "postgres://u@127.0.0.1:1/db"]);
      assert.equal(run.code, 2, `${command[0]}: ${run.stderr}`);
      assert.match(run.stderr, new RegExp(`${command[0]} does not use --db`));
    }
    // Through the environment it is not an error: a .env with DATABASE_URL is common and harmless.
    const env = await runWith(bunRunner, ["validate", "--dir", dir], { env: cleanEnv({ ORCHWF_DB_URL: "postgres://u@127.0.0.1:1/db" }) });
    assert.equal(env.code, 0, env.stderr);
  });
});

describe("messages name CLI options", () => {
  test("baseline --from names --from-table and --schema, never the library's option names", LONG, async () => {
    const run = await cli(["baseline", "--from", "dbmate", "--dir", migrations(1), "--db", "pglite:memory"]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /--from-table NAME and --schema NAME/);
    assert.doesNotMatch(run.stderr, /library|allowGaps|lockTimeoutMs/);
  });

  test("a modified migration blocks up with --allow-drift named, not allowDrift", LONG, async () => {
    const dir = migrations(1);
    const data = join(base, `drift-${Date.now()}`);
    assert.equal((await cli(["up", "--dir", dir, "--db", `pglite:${data}`])).code, 0);
    writeFileSync(join(dir, "001_t001.up.sql"), "CREATE TABLE t001 (id bigint);\n");
    const run = await cli(["up", "--dir", dir, "--db", `pglite:${data}`]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /--allow-drift/);
    assert.doesNotMatch(run.stderr, /allowDrift|library/);
  });
});

describe("completions keep their texts", () => {
  test("zsh and fish quote apostrophes and colons; an alias reads `alias of up`, never an alias of itself", LONG, async () => {
    const zsh = (await cli(["completion", "zsh"])).stdout;
    assert.ok(zsh.includes(`PostgreSQL'\\''s grammar`), "zsh keeps the apostrophe");
    assert.ok(zsh.includes("postgres://…"), "zsh keeps the colon of a URL");
    assert.ok(zsh.includes(`'migrate:alias of up'`));
    assert.doesNotMatch(zsh, /'migrate:[^']*alias: migrate/);
    const fish = (await cli(["completion", "fish"])).stdout;
    assert.ok(fish.includes(`PostgreSQL\\'s grammar`), "fish keeps the apostrophe");
    assert.ok(fish.includes("-a migrate -d 'alias of up'"));
    assert.ok(fish.includes("postgres://…"));
    // Where the shell is installed, it parses the script.
    for (const [shell, args] of [["zsh", ["-n"]], ["fish", ["--no-execute"]]] as const) {
      const check = spawnSync(shell, args, { input: shell === "zsh" ? zsh : fish, encoding: "utf8" });
      if (check.error) continue; // not installed here
      assert.equal(check.status, 0, `${shell}: ${check.stderr}`);
    }
  });
});

describe("a closed stdout", () => {
  test("up | head -1: the reader leaves after one line; every migration still applies, no EPIPE trace, exit 0", LONG, async () => {
    const dir = migrations(25);
    const data = join(base, "epipe");
    // Under Node, where an unhandled EPIPE used to end the process after the first migrations (Bun ignores it).
    const args = ["--import", "tsx", join(root, "src/cli/bin.ts"), "up", "--dir", dir, "--db", `pglite:${data}`];
    const child = spawn("node", args, { cwd: root, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => (stderr += chunk));
    await new Promise<void>((resolve) => child.stdout.once("data", () => resolve()));
    child.stdout.destroy(); // what `head -1` does once it has its line
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    assert.equal(code, 0, stderr);
    assert.doesNotMatch(stderr, /EPIPE|at .*\.ts:\d+/);
    const status = await cli(["status", "--dir", dir, "--db", `pglite:${data}`, "--json"]);
    assert.equal(JSON.parse(status.stdout).migrations.filter((m: { state: string }) => m.state === "applied").length, 25);
  });
});
