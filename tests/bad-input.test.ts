/**
 * Bad input, table-driven: every case asserts the error code, the message (file, version, line:column where it
 * applies) and that the database is unchanged (catalog and version table as before). Runs on PGlite and on
 * PostgreSQL 15, each engine with one database shared by all cases: a case that changed anything would show up.
 * Also: odd schema and table names are quoted everywhere (no SQL injection through them).
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import postgres from "postgres";
import { type ErrorCode, loadMigrations, type Migration, MigrationError, Migrator, SqlError } from "../src/mod.ts";
import { catalog } from "./helpers/catalog.ts";
import { type Engine, engines, type TestDatabase } from "./helpers/engines.ts";
import { migrationDir } from "./fixtures/spawn-runner.ts";

const BASE_UP = "CREATE TABLE base (id int);\n";
const BASE = { "001_base.up.sql": BASE_UP, "001_base.down.sql": "DROP TABLE base;\n" };

interface Ctx {
  d: TestDatabase;
  dir: string;
  /** A Migrator on the case's directory. */
  migrator(options?: Record<string, unknown>): Promise<Migrator>;
}

interface Case {
  name: string;
  /** Files of the migrations directory; BASE is included unless `noBase`. */
  files?: Record<string, string | Uint8Array>;
  noBase?: boolean;
  /** What to do; default: load the directory and migrate(). */
  act?: (ctx: Ctx) => Promise<unknown> | unknown;
  setup?: (d: TestDatabase) => Promise<unknown>;
  teardown?: (d: TestDatabase) => Promise<unknown>;
  code: ErrorCode;
  /** Fragments the message must contain ({dir} is replaced by the directory). */
  message: string[];
  version?: string;
  /** File named by the error, relative to the directory. */
  file?: string;
  /** Line and column (1-based) of a SQL error. */
  at?: [number, number];
  sqlState?: string;
  /** Text that must not appear anywhere in the error. */
  secret?: string;
}

const code = (up: string): Migration => ({ version: "002", description: "x", up });
const withMigrations = (list: unknown[]) => (ctx: Ctx) => new Migrator(ctx.d.db, { migrations: list as Migration[] });
const migrateTo = (to: string) => async (ctx: Ctx) => (await ctx.migrator()).migrate({ to });
const rollback = (options: Record<string, unknown>) => async (ctx: Ctx) => (await ctx.migrator()).rollback(options);
const insertVersion = (v: string) => (d: TestDatabase) => d.query(`INSERT INTO orchwf_migrations (version, description) VALUES ('${v}', 'elsewhere')`);
const deleteVersion = (v: string) => (d: TestDatabase) => d.query(`DELETE FROM orchwf_migrations WHERE version = '${v}'`);

