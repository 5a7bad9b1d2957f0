/**
 * Noise: the library's own bookkeeping (creating the version table, its schema, adding our columns to a Go-era
 * table) never sends a NOTICE to the user's client. postgres.js prints every NOTICE to the console unless given
 * `onnotice`; quickSetup with such a client, twice, must leave stdout and stderr empty. A migration's own NOTICEs
 * reach the Migrator's logger where the client lets us listen (PGlite, node-postgres).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { Migrator } from "../src/mod.ts";
import { bunBin, root } from "./helpers/cli.ts";
import { postgresEngine } from "./helpers/engines.ts";

function quietly(client: string, url = ""): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(bunBin, [join(root, "tests/fixtures/quick-setup-quietly.ts"), client, url], { cwd: root, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? -1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

for (const client of ["postgres-js", "pg"]) {
  test(`quickSetup with a ${client} client without a notice handler prints nothing, called twice`, { timeout: 120_000 }, async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    const d = await postgresEngine.open();
    try {
      const run = await quietly(client, d.url);
      assert.equal(run.code, 0, run.out);
      assert.equal(run.out, "", "nothing printed");
      const columns = await d.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'go_era' AND column_name IN ('checksum', 'execution_ms', 'dirty')",
      );
      assert.equal(columns[0].n, 3, "the Go-era table got our columns");
    } finally {
      await d.close();
    }
  });
}

test("quickSetup on PGlite prints nothing, called twice", { timeout: 120_000 }, async () => {
  const run = await quietly("pglite");
  assert.equal(run.code, 0, run.out);
  assert.equal(run.out, "");
});

const RAISING = [{ version: "1", description: "raising", up: "DO $$ BEGIN RAISE NOTICE 'hello from the migration'; END $$;" }];

async function loggedWhileMigrating(db: object): Promise<string[]> {
  const lines: string[] = [];
  const logger = { info: (m: string) => lines.push(m), warn: (m: string) => lines.push(m) };
  await new Migrator(db, { migrations: RAISING, logger }).migrate();
  return lines;
}

test("a migration's own NOTICE goes to the Migrator's logger on PGlite", { timeout: 120_000 }, async () => {
  const db = await PGlite.create();
  try {
    assert.ok((await loggedWhileMigrating(db)).includes("NOTICE from the database: hello from the migration"));
  } finally {
    await db.close();
  }
});

test("a migration's own NOTICE goes to the Migrator's logger on node-postgres", { timeout: 120_000 }, async (t) => {
  if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
  const d = await postgresEngine.open();
  const pool = new pg.Pool({ connectionString: d.url, max: 2 });
  pool.on("error", () => {});
  try {
    assert.ok((await loggedWhileMigrating(pool)).includes("NOTICE from the database: hello from the migration"));
  } finally {
    await pool.end();
    await d.close();
  }
});
