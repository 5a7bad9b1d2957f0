-- Used by error_handling.ts: line 6 has a typo ("INTEGR"), so this migration fails and changes nothing.
CREATE TABLE invoices (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workflow_inst_id VARCHAR(36) REFERENCES orchwf_workflow_instances (id),
  amount_cents BIGINT NOT NULL,
  line_count INTEGR NOT NULL DEFAULT 0
);
