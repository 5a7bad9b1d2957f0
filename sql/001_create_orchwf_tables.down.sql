-- Reverses 001: drops exactly what it created. Indexes, foreign keys and triggers go with their tables;
-- the tables go before the trigger functions they depend on.

DROP TABLE orchwf_workflow_events;
DROP TABLE orchwf_step_instances;
DROP TABLE orchwf_workflow_instances;

DROP FUNCTION update_orchwf_step_instances_updated_at();
DROP FUNCTION update_orchwf_workflow_instances_updated_at();
