/**
 * createTestDatabase() under `deno test`: each test gets its own migrated in-process PGlite, so a test may commit.
 * In your project: `deno add npm:@orchwf/migrate npm:@electric-sql/pglite`, then `deno test -A`.
 * Save it as notes.test.ts (notes.test.mjs for Node) in your project. The suite runs it, so named, from the packed
 * tarball installed into a fresh project (tests/package.test.ts).
 */
import assert from "node:assert/strict";
import type { PGlite } from "@electric-sql/pglite";
import type { Migration } from "@orchwf/migrate";
import { createTestDatabase } from "@orchwf/migrate/testing";

const migrations: Migration[] = [
  { version: "001", description: "notes", up: "CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)" },
];

/** Deno.test has no beforeEach: each test opens its database and closes it, also when it fails. */
async function withDatabase(fn: (db: PGlite) => Promise<void>): Promise<void> {
  const db = await createTestDatabase({ migrations });
  try {
    await fn(db);
  } finally {
    await db.close();
  }
}

Deno.test("commits a row", () =>
  withDatabase(async (db) => {
    await db.transaction(async (tx) => {
      await tx.query("INSERT INTO notes (body) VALUES ($1)", ["hello"]);
    });
    const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM notes");
    assert.equal(rows[0].n, 1);
  }));

Deno.test("the next test sees a clean table", () =>
  withDatabase(async (db) => {
    const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM notes");
    assert.equal(rows[0].n, 0);
  }));

Deno.test("the migrations are recorded", () =>
  withDatabase(async (db) => {
    const { rows } = await db.query<{ version: string }>("SELECT version FROM orchwf_migrations ORDER BY version");
    assert.deepEqual(rows.map((r) => r.version), ["001"]);
  }));
