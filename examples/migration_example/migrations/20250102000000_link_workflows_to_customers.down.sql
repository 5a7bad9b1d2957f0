DROP TABLE customer_workflows;
