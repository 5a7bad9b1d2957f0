/**
 * After quickSetup, the OrchWF tables are ready for a workflow engine: record a workflow instance with its
 * steps and events, move it along, and watch the triggers keep `updated_at` current.
 * Run: `bun examples/migration_example/orchwf_usage.ts` (or `deno run -A …`); ORCHWF_DB_URL picks a server.
 */
import { randomUUID } from "node:crypto";
import { quickSetup } from "../../src/mod.ts";
import { openDatabase } from "./database.ts";

const { db, label, close, query } = await openDatabase();
try {
  console.log(`database: ${label}`);
  await quickSetup(db, { timeoutMs: 30_000 });

  // A workflow instance (status defaults to 'pending', JSONB columns to '{}', timestamps to now()).
  const workflowId = randomUUID();
  await query(
    `INSERT INTO orchwf_workflow_instances (id, workflow_id, input, trace_id, business_id)
     VALUES ($1, 'order-fulfilment', $2::jsonb, $3, $4)`,
    [workflowId, JSON.stringify({ orderId: 42 }), "trace-1", "order-42"],
  );

  // Its steps, in execution order, and an event for each.
  const steps = ["reserve-stock", "charge-card", "ship"];
  const stepIds: string[] = [];
  for (const [order, stepId] of steps.entries()) {
    const id = randomUUID();
    stepIds.push(id);
    await query(
      `INSERT INTO orchwf_step_instances (id, step_id, workflow_inst_id, execution_order) VALUES ($1, $2, $3, $4)`,
      [id, stepId, workflowId, order + 1],
    );
    await query(
      `INSERT INTO orchwf_workflow_events (id, workflow_inst_id, step_inst_id, event_type, event_data)
       VALUES ($1, $2, $3, 'step_created', $4::jsonb)`,
      [randomUUID(), workflowId, id, JSON.stringify({ stepId })],
    );
  }

  const [before] = await query<{ same: boolean }>(
    "SELECT updated_at = created_at AS same FROM orchwf_workflow_instances WHERE id = $1",
    [workflowId],
  );
  console.log(`after insert: updated_at = created_at: ${before.same}`);

  // Run it: every step completes, then the workflow does.
  for (const [i, id] of stepIds.entries()) {
    await query(
      `UPDATE orchwf_step_instances SET status = 'completed', started_at = now(), completed_at = now(),
         duration_ms = $2, output = $3::jsonb WHERE id = $1`,
      [id, 10 * (i + 1), JSON.stringify({ ok: true })],
    );
  }
  await query(
    `UPDATE orchwf_workflow_instances SET status = 'completed', completed_at = now(), output = $2::jsonb,
       current_step_id = $3 WHERE id = $1`,
    [workflowId, JSON.stringify({ shipped: true }), steps[steps.length - 1]],
  );
  await query(
    `INSERT INTO orchwf_workflow_events (id, workflow_inst_id, event_type, event_data) VALUES ($1, $2, 'workflow_completed', '{}')`,
    [randomUUID(), workflowId],
  );

  // The trigger set updated_at to now() on the UPDATE, a later transaction than the INSERT.
  const [after] = await query<{ status: string; moved: boolean; age: string }>(
    `SELECT status, updated_at > created_at AS moved, (updated_at - created_at)::text AS age
     FROM orchwf_workflow_instances WHERE id = $1`,
    [workflowId],
  );
  console.log(`workflow ${workflowId}: ${after.status}`);
  console.log(`after update: updated_at moved past created_at: ${after.moved} (by ${after.age})`);

  const progress = await query<{ step_id: string; status: string; execution_order: number }>(
    "SELECT step_id, status, execution_order FROM orchwf_step_instances WHERE workflow_inst_id = $1 ORDER BY execution_order",
    [workflowId],
  );
  for (const s of progress) console.log(`  step ${s.execution_order} ${s.step_id}: ${s.status}`);
  const [events] = await query<{ n: number }>(
    "SELECT count(*)::int AS n FROM orchwf_workflow_events WHERE workflow_inst_id = $1",
    [workflowId],
  );
  console.log(`events recorded: ${events.n}`);

  // Deleting the instance cascades to its steps and events.
  await query("DELETE FROM orchwf_workflow_instances WHERE id = $1", [workflowId]);
  const [left] = await query<{ n: number }>(
    "SELECT (SELECT count(*) FROM orchwf_step_instances)::int + (SELECT count(*) FROM orchwf_workflow_events)::int AS n",
  );
  console.log(`steps and events left after deleting the workflow: ${left.n}`);
} finally {
  await close();
}
