/** The built-in OrchWF schema, checked in the catalog on PGlite and PostgreSQL, and reversed exactly. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Migrator, orchwfMigrations } from "../src/mod.ts";
import { catalog } from "./helpers/catalog.ts";
import { engines } from "./helpers/engines.ts";

const EXPECTED_COLUMNS: Record<string, string[]> = {
  orchwf_workflow_instances: [
    "id character varying(36) NO", "workflow_id character varying(255) NO", "status character varying(50) NO",
    "input jsonb YES", "output jsonb YES", "context jsonb YES", "current_step_id character varying(255) YES",
    "started_at timestamp without time zone NO", "completed_at timestamp without time zone YES", "error text YES",
    "retry_count integer YES", "last_retry_at timestamp without time zone YES", "metadata jsonb YES",
    "trace_id character varying(255) YES", "correlation_id character varying(255) YES",
    "business_id character varying(255) YES", "created_at timestamp without time zone YES",
    "updated_at timestamp without time zone YES",
  ],
  orchwf_step_instances: [
    "id character varying(36) NO", "step_id character varying(255) NO", "workflow_inst_id character varying(36) NO",
    "status character varying(50) NO", "input jsonb YES", "output jsonb YES",
    "started_at timestamp without time zone YES", "completed_at timestamp without time zone YES", "error text YES",
    "retry_count integer YES", "last_retry_at timestamp without time zone YES", "duration_ms bigint YES",
    "execution_order integer NO", "created_at timestamp without time zone YES", "updated_at timestamp without time zone YES",
  ],
  orchwf_workflow_events: [
    "id character varying(36) NO", "workflow_inst_id character varying(36) NO", "step_inst_id character varying(36) YES",
    "event_type character varying(100) NO", "event_data jsonb YES", "timestamp timestamp without time zone NO",
    "created_at timestamp without time zone YES",
  ],
};

const EXPECTED_INDEXES = [
  "idx_orchwf_workflow_instances_workflow_id (workflow_id)",
  "idx_orchwf_workflow_instances_status (status)",
  "idx_orchwf_workflow_instances_trace_id (trace_id)",
  "idx_orchwf_workflow_instances_correlation_id (correlation_id)",
  "idx_orchwf_workflow_instances_business_id (business_id)",
  "idx_orchwf_workflow_instances_created_at (created_at DESC)",
  "idx_orchwf_step_instances_step_id (step_id)",
  "idx_orchwf_step_instances_workflow_inst_id (workflow_inst_id)",
  "idx_orchwf_step_instances_status (status)",
  "idx_orchwf_step_instances_execution_order (workflow_inst_id, execution_order)",
  "idx_orchwf_step_instances_created_at (created_at DESC)",
  "idx_orchwf_workflow_events_workflow_inst_id (workflow_inst_id)",
  "idx_orchwf_workflow_events_step_inst_id (step_inst_id)",
  "idx_orchwf_workflow_events_event_type (event_type)",
  "idx_orchwf_workflow_events_timestamp (\"timestamp\" DESC)",
];

for (const engine of engines) {
  describe(`built-in OrchWF schema on ${engine.name}`, () => {
    test("each migration applies, matches the spec in the catalog, rolls back exactly, and re-applies", async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const d = await engine.open();
      try {
        const migrator = new Migrator(d.db);
        const before: string[][] = [];
        for (const m of orchwfMigrations) {
          before.push(await catalog(d));
          const { applied } = await migrator.migrate({ to: m.version });
          assert.deepEqual(applied.map((a) => a.version), [m.version]);
        }
        await checkSchema(d);
        for (const m of [...orchwfMigrations].reverse()) {
          const { rolledBack } = await migrator.rollback();
          assert.deepEqual(rolledBack.map((r) => r.version), [m.version]);
          assert.deepEqual(await catalog(d), before.pop(), `rollback of ${m.version} left the schema different`);
        }
        assert.deepEqual(await catalog(d), []);
        const again = await migrator.migrate();
        assert.equal(again.applied.length, orchwfMigrations.length);
        await checkSchema(d);
      } finally {
        await d.close();
      }
    });

    test("the updated_at triggers move updated_at on update, and foreign keys cascade", async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const d = await engine.open();
      try {
        await new Migrator(d.db).migrate();
        await d.query(`INSERT INTO orchwf_workflow_instances (id, workflow_id, updated_at) VALUES ('w1', 'flow', '2000-01-01')`);
        await d.query(`INSERT INTO orchwf_step_instances (id, step_id, workflow_inst_id, execution_order, updated_at)
          VALUES ('s1', 'step', 'w1', 1, '2000-01-01')`);
        await d.query(`INSERT INTO orchwf_workflow_events (id, workflow_inst_id, step_inst_id, event_type) VALUES ('e1', 'w1', 's1', 'started')`);
        const [defaults] = await d.query<{ status: string; retry_count: number; input: unknown }>(
          "SELECT status, retry_count, input FROM orchwf_workflow_instances",
        );
        assert.deepEqual(defaults, { status: "pending", retry_count: 0, input: {} });
        await d.query(`UPDATE orchwf_workflow_instances SET status = 'running'`);
        await d.query(`UPDATE orchwf_step_instances SET status = 'running'`);
        for (const table of ["orchwf_workflow_instances", "orchwf_step_instances"]) {
          const [row] = await d.query<{ moved: boolean }>(`SELECT updated_at > '2001-01-01' AS moved FROM ${table}`);
          assert.equal(row.moved, true, `${table}.updated_at did not move`);
        }
        await d.query(`DELETE FROM orchwf_workflow_instances`);
        const [left] = await d.query<{ n: number }>(
          "SELECT (SELECT count(*) FROM orchwf_step_instances) + (SELECT count(*) FROM orchwf_workflow_events) AS n",
        );
        assert.equal(Number(left.n), 0);
      } finally {
        await d.close();
      }
    });
  });
}

async function checkSchema(d: Awaited<ReturnType<(typeof engines)[0]["open"]>>): Promise<void> {
  for (const [table, columns] of Object.entries(EXPECTED_COLUMNS)) {
    const rows = await d.query<{ line: string }>(
      `SELECT column_name || ' ' || CASE WHEN character_maximum_length IS NULL THEN data_type
          ELSE data_type || '(' || character_maximum_length || ')' END || ' ' || is_nullable AS line
       FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
      [table],
    );
    assert.deepEqual(rows.map((r) => r.line), columns, `columns of ${table}`);
  }
  const indexes = await d.query<{ name: string; def: string }>(
    "SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE schemaname = current_schema() AND indexname LIKE 'idx_orchwf_%'",
  );
  const found = indexes.map((i) => `${i.name} ${i.def.slice(i.def.indexOf("("))}`).sort();
  assert.deepEqual(found, [...EXPECTED_INDEXES].sort());
  const triggers = await d.query<{ name: string }>("SELECT tgname AS name FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1");
  assert.deepEqual(triggers.map((t) => t.name), [
    "trigger_update_orchwf_step_instances_updated_at",
    "trigger_update_orchwf_workflow_instances_updated_at",
  ]);
  const fks = await d.query<{ def: string }>(
    "SELECT conrelid::regclass::text || ' ' || pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE contype = 'f' ORDER BY 1",
  );
  assert.deepEqual(fks.map((f) => f.def), [
    "orchwf_step_instances FOREIGN KEY (workflow_inst_id) REFERENCES orchwf_workflow_instances(id) ON DELETE CASCADE",
    "orchwf_workflow_events FOREIGN KEY (step_inst_id) REFERENCES orchwf_step_instances(id) ON DELETE CASCADE",
    "orchwf_workflow_events FOREIGN KEY (workflow_inst_id) REFERENCES orchwf_workflow_instances(id) ON DELETE CASCADE",
  ]);
}
