/**
 * Clients and sessions unlike ours: the tool's own reads never depend on the user's client options (postgres.js
 * column transforms) or on the session (TimeZone America/New_York, DateStyle `SQL, DMY`): quickSetup twice and
 * status work, and every `appliedAt` is the right instant, on every driver and in the CLI (text and --json).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import postgres from "postgres";
import { Migrator, orchwfMigrations, quickSetup } from "../src/mod.ts";
import { bunRunner, runWith } from "./helpers/cli.ts";
import { postgresEngine } from "./helpers/engines.ts";

// deno-lint-ignore no-explicit-any
const BunSQL = (globalThis as any).Bun?.SQL as (new (url: string, options?: object) => any) | undefined;
const LAST_BUILTIN = orchwfMigrations[orchwfMigrations.length - 1].version;
/** Far more than a run takes, far less than a time zone's offset: an instant read in the wrong zone is hours off. */
const SAME_INSTANT_MS = 20 * 60 * 1000;
const FOREIGN_SESSION = ["TimeZone = 'America/New_York'", "DateStyle = 'SQL, DMY'"];

function assertInstantsNow(appliedAt: (string | null)[], before: number): void {
  for (const at of appliedAt) {
    assert.ok(at !== null && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(at), `appliedAt ${at}`);
    const ms = Date.parse(at);
    assert.ok(Math.abs(ms - before) < SAME_INSTANT_MS, `appliedAt ${at} is not the instant of the run (${new Date(before).toISOString()})`);
  }
}

/** quickSetup twice, then status: current and every appliedAt right. */
async function setupTwiceAndCheck(db: object): Promise<void> {
  const before = Date.now();
  await quickSetup(db);
  await quickSetup(db);
  const status = await new Migrator(db).status();
  assert.equal(status.current, LAST_BUILTIN);
  assert.equal(status.pending, 0);
  assertInstantsNow(status.migrations.map((m) => m.appliedAt), before);
  for (const m of status.migrations) assert.equal(typeof m.executionMs, "number");
}

// deno-lint-ignore no-explicit-any
type Client = { make(url: string): any; end(client: any): Promise<unknown> };
const SERVER_CLIENTS: Record<string, Client> = {
  "postgres.js transform: postgres.camel": { make: (url) => postgres(url, { transform: postgres.camel, onnotice: () => {} }), end: (c) => c.end() },
  "postgres.js transform: postgres.toCamel": { make: (url) => postgres(url, { transform: postgres.toCamel, onnotice: () => {} }), end: (c) => c.end() },
  "postgres.js transform: postgres.fromCamel": { make: (url) => postgres(url, { transform: postgres.fromCamel, onnotice: () => {} }), end: (c) => c.end() },
  "node-postgres Pool": {
    make(url) {
      const pool = new pg.Pool({ connectionString: url, max: 4 });
      pool.on("error", () => {});
      return pool;
    },
    end: (c) => c.end(),
  },
  ...(BunSQL ? { "Bun SQL": { make: (url: string) => new BunSQL(url, { max: 4 }), end: (c: { close(): Promise<void> }) => c.close() } } : {}),
};

describe("a database whose session is set up unlike ours (TimeZone America/New_York, DateStyle SQL, DMY)", () => {
  for (const [name, client] of Object.entries(SERVER_CLIENTS)) {
    test(`${name}: quickSetup twice, status, instants right`, { timeout: 120_000 }, async (t) => {
      if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
      const d = await postgresEngine.open();
      try {
        const dbName = new URL(d.url!).pathname.slice(1);
        for (const setting of FOREIGN_SESSION) await d.query(`ALTER DATABASE ${dbName} SET ${setting}`);
        const db = client.make(d.url!);
        try {
          await setupTwiceAndCheck(db);
        } finally {
          await client.end(db);
        }
      } finally {
        await d.close();
      }
    });
  }

  test("PGlite with the same session settings", { timeout: 120_000 }, async () => {
    const db = await PGlite.create();
    try {
      await db.exec(FOREIGN_SESSION.map((s) => `SET ${s};`).join("\n"));
      await setupTwiceAndCheck(db);
    } finally {
      await db.close();
    }
  });

  test("CLI status shows the right instants in text and --json", { timeout: 120_000 }, async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    const d = await postgresEngine.open();
    try {
      const dbName = new URL(d.url!).pathname.slice(1);
      for (const setting of FOREIGN_SESSION) await d.query(`ALTER DATABASE ${dbName} SET ${setting}`);
      const before = Date.now();
      assert.equal((await runWith(bunRunner, ["up", "--db", d.url!])).code, 0);
      const json = await runWith(bunRunner, ["status", "--db", d.url!, "--json"]);
      assert.equal(json.code, 0, json.stderr);
      const report = JSON.parse(json.stdout);
      const appliedAt: string[] = report.migrations.map((m: { appliedAt: string }) => m.appliedAt);
      assertInstantsNow(appliedAt, before);
      const text = await runWith(bunRunner, ["status", "--db", d.url!, "--no-color"]);
      const shown = appliedAt[0].slice(0, 19).replace("T", " ");
      assert.ok(text.stdout.includes(`${shown}`), `${shown} in\n${text.stdout}`);
    } finally {
      await d.close();
    }
  });
});
