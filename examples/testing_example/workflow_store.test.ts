/**
 * An application's tests, each on its own freshly migrated in-process database (no server needed).
 * Run: `bun test examples/testing_example`, `deno test -A examples/testing_example`, or on Node through a build
 * (see the README section "verify and the testing helper").
 * In your project, import from "@orchwf/migrate" and "@orchwf/migrate/testing" instead of ../../src/.
 */
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, test } from "node:test";
import type { PGlite } from "@electric-sql/pglite";
import { type Migration, orchwfMigrations } from "../../src/mod.ts";
import { createTestDatabase } from "../../src/testing.ts";

/** The application's own migration, applied after the built-in OrchWF schema. */
const appMigrations: Migration[] = [{
  version: "100",
  description: "workflow labels",
  up: "CREATE TABLE workflow_labels (workflow_inst_id VARCHAR(36) REFERENCES orchwf_workflow_instances (id) ON DELETE CASCADE, label TEXT NOT NULL)",
  down: "DROP TABLE workflow_labels",
}];

/** The code under test: a tiny store on top of the OrchWF tables. */
async function startWorkflow(db: PGlite, id: string, workflowId: string, labels: string[]): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query("INSERT INTO orchwf_workflow_instances (id, workflow_id, status) VALUES ($1, $2, 'running')", [id, workflowId]);
    for (const label of labels) await tx.query("INSERT INTO workflow_labels VALUES ($1, $2)", [id, label]);
  });
}

describe("workflow store", () => {
  let db: PGlite;
  // Each test gets its own database: the first one migrates, the others restore a snapshot of the result.
  beforeEach(async () => {
    db = await createTestDatabase({ migrations: [...orchwfMigrations, ...appMigrations] });
  });
  afterEach(async () => {
    await db.close();
  });

  test("starts a workflow with its labels", async () => {
    await startWorkflow(db, "w1", "invoice", ["urgent", "eu"]);
    const { rows } = await db.query<{ label: string }>("SELECT label FROM workflow_labels ORDER BY label");
    assert.deepEqual(rows.map((r) => r.label), ["eu", "urgent"]);
  });

  test("sees none of the previous test's rows", async () => {
    const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM orchwf_workflow_instances");
    assert.equal(rows[0].n, 0);
  });

  test("deleting a workflow removes its labels (the schema's ON DELETE CASCADE)", async () => {
    await startWorkflow(db, "w2", "invoice", ["eu"]);
    await db.query("DELETE FROM orchwf_workflow_instances WHERE id = 'w2'");
    const { rows } = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM workflow_labels");
    assert.equal(rows[0].n, 0);
  });

  test("the version table lists both the built-in and the application's migrations", async () => {
    const { rows } = await db.query<{ version: string }>("SELECT version FROM orchwf_migrations ORDER BY version");
    assert.deepEqual(rows.map((r) => r.version), ["001", "100"]);
  });
});
