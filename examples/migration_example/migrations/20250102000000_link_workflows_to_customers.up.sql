-- Which customer each OrchWF workflow instance belongs to (the built-in tables stay as they are).
CREATE TABLE customer_workflows (
  customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
  workflow_inst_id VARCHAR(36) NOT NULL REFERENCES orchwf_workflow_instances (id) ON DELETE CASCADE,
  PRIMARY KEY (customer_id, workflow_inst_id)
);
