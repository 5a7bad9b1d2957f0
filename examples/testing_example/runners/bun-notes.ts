/**
 * createTestDatabase() under `bun test`: each test gets its own migrated in-process PGlite, so a test may commit.
 * In your project: `bun add -d @orchwf/migrate @electric-sql/pglite`, then `bun test`.
 * Save it as notes.test.ts (notes.test.mjs for Node) in your project. The suite runs it, so named, from the packed
 * tarball installed into a fresh project (tests/package.test.ts).
 */
import { afterEach, beforeEach, expect, test } from "bun:test";
import type { PGlite } from "@electric-sql/pglite";
import type { Migration } from "@orchwf/migrate";
import { createTestDatabase } from "@orchwf/migrate/testing";

const migrations: Migration[] = [
  { version: "001", description: "notes", up: "CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)" },
];

let db: PGlite;
beforeEach(async () => {
  db = await createTestDatabase({ migrations });
});
afterEach(() => db.close());

test("commits a row", async () => {
  await db.transaction(async (tx) => {
    await tx.query("INSERT INTO notes (body) VALUES ($1)", ["hello"]);
  });
  const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM notes");
  expect(rows[0].n).toBe(1);
});

test("the next test sees a clean table", async () => {
  const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM notes");
  expect(rows[0].n).toBe(0);
});

test("the migrations are recorded", async () => {
  const { rows } = await db.query<{ version: string }>("SELECT version FROM orchwf_migrations ORDER BY version");
  expect(rows.map((r) => r.version)).toEqual(["001"]);
});
