/**
 * `${name}` placeholders, through the real CLI on a real PostgreSQL server, in our format (opt-in with
 * `-- orchwf:placeholders`) and in Flyway's (always on, as Flyway does): a missing value applies nothing and names
 * file, line and placeholder; `--var` and the environment give values; `$${` is a literal `${` (ours); the checksum
 * is over the file as written, so another value is not drift; `up --dry-run` shows the substituted SQL; files that
 * do not opt in are sent exactly as written.
 */
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, test } from "node:test";
import { checksum, MigrationError, Migrator, substitutePlaceholders } from "../src/mod.ts";
import { bunRunner, cleanEnv, runWith } from "./helpers/cli.ts";
import { engines, postgresEngine, type TestDatabase } from "./helpers/engines.ts";
import { migrationDir } from "./fixtures/spawn-runner.ts";

const LONG = { timeout: 180_000 };
const cli = (args: string[], env: Record<string, string> = {}) => runWith(bunRunner, args, { env: cleanEnv(env) });

const dirs: string[] = [];
const dbs: TestDatabase[] = [];
function dir(files: Record<string, string>): string {
  const d = migrationDir(files);
  dirs.push(d);
  return d;
}
async function server(t: { skip(why: string): void }): Promise<TestDatabase | undefined> {
  if (!(await postgresEngine.available())) {
    t.skip("no PostgreSQL server here");
    return undefined;
  }
  const d = await postgresEngine.open();
  dbs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  for (const db of dbs.splice(0)) await db.close();
});

async function versions(d: TestDatabase): Promise<string[]> {
  const exists = await d.query<{ t: string | null }>("SELECT to_regclass('orchwf_migrations')::text AS t");
  if (exists[0].t === null) return [];
  return (await d.query<{ version: string }>("SELECT version FROM orchwf_migrations ORDER BY version")).map((r) => r.version);
}
async function tables(d: TestDatabase): Promise<string[]> {
  return (await d.query<{ n: string }>("SELECT table_schema || '.' || table_name AS n FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_name <> 'orchwf_migrations' ORDER BY 1")).map((r) => r.n);
}

const OURS = {
  "001_things.up.sql": "-- orchwf:placeholders\n" +
    "CREATE TABLE ${table_name} (id int, note text DEFAULT 'by ${orchwf:user} in ${orchwf:database}.${orchwf:schema}; literal $${kept}');\n" +
    "CREATE FUNCTION js_like() RETURNS text LANGUAGE sql AS $$ SELECT '${ a + b }'::text $$;\n",
  "001_things.down.sql": "-- orchwf:placeholders\nDROP FUNCTION js_like();\nDROP TABLE ${table_name};\n",
  "002_plain.up.sql": "CREATE TABLE plain (v text DEFAULT '${table_name} stays');\n",
  "002_plain.down.sql": "DROP TABLE plain;\n",
};

