/**
 * An application's tests on a real PostgreSQL server, each on its own database cloned from a migrated template
 * (the template is built once per set of migrations, by whichever test process gets there first).
 * Needs a server: TEST_DATABASE_URL (or ORCHWF_TEST_DATABASE_URL), e.g. postgres://postgres@127.0.0.1:5432/postgres.
 * Run: `bun test examples/testing_example/server_store.test.ts`, `deno test -A examples/testing_example/server_store.test.ts`,
 * `node --import tsx --test examples/testing_example/server_store.test.ts` (Node 22.6+: `--experimental-strip-types`).
 * In your project, import from "@orchwf/migrate" and "@orchwf/migrate/testing" instead of ../../src/.
 */
import assert from "node:assert/strict";
import process from "node:process";
import { after, afterEach, beforeEach, describe, test } from "node:test";
import { type Migration, orchwfMigrations } from "../../src/mod.ts";
import { closeServerTestDatabases, createServerTestDatabase, type ServerTestDatabase } from "../../src/testing.ts";

const url = process.env.TEST_DATABASE_URL ?? process.env.ORCHWF_TEST_DATABASE_URL;

/** The application's own migration, applied after the built-in OrchWF schema. */
const appMigrations: Migration[] = [{
  version: "100",
  description: "workflow labels",
  up: "CREATE TABLE workflow_labels (workflow_inst_id VARCHAR(36) REFERENCES orchwf_workflow_instances (id) ON DELETE CASCADE, label TEXT NOT NULL)",
  down: "DROP TABLE workflow_labels",
}];

describe("workflow store on PostgreSQL", { skip: url ? false : "set TEST_DATABASE_URL to a PostgreSQL server" }, () => {
  let db: ServerTestDatabase;
  beforeEach(async () => {
    db = await createServerTestDatabase({ url: url!, migrations: [...orchwfMigrations, ...appMigrations] });
  });
  afterEach(() => db.close()); // drops the database
  after(() => closeServerTestDatabases()); // the admin connection, so the process can exit at once

  test("starts a workflow with its labels", async () => {
    await db.sql.begin(async (tx) => {
      await tx`INSERT INTO orchwf_workflow_instances (id, workflow_id, status) VALUES ('w1', 'invoice', 'running')`;
      await tx`INSERT INTO workflow_labels VALUES ('w1', 'urgent'), ('w1', 'eu')`;
    });
    const rows = await db.sql<{ label: string }[]>`SELECT label FROM workflow_labels ORDER BY label`;
    assert.deepEqual(rows.map((r) => r.label), ["eu", "urgent"]);
  });

  test("sees none of the previous test's rows", async () => {
    const [{ n }] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM orchwf_workflow_instances`;
    assert.equal(n, 0);
  });
});
