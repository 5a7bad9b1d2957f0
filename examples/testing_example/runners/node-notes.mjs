/**
 * createTestDatabase() under `node --test` (Node 20.12+; plain JavaScript, which Node 20 runs as it is): each test
 * gets its own migrated in-process PGlite, so a test may commit.
 * In your project: `npm i -D @orchwf/migrate @electric-sql/pglite`, then `node --test`.
 * Save it as notes.test.ts (notes.test.mjs for Node) in your project. The suite runs it, so named, from the packed
 * tarball installed into a fresh project (tests/package.test.ts).
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { createTestDatabase } from "@orchwf/migrate/testing";

/** @type {import("@orchwf/migrate").Migration[]} */
const migrations = [
  { version: "001", description: "notes", up: "CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)" },
];

/** @type {import("@electric-sql/pglite").PGlite} */
let db;
beforeEach(async () => {
  db = await createTestDatabase({ migrations });
});
afterEach(() => db.close());

test("commits a row", async () => {
  await db.transaction(async (tx) => {
    await tx.query("INSERT INTO notes (body) VALUES ($1)", ["hello"]);
  });
  const { rows } = await db.query("SELECT count(*)::int AS n FROM notes");
  assert.equal(rows[0].n, 1);
});

test("the next test sees a clean table", async () => {
  const { rows } = await db.query("SELECT count(*)::int AS n FROM notes");
  assert.equal(rows[0].n, 0);
});

test("the migrations are recorded", async () => {
  const { rows } = await db.query("SELECT version FROM orchwf_migrations ORDER BY version");
  assert.deepEqual(rows.map((r) => r.version), ["001"]);
});
