/**
 * The same tests under vitest (`npx vitest run examples/testing_example/vitest`), with TEST_DATABASE_URL set.
 * vitest is not a dependency of this package: install it in your project (`npm i -D vitest`).
 */
import { afterAll, afterEach, beforeEach, describe, expect, test } from "vitest";
import { orchwfMigrations } from "../../../src/mod.ts";
import { closeServerTestDatabases, createServerTestDatabase, type ServerTestDatabase } from "../../../src/testing.ts";

const url = process.env.TEST_DATABASE_URL ?? process.env.ORCHWF_TEST_DATABASE_URL;

describe.skipIf(!url)("workflow store on PostgreSQL (vitest)", () => {
  let db: ServerTestDatabase;
  beforeEach(async () => {
    db = await createServerTestDatabase({ url: url!, migrations: orchwfMigrations });
  });
  afterEach(() => db.close());
  afterAll(() => closeServerTestDatabases());

  test("writes a workflow", async () => {
    await db.sql`INSERT INTO orchwf_workflow_instances (id, workflow_id) VALUES ('w1', 'invoice')`;
    const [{ n }] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM orchwf_workflow_instances`;
    expect(n).toBe(1);
  });

  test("sees none of the previous test's rows", async () => {
    const [{ n }] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM orchwf_workflow_instances`;
    expect(n).toBe(0);
  });
});
