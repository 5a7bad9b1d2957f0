-- orchwf:no-transaction
DROP INDEX CONCURRENTLY customers_email;