const CASES: Case[] = [
  // --- file names ---
  { name: "file name without a name part", files: { "002_.up.sql": "SELECT 1;" }, code: "BAD_FILE_NAME", message: ["{dir}/002_.up.sql: bad migration file name", "VERSION_name.up.sql"], file: "002_.up.sql" },
  { name: "file name without a version", files: { "create_users.up.sql": "SELECT 1;" }, code: "BAD_FILE_NAME", message: ["{dir}/create_users.up.sql: bad migration file name"], file: "create_users.up.sql" },
  { name: "file name with a dash", files: { "002-add.up.sql": "SELECT 1;" }, code: "BAD_FILE_NAME", message: ["{dir}/002-add.up.sql"], file: "002-add.up.sql" },
  { name: "file name without direction", files: { "002_add.sql": "SELECT 1;" }, code: "BAD_FILE_NAME", message: ["{dir}/002_add.sql"], file: "002_add.sql" },
  { name: "file name with an upper-case direction", files: { "002_add.UP.sql": "SELECT 1;" }, code: "BAD_FILE_NAME", message: ["{dir}/002_add.UP.sql"], file: "002_add.UP.sql" },
  { name: "file name with a letter in the version", files: { "v002_add.up.sql": "SELECT 1;" }, code: "BAD_FILE_NAME", message: ["{dir}/v002_add.up.sql"], file: "v002_add.up.sql" },
  { name: "file name with a negative version", files: { "-2_add.up.sql": "SELECT 1;" }, code: "BAD_FILE_NAME", message: ["{dir}/-2_add.up.sql"], file: "-2_add.up.sql" },
  // --- versions twice ---
  { name: "a version twice", files: { "002_a.up.sql": "SELECT 1;", "002_b.up.sql": "SELECT 2;" }, code: "DUPLICATE_VERSION", message: ["version 002 is defined twice: {dir}/002_a.up.sql and {dir}/002_b.up.sql"], version: "002", file: "002_b.up.sql" },
  { name: "\"001\" and \"1\" are the same version", files: { "1_base_again.up.sql": "SELECT 1;" }, code: "DUPLICATE_VERSION", message: ["is defined twice", "{dir}/001_base.up.sql", "{dir}/1_base_again.up.sql"] },
  { name: "\"002\" and \"0002\" are the same version", files: { "002_a.up.sql": "SELECT 1;", "0002_a.up.sql": "SELECT 1;" }, code: "DUPLICATE_VERSION", message: ["is defined twice", "{dir}/0002_a.up.sql", "{dir}/002_a.up.sql"] },
  { name: "up and down files with different names", files: { "002_a.up.sql": "SELECT 1;", "002_b.down.sql": "SELECT 1;" }, code: "DUPLICATE_VERSION", message: ["version 002 is defined twice: {dir}/002_a.up.sql and {dir}/002_b.down.sql"] },
  { name: "the same version twice in code", act: withMigrations([{ version: "1", description: "a", up: "SELECT 1" }, { version: "001", description: "b", up: "SELECT 1" }]), code: "DUPLICATE_VERSION", message: ["version 001 is defined twice: version 1 and version 001"], version: "001" },
  // --- pairs and empty files ---
  { name: "down without up", files: { "002_a.down.sql": "SELECT 1;" }, code: "INVALID_MIGRATION", message: ["{dir}/002_a.down.sql: down migration without its up file 002_a.up.sql"], version: "002", file: "002_a.down.sql" },
  { name: "non-UTF-8 file", files: { "002_a.up.sql": new Uint8Array([...new TextEncoder().encode("SELECT 1;\nSELECT '"), 0xff, 0xfe, ...new TextEncoder().encode("';\n")]) }, code: "INVALID_MIGRATION", message: ["{dir}/002_a.up.sql:2: the file is not valid UTF-8"], file: "002_a.up.sql" },
  { name: "missing directory", noBase: true, act: () => loadMigrations("/nonexistent/orchwf/migrations"), code: "UNREADABLE_FILE", message: ["cannot read migrations directory /nonexistent/orchwf/migrations: it does not exist"] },
  // --- directives ---
  { name: "unknown directive", files: { "002_a.up.sql": "-- orchwf:no-transactoin\nCREATE INDEX CONCURRENTLY i ON base (id);\n" }, code: "INVALID_MIGRATION", message: ["{dir}/002_a.up.sql:1: unknown directive \"-- orchwf:no-transactoin\""], file: "002_a.up.sql" },
  { name: "directive with an argument it does not take", files: { "002_a.up.sql": "-- orchwf:no-transaction please\nSELECT 1;\n" }, code: "INVALID_MIGRATION", message: ["{dir}/002_a.up.sql:1: unknown directive"] },
  { name: "description directive without text", files: { "002_a.up.sql": "-- a comment\n-- orchwf:description\nSELECT 1;\n" }, code: "INVALID_MIGRATION", message: ["{dir}/002_a.up.sql:2: unknown directive \"-- orchwf:description\""] },
  { name: "COMMIT in the middle of a transactional migration", files: { "002_a.up.sql": "CREATE TABLE a (id int);\nCOMMIT;\nCREATE TABLE b (id int);\n" }, code: "INVALID_MIGRATION", message: ["{dir}/002_a.up.sql:2:1: \"COMMIT\" would end the transaction", "orchwf:no-transaction"], file: "002_a.up.sql" },
  // --- migrations in code ---
  { name: "version with letters", act: withMigrations([{ version: "v1", description: "x", up: "SELECT 1" }]), code: "INVALID_MIGRATION", message: ["version \"v1\" must be a string of digits"] },
  { name: "empty version", act: withMigrations([{ version: "", description: "x", up: "SELECT 1" }]), code: "INVALID_MIGRATION", message: ["version \"\" must be a string of digits"] },
  { name: "version with a space", act: withMigrations([{ version: " 2", description: "x", up: "SELECT 1" }]), code: "INVALID_MIGRATION", message: ["version \" 2\" must be a string of digits"] },
  { name: "version as a number", act: withMigrations([{ version: 2, description: "x", up: "SELECT 1" }]), code: "INVALID_MIGRATION", message: ["version 2 must be a string of digits"] },
  { name: "up that is not a string", act: withMigrations([{ version: "2", description: "x", up: 42 }]), code: "INVALID_MIGRATION", message: ["migration 2 has no up script (a string of SQL)"], version: "2" },
  { name: "down that is not a string", act: withMigrations([{ version: "2", description: "x", up: "SELECT 1", down: 7 }]), code: "INVALID_MIGRATION", message: ["the down script of migration 2 must be a string of SQL"], version: "2" },
  // --- unsupported driver objects ---
  { name: "a plain object as database", act: () => new Migrator({}), code: "UNSUPPORTED_DRIVER", message: ["unsupported database client (an instance of Object); expected one of: a postgres.js `sql`", "a PGlite instance", "Bun SQL", "node-postgres Pool"] },
  { name: "null as database", act: () => new Migrator(null as never), code: "UNSUPPORTED_DRIVER", message: ["unsupported database client (null)"] },
  { name: "a URL string as database (password not shown)", act: () => new Migrator("postgres://app:Secret-In-Url@db/app" as never), code: "UNSUPPORTED_DRIVER", message: ["unsupported database client (a string: pass a client"], secret: "Secret-In-Url" },
  { name: "a Map as database", act: () => new Migrator(new Map()), code: "UNSUPPORTED_DRIVER", message: ["unsupported database client (an instance of Map)"] },
  { name: "a function as database", act: () => new Migrator((() => 1) as never), code: "UNSUPPORTED_DRIVER", message: ["unsupported database client (a function)"] },
  { name: "unreachable server (password not shown)", act: async () => {
      const sql = postgres("postgres://app:Unreachable-Pw@127.0.0.1:1/app", { max: 1, connect_timeout: 5 });
      try { return await new Migrator(sql).migrate(); } finally { await sql.end({ timeout: 1 }); }
    }, code: "CONNECTION_FAILED", message: ["cannot connect to the database:", "ECONNREFUSED"], secret: "Unreachable-Pw" },
  // --- options ---
  { name: "empty table name", act: async (ctx) => ctx.migrator({ table: "" }), code: "USAGE", message: ["invalid table name \"\""] },
  { name: "table name longer than 63 bytes", act: async (ctx) => ctx.migrator({ table: "t".repeat(64) }), code: "USAGE", message: ["invalid table name", "1 to 63 bytes"] },
  { name: "table name with NUL", act: async (ctx) => ctx.migrator({ table: "a\0b" }), code: "USAGE", message: ["invalid table name \"a\\u0000b\""] },
  { name: "empty schema name", act: async (ctx) => ctx.migrator({ schema: "" }), code: "USAGE", message: ["invalid schema name \"\""] },
  { name: "negative lockTimeoutMs", act: async (ctx) => ctx.migrator({ lockTimeoutMs: -1 }), code: "USAGE", message: ["lockTimeoutMs must be a positive number of milliseconds, not -1"] },
  { name: "NaN lockTimeoutMs", act: async (ctx) => ctx.migrator({ lockTimeoutMs: NaN }), code: "USAGE", message: ["lockTimeoutMs must be a positive number of milliseconds, not NaN"] },
  // --- target versions ---
  { name: "migrate to a version that does not exist", act: migrateTo("5"), code: "UNKNOWN_VERSION", message: ["unknown version \"5\": no migration has that version"], version: "5" },
  { name: "migrate to a version that is not digits", act: migrateTo("latest"), code: "UNKNOWN_VERSION", message: ["unknown version \"latest\""] },
  { name: "roll back to a version that does not exist", act: rollback({ to: "7" }), code: "UNKNOWN_VERSION", message: ["unknown version \"7\""] },
  { name: "roll back 0 steps", act: rollback({ steps: 0 }), code: "USAGE", message: ["rollback steps must be a whole number of at least 1, not 0"] },
  { name: "roll back -1 steps", act: rollback({ steps: -1 }), code: "USAGE", message: ["not -1"] },
  { name: "roll back 1.5 steps", act: rollback({ steps: 1.5 }), code: "USAGE", message: ["not 1.5"] },
  { name: "resolve with an unknown outcome", act: async (ctx) => (await ctx.migrator()).resolve("001", "done" as never), code: "USAGE", message: ["the outcome must be \"applied\" or \"rolled-back\""] },
  { name: "resolve a version that is not recorded", act: async (ctx) => (await ctx.migrator()).resolve("042", "applied"), code: "UNKNOWN_VERSION", message: ["version \"042\" is not recorded in \"public\".\"orchwf_migrations\"; nothing to resolve"] },
  // --- rolling back ---
  { name: "up without down when rolling back", noBase: true, files: { "001_base.up.sql": BASE_UP }, act: rollback({}), code: "MISSING_DOWN", message: ["migration 001 (base) has no down script ({dir}/001_base.down.sql does not exist); nothing was rolled back"], version: "001", file: "001_base.down.sql" },
  { name: "unknown version in the database", setup: insertVersion("999"), teardown: deleteVersion("999"), act: rollback({}), code: "UNKNOWN_VERSION", message: ["version 999 is recorded as applied but no migration has that version"], version: "999" },
  { name: "version that is not digits in the database", setup: insertVersion("abc"), teardown: deleteVersion("abc"), act: rollback({}), code: "VERSION_TABLE", message: ["has a row with version \"abc\", which is not a version"], version: "abc" },
  { name: "missing table in a down script", noBase: true, files: { "001_base.up.sql": BASE_UP, "001_base.down.sql": "DROP TABLE base;\nDELETE FROM missing_table;\n" }, act: rollback({}), code: "SQL_ERROR", message: ["migration 001 failed at {dir}/001_base.down.sql:2:13: relation \"missing_table\" does not exist (SQLSTATE 42P01)", "> 2 | DELETE FROM missing_table;"], version: "001", file: "001_base.down.sql", at: [2, 13], sqlState: "42P01" },
  // --- SQL errors: line and column in the file ---
  { name: "syntax error", files: { "002_a.up.sql": "CREATE TABLE s1 (id int);\nCREAT TABLE s2 (id int);\n" }, code: "SQL_ERROR", message: ["migration 002 failed at {dir}/002_a.up.sql:2:1: syntax error at or near \"CREAT\"", "nothing was applied", "(SQLSTATE 42601)"], version: "002", file: "002_a.up.sql", at: [2, 1], sqlState: "42601" },
  { name: "syntax error after line and block comments with semicolons", files: { "002_a.up.sql": "-- leading comment; with a semicolon\n/* block\n   comment; */\nCREATE TABLE s1 (id int); -- trailing\nSELECT 1 +;\n" }, code: "SQL_ERROR", message: ["{dir}/002_a.up.sql:5:11: syntax error at or near \";\""], at: [5, 11], sqlState: "42601" },
  { name: "syntax error after dollar quotes and quoted semicolons", files: { "002_a.up.sql": "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$\nBEGIN\n  RETURN 1; -- ; inside\nEND;\n$body$;\nSELECT 'it''s; fine', $$ ; $$;\nCREATE TABLE t3 (id int,);\n" }, code: "SQL_ERROR", message: ["{dir}/002_a.up.sql:7:25: syntax error at or near \")\""], at: [7, 25], sqlState: "42601" },
  { name: "error in a file with CRLF line endings", files: { "002_a.up.sql": "CREATE TABLE a (id int);\r\n\r\nCREATE TABLE b (id intt);\r\n" }, code: "SQL_ERROR", message: ["{dir}/002_a.up.sql:3:20: type \"intt\" does not exist (SQLSTATE 42704)"], at: [3, 20], sqlState: "42704" },
  { name: "error after multi-byte characters on the same line and before", files: { "002_a.up.sql": "-- 日本語のコメント 😀 é\nSELECT 'é日本😀' AS x, nope_col FROM base;\n" }, code: "SQL_ERROR", message: ["{dir}/002_a.up.sql:2:21: column \"nope_col\" does not exist (SQLSTATE 42703)", "> 2 | SELECT 'é日本😀' AS x, nope_col FROM base;"], at: [2, 21], sqlState: "42703" },
  { name: "runtime error: a missing table", files: { "002_a.up.sql": "CREATE TABLE a (id int);\nINSERT INTO a VALUES (1);\nINSERT INTO nope VALUES (1);\n" }, code: "SQL_ERROR", message: ["{dir}/002_a.up.sql:3:13: relation \"nope\" does not exist (SQLSTATE 42P01)"], at: [3, 13], sqlState: "42P01" },
  { name: "runtime error inside a DO block: the line inside the block", files: { "002_a.up.sql": "CREATE TABLE d1 (id int);\nDO $$\nDECLARE n int;\nBEGIN\n  n := 1;\n  RAISE EXCEPTION 'boom %', n;\nEND\n$$;\n" }, code: "SQL_ERROR", message: ["{dir}/002_a.up.sql:6:3: boom 1 (SQLSTATE P0001)", "> 6 |   RAISE EXCEPTION 'boom %', n;"], at: [6, 3], sqlState: "P0001" },
  { name: "division by zero inside a DO block with a named dollar quote", files: { "002_a.up.sql": "DO $body$\nBEGIN\n  PERFORM 1;\n  PERFORM 1 / 0;\nEND\n$body$;\n" }, code: "SQL_ERROR", message: ["{dir}/002_a.up.sql:4:3: division by zero (SQLSTATE 22012)"], at: [4, 3], sqlState: "22012" },
  { name: "runtime error in the second of two DO blocks", files: { "002_a.up.sql": "DO $$ BEGIN PERFORM 1; END $$;\n\nDO $$\nBEGIN\n  PERFORM 1;\n  RAISE EXCEPTION 'second block';\nEND\n$$;\n" }, code: "SQL_ERROR", message: ["{dir}/002_a.up.sql:6:3: second block (SQLSTATE P0001)"], at: [6, 3], sqlState: "P0001" },
  { name: "syntax error inside a function body", files: { "002_a.up.sql": "CREATE TABLE a (id int);\nCREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\nBEGIN\n  RETURN 1 +;\nEND\n$$;\n" }, code: "SQL_ERROR", message: ["{dir}/002_a.up.sql:4:13: syntax error at end of input"], at: [4, 13], sqlState: "42601" },
  { name: "error raised in a function the migration calls (no line: the body may be elsewhere)", files: { "002_a.up.sql": "CREATE FUNCTION boom() RETURNS void LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'from boom'; END $$;\nSELECT boom();\n" }, code: "SQL_ERROR", message: ["migration 002 failed at {dir}/002_a.up.sql: from boom (SQLSTATE P0001)"], sqlState: "P0001" },
  { name: "runtime error without a position in a no-transaction statement", files: { "002_a.up.sql": "-- orchwf:no-transaction\n\n  CREATE TABLE base (id int);\nCREATE INDEX CONCURRENTLY base_id ON base (id);\n" }, code: "SQL_ERROR", message: ["{dir}/002_a.up.sql:3:3: relation \"base\" already exists (SQLSTATE 42P07)"], at: [3, 3], sqlState: "42P07" },
  { name: "a statement that cannot run in a transaction (refused before running)", files: { "002_a.up.sql": "CREATE INDEX CONCURRENTLY base_id ON base (id);\n" }, code: "INVALID_MIGRATION", message: ["nothing was applied", "{dir}/002_a.up.sql:1:1: CREATE INDEX CONCURRENTLY cannot run inside a transaction block", "put \"-- orchwf:no-transaction\" at the top of {dir}/002_a.up.sql"], version: "002", file: "002_a.up.sql" },
  { name: "error in the first statement of a no-transaction migration", files: { "002_a.up.sql": "-- orchwf:no-transaction\nSELECT nope FROM base;\nCREATE INDEX CONCURRENTLY base_id ON base (id);\n" }, code: "SQL_ERROR", message: ["{dir}/002_a.up.sql:2:8: column \"nope\" does not exist"], at: [2, 8], sqlState: "42703" },
  { name: "error in a migration in code (no file)", act: (ctx) => new Migrator(ctx.d.db, { migrations: [{ version: "001", description: "base", up: BASE_UP }, code("SELECT 1;\nSELEC 2;")] }).migrate(), code: "SQL_ERROR", message: ["migration 002 failed at migration 002 (up):2:1: syntax error at or near \"SELEC\""], at: [2, 1] },
];