describe("placeholders in our format (-- orchwf:placeholders)", () => {
  test("a missing value applies nothing and names file:line and the placeholder; --var makes it apply; escape and built-ins", LONG, async (t) => {
    const d = await server(t);
    if (!d) return;
    const migrations = dir(OURS);
    const missing = await cli(["up", "--db", d.url!, "--dir", migrations]);
    assert.equal(missing.code, 1, missing.stderr);
    assert.ok(missing.stderr.includes(`${join(migrations, "001_things.up.sql")}:2: placeholder \${table_name} has no value; nothing was applied`), missing.stderr);
    assert.match(missing.stderr, /--var table_name=VALUE/);
    assert.deepEqual(await versions(d), []);
    assert.deepEqual(await tables(d), []);
    const json = await cli(["up", "--db", d.url!, "--dir", migrations, "--json"]);
    assert.equal(JSON.parse(json.stdout).error.code, "MISSING_PLACEHOLDER");

    const dry = await cli(["up", "--db", d.url!, "--dir", migrations, "--dry-run", "--var", "table_name=things"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /\nCREATE TABLE things \(id int, note text DEFAULT 'by postgres in orchwf_test_\w+\.public; literal \$\{kept\}'\);/);
    assert.match(dry.stdout, /'\$\{table_name\} stays'/, "a file without the directive is shown as written");
    assert.deepEqual(await versions(d), []);

    const applied = await cli(["up", "--db", d.url!, "--dir", migrations, "--var", "table_name=things", "--var", "unused=1"]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.deepEqual(await tables(d), ["public.plain", "public.things"]);
    const [defaults] = await d.query<{ note: string; plain: string; js: string }>(
      "SELECT (SELECT column_default FROM information_schema.columns WHERE table_name = 'things' AND column_name = 'note') AS note, " +
        "(SELECT column_default FROM information_schema.columns WHERE table_name = 'plain') AS plain, js_like() AS js",
    );
    assert.match(defaults.note, /^'by postgres in orchwf_test_\w+\.public; literal \$\{kept\}'::text$/);
    assert.equal(defaults.plain, "'${table_name} stays'::text", "files that do not opt in are sent exactly as written");
    assert.equal(defaults.js, "${ a + b }", "a ${ that is not a placeholder name stays as it is");

    // The checksum is over the file as written: another value is not drift, status and up stay quiet.
    const [row] = await d.query<{ checksum: string }>("SELECT checksum FROM orchwf_migrations WHERE version = '001'");
    assert.equal(row.checksum, checksum(readFileSync(join(migrations, "001_things.up.sql"), "utf8")));
    const status = JSON.parse((await cli(["status", "--db", d.url!, "--dir", migrations, "--json"], { ORCHWF_VAR_table_name: "other" })).stdout);
    assert.deepEqual(status.migrations.map((m: { state: string }) => m.state), ["applied", "applied"]);
    const again = await cli(["up", "--db", d.url!, "--dir", migrations, "--var", "table_name=other"]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /nothing to apply/);

    // down substitutes too (the value of this run: the table is the one made).
    const down = await cli(["down", "--all", "--db", d.url!, "--dir", migrations], { ORCHWF_VAR_table_name: "things" });
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(await tables(d), []);
  });

  test("ORCHWF_VAR_name (also from .env) gives the value; --var wins over it; a bad --var is a usage error", LONG, async (t) => {
    const d = await server(t);
    if (!d) return;
    const migrations = dir(OURS);
    const bad = await cli(["up", "--db", d.url!, "--dir", migrations, "--var", "no-equals-sign"]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--var "no-equals-sign": expected NAME=VALUE/);
    const run = await cli(["up", "--db", d.url!, "--dir", migrations, "--var", "table_name=from_flag"], { ORCHWF_VAR_table_name: "from_env" });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await tables(d), ["public.from_flag", "public.plain"]);
    const d2 = await server(t);
    const viaEnv = await cli(["up", "--db", d2!.url!, "--dir", migrations], { ORCHWF_VAR_table_name: "from_env" });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.deepEqual(await tables(d2!), ["public.from_env", "public.plain"]);
    const d3 = await server(t);
    const cwd = dir({});
    writeFileSync(join(cwd, ".env"), "ORCHWF_VAR_table_name=from_dotenv\n");
    const viaDotEnv = await runWith(bunRunner, ["up", "--db", d3!.url!, "--dir", migrations], { cwd, env: cleanEnv() });
    assert.equal(viaDotEnv.code, 0, viaDotEnv.stderr);
    assert.deepEqual(await tables(d3!), ["public.from_dotenv", "public.plain"]);
  });
});

describe("placeholders in Flyway files (as Flyway replaces them)", () => {
  const FLYWAY = {
    "V1__init.sql": "CREATE SCHEMA ${schema_name};\nCREATE TABLE ${schema_name}.t (id int, who text DEFAULT '${flyway:user} ran ${flyway:filename}');\n",
    "U1__init.sql": "DROP SCHEMA ${schema_name} CASCADE;\n",
    "V2__raw.sql": "-- flyway:placeholderReplacement=false\nCREATE TABLE raw (v text DEFAULT '${not_replaced}');\n",
  };

  test("missing: nothing applied, file:line and name; --var, ORCHWF_VAR_ and FLYWAY_PLACEHOLDERS_ give it; checksum as written", LONG, async (t) => {
    const d = await server(t);
    if (!d) return;
    const migrations = dir(FLYWAY);
    const missing = await cli(["up", "--db", d.url!, "--dir", migrations]);
    assert.equal(missing.code, 1, missing.stderr);
    assert.ok(missing.stderr.includes(`${join(migrations, "V1__init.sql")}:1: placeholder \${schema_name} has no value`), missing.stderr);
    assert.match(missing.stderr, /FLYWAY_PLACEHOLDERS_SCHEMA_NAME/);
    assert.deepEqual(await versions(d), []);

    const applied = await cli(["up", "--db", d.url!, "--dir", migrations, "--var", "schema_name=app"]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.deepEqual(await tables(d), ["app.t", "public.raw"]);
    const [row] = await d.query<{ who: string; raw: string }>(
      "SELECT (SELECT column_default FROM information_schema.columns WHERE table_name = 't' AND column_name = 'who') AS who, (SELECT column_default FROM information_schema.columns WHERE table_name = 'raw') AS raw",
    );
    assert.equal(row.who, "'postgres ran V1__init.sql'::text");
    assert.equal(row.raw, "'${not_replaced}'::text", "placeholderReplacement=false: sent as written");
    const [sum] = await d.query<{ checksum: string }>("SELECT checksum FROM orchwf_migrations WHERE version = '1'");
    assert.equal(sum.checksum, checksum(FLYWAY["V1__init.sql"]));
    const status = JSON.parse((await cli(["status", "--db", d.url!, "--dir", migrations, "--json"], { ORCHWF_VAR_schema_name: "elsewhere" })).stdout);
    assert.deepEqual(status.migrations.map((m: { state: string }) => m.state), ["applied", "applied"]);

    for (const env of [{ ORCHWF_VAR_schema_name: "by_ours" }, { FLYWAY_PLACEHOLDERS_SCHEMA_NAME: "by_flyway" }]) {
      const other = await server(t);
      const run = await cli(["up", "--db", other!.url!, "--dir", migrations, "--to", "1"], env);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(await tables(other!), [`${Object.values(env)[0]}.t`]);
    }
  });
});

for (const engine of engines) {
  describe(`placeholders in the library on ${engine.name}`, () => {
    test("the placeholders option; a missing one applies nothing; checks get them too", LONG, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const d = await engine.open();
      dbs.push(d);
      const migrations = [
        { version: "1", description: "a", up: "CREATE TABLE a (id int);" },
        {
          version: "2",
          description: "b",
          up: "CREATE TABLE ${name} (id int);",
          placeholders: "orchwf" as const,
          checks: [{ sql: "(SELECT count(*) FROM a) = ${expected}", line: 1 }],
        },
      ];
      await assert.rejects(new Migrator(d.db, { migrations, placeholders: { name: "b" } }).migrate(), (err: unknown) => {
        assert.ok(err instanceof MigrationError);
        assert.equal(err.code, "MISSING_PLACEHOLDER");
        assert.match(err.message, /^migration 2 \(up\):1: placeholder \$\{expected\} has no value/);
        return true;
      });
      assert.deepEqual(await versions(d), [], "not even the migration before it ran: every placeholder is resolved first");
      assert.throws(() => new Migrator(d.db, { migrations, placeholders: { "orchwf:user": "x" } }), /invalid placeholder name "orchwf:user"/);
      const { applied } = await new Migrator(d.db, { migrations, placeholders: { name: "b", expected: "0" } }).migrate();
      assert.deepEqual(applied.map((r) => r.version), ["1", "2"]);
    });
  });
}

describe("substitutePlaceholders (pure)", () => {
  test("our syntax: names only, escape, line of a missing one; Flyway's: every ${…}, no escape", () => {
    const where = { file: "f.sql" };
    assert.equal(substitutePlaceholders("a ${x} $${x} ${ x } ${1x}", "orchwf", { x: "1" }, where), "a 1 ${x} ${ x } ${1x}");
    assert.throws(() => substitutePlaceholders("\n\n${y}", "orchwf", {}, where), /^MigrationError: f\.sql:3: placeholder \$\{y\}/);
    assert.equal(substitutePlaceholders("${x} $${x}", "flyway", { x: "1" }, where), "1 $1");
    assert.throws(() => substitutePlaceholders("${ a + b }", "flyway", {}, where), /placeholder \$\{ a \+ b \} has no value/);
    assert.equal(substitutePlaceholders("${Name}", "flyway", { name: "v" }, where), "v", "Flyway's environment variables arrive in lower case");
  });
});

describe("validate and lint read files with placeholders", () => {
  test("placeholders parse as identifiers of the same length: no false syntax error, real ones keep their line and column", LONG, async () => {
    const migrations = dir({
      "001_a.up.sql": "-- orchwf:placeholders\nCREATE TABLE ${t} (id int, note text DEFAULT '$${x}');\nGRANT SELECT ON ${t} TO ${orchwf:user};\n",
      "002_b.up.sql": "-- orchwf:placeholders\nCREATE TABLE ${t}_b (id int);\nSELEC ${t};\n",
    });
    const run = await cli(["validate", "--dir", migrations]);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const out = run.stdout + run.stderr;
    assert.ok(out.includes(`${join(migrations, "002_b.up.sql")}:3:1`), out);
    assert.ok(!out.includes("001_a.up.sql"), out);
    const lint = JSON.parse((await cli(["lint", "--dir", migrations, "--json"])).stdout);
    assert.deepEqual(lint.findings.map((f: { rule: string; file: string; line: number }) => `${f.rule} ${f.file.replace(/^.*\//, "")}:${f.line}`), ["syntax-error 002_b.up.sql:3"]);
  });
});

describe("verify, dump and drift replay with the same values", () => {
  test("--var reaches verify's and dump's replays; squash refuses; drift compares with a replay of the values given", LONG, async (t) => {
    const migrations = dir(OURS);
    const verify = await cli(["verify", "--dir", migrations, "--var", "table_name=vt"]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    const dump = await cli(["dump", "--from", "files", "--dir", migrations, "--var", "table_name=dumped"]);
    assert.equal(dump.code, 0, dump.stderr);
    assert.match(dump.stdout, /CREATE TABLE public\.dumped /);
    const squash = await cli(["squash", "--to", "002", "--dir", migrations]);
    assert.equal(squash.code, 1, squash.stderr);
    assert.match(squash.stderr, /001_things\.up\.sql: migration 001 has \$\{…\} placeholders; squash cannot fold it/);
    const missing = await cli(["dump", "--from", "files", "--dir", migrations]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /placeholder \$\{table_name\} has no value/);

    // Built-ins are those of the database a replay runs on (PGlite's is "postgres"): drift is shown without them.
    const d = await server(t);
    if (!d) return;
    const plain = dir({ "001_t.up.sql": "-- orchwf:placeholders\nCREATE TABLE ${table_name} (id int, note text DEFAULT '$${kept}');\n" });
    assert.equal((await cli(["up", "--db", d.url!, "--dir", plain, "--var", "table_name=live"])).code, 0);
    const same = await cli(["drift", "--db", d.url!, "--dir", plain, "--var", "table_name=live"]);
    assert.equal(same.code, 0, same.stdout + same.stderr);
    const other = await cli(["drift", "--db", d.url!, "--dir", plain], { ORCHWF_VAR_table_name: "elsewhere" });
    assert.equal(other.code, 1, other.stdout + other.stderr);
    assert.match(other.stdout, /elsewhere/);
  });
});

describe("goose's environment substitution (-- +goose ENVSUB ON)", () => {
  test("pure: only between ON and OFF; ${NAME}, $NAME, defaults, $$ as goose reads them; a missing one names file:line", () => {
    const where = { file: "g.sql" };
    const text = "SELECT '${A}';\n-- +goose ENVSUB ON\nSELECT '${A}', '$A', '${B:-bee}', '${C-cee}', '${E:-}', '$$';\n-- +goose ENVSUB OFF\nSELECT '${A}';\n";
    assert.equal(
      substitutePlaceholders(text, "goose", { A: "a", E: "" }, where),
      "SELECT '${A}';\n-- +goose ENVSUB ON\nSELECT 'a', 'a', 'bee', 'cee', '', '$';\n-- +goose ENVSUB OFF\nSELECT '${A}';\n",
    );
    assert.equal(substitutePlaceholders("-- +goose ENVSUB ON\nSELECT '${R}';", "goose", { "env:R": "from env" }, where), "-- +goose ENVSUB ON\nSELECT 'from env';");
    assert.throws(() => substitutePlaceholders("\n-- +goose ENVSUB ON\nSELECT 1;\nSELECT '${MISSING}';", "goose", {}, where), (err: unknown) => {
      assert.ok(err instanceof MigrationError);
      assert.equal(err.code, "MISSING_PLACEHOLDER");
      assert.match(err.message, /^g\.sql:4: placeholder \$\{MISSING\} has no value; nothing was applied.*the environment variable MISSING \(as goose reads it\)/);
      return true;
    });
  });

  test("a goose directory: ON above -- +goose Up reaches the up and the down; the environment gives the value, as goose; missing applies nothing", LONG, async (t) => {
    const d = await server(t);
    if (!d) return;
    const migrations = dir({
      "00001_region.sql": "-- +goose ENVSUB ON\n-- +goose Up\nCREATE TABLE regions (name text DEFAULT '${REGION}');\n-- +goose Down\nDROP TABLE regions; -- ${REGION}\n",
      "00002_plain.sql": "-- +goose Up\nCREATE TABLE plain (v text DEFAULT '${REGION} stays');\n-- +goose Down\nDROP TABLE plain;\n",
    });
    const missing = await cli(["up", "--db", d.url!, "--dir", migrations]);
    assert.equal(missing.code, 1, missing.stderr);
    assert.ok(missing.stderr.includes(`${join(migrations, "00001_region.sql")}:3: placeholder \${REGION} has no value`), missing.stderr);
    assert.deepEqual(await versions(d), []);
    const applied = await cli(["up", "--db", d.url!, "--dir", migrations], { REGION: "us_east_1" });
    assert.equal(applied.code, 0, applied.stderr);
    const [row] = await d.query<{ a: string; b: string }>(
      "SELECT (SELECT column_default FROM information_schema.columns WHERE table_name = 'regions') AS a, (SELECT column_default FROM information_schema.columns WHERE table_name = 'plain') AS b",
    );
    assert.equal(row.a, "'us_east_1'::text");
    assert.equal(row.b, "'${REGION} stays'::text");
    const down = await cli(["down", "--all", "--db", d.url!, "--dir", migrations], { REGION: "us_east_1" });
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(await tables(d), []);
  });
});