/** Everything a case must leave as it was. */
async function state(d: TestDatabase): Promise<unknown> {
  return {
    catalog: await catalog(d),
    versions: await d.query("SELECT version, description, checksum, dirty, execution_ms FROM orchwf_migrations ORDER BY version"),
    schemas: await d.query("SELECT nspname FROM pg_namespace ORDER BY 1"),
  };
}

function expand(text: string, dir: string): string {
  return text.replaceAll("{dir}", dir);
}

function runCases(engine: Engine) {
  describe(`bad input on ${engine.name}`, () => {
    let d: TestDatabase | undefined;
    before(async () => {
      if (!(await engine.available())) return;
      d = await engine.open();
      await new Migrator(d.db, { migrations: [{ version: "001", description: "base", up: BASE_UP, down: "DROP TABLE base;\n" }] }).migrate();
    }, { timeout: 120_000 });
    after(async () => {
      await d?.close();
    });

    for (const c of CASES) {
      test(c.name, { timeout: 120_000 }, async (t) => {
        if (!d) return t.skip("no PostgreSQL server here");
        const dir = migrationDir(c.noBase ? (c.files ?? {}) : { ...BASE, ...(c.files ?? {}) });
        try {
          await c.setup?.(d);
          const before = await state(d);
          const ctx: Ctx = {
            d,
            dir,
            migrator: async (options = {}) => new Migrator(d!.db, { migrations: await loadMigrations(dir), ...options }),
          };
          const act = c.act ?? (async (x: Ctx) => (await x.migrator()).migrate());
          let error: unknown;
          try {
            await act(ctx);
          } catch (err) {
            error = err;
          }
          assert.ok(error instanceof MigrationError, `expected ${c.code}, got ${error instanceof Error ? error.stack : String(error)}`);
          assert.equal(error.code, c.code, error.message);
          for (const fragment of c.message) assert.ok(error.message.includes(expand(fragment, dir)), `"${expand(fragment, dir)}" not in:\n${error.message}`);
          if (c.version !== undefined) assert.equal(error.version, c.version);
          if (c.file !== undefined) assert.equal(error.file, join(dir, c.file));
          if (c.at) {
            assert.ok(error instanceof SqlError);
            assert.deepEqual([error.line, error.column], c.at, error.message);
          }
          if (c.sqlState) assert.equal((error as SqlError).sqlState, c.sqlState);
          if (c.secret) {
            for (const text of [error.message, String(error.stack), JSON.stringify(error), String(error.cause)]) {
              assert.ok(!text.includes(c.secret), `secret leaked: ${text}`);
            }
          }
          assert.deepEqual(await state(d), before, "the database changed");
        } finally {
          await c.teardown?.(d);
          rmSync(dir, { recursive: true, force: true });
        }
      });
    }
  });

  describe(`odd names on ${engine.name}`, () => {
    test("a schema and a table that need quoting are quoted everywhere; no SQL injection through them", { timeout: 120_000 }, async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const d = await engine.open();
      try {
        await d.query("CREATE TABLE victim (id int)");
        const schema = 'My "Odd" Schema';
        const table = `odd"; DROP TABLE victim; --`;
        const migrator = new Migrator(d.db, {
          schema,
          table,
          migrations: [{ version: "1", description: "inside", up: "CREATE TABLE inside (id int);", down: "DROP TABLE inside;" }],
        });
        assert.deepEqual((await migrator.migrate()).applied.map((r) => r.version), ["1"]);
        assert.equal((await migrator.status()).table, `"My ""Odd"" Schema"."odd""; DROP TABLE victim; --"`);
        const tables = await d.query<{ relname: string }>(
          "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r' ORDER BY 1",
          [schema],
        );
        assert.deepEqual(tables.map((r) => r.relname), ["inside", table]);
        assert.equal((await d.query<{ r: string | null }>("SELECT to_regclass('public.victim')::text AS r"))[0].r, "victim");
        assert.deepEqual((await migrator.rollback()).rolledBack.map((r) => r.version), ["1"]);
        assert.equal((await migrator.status()).migrations[0].state, "pending");
        assert.equal((await d.query<{ r: string | null }>("SELECT to_regclass('public.victim')::text AS r"))[0].r, "victim");
      } finally {
        await d.close();
      }
    });
  });
}

assert.ok(CASES.length >= 40);
for (const engine of engines) runCases(engine);
