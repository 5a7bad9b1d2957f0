-- orchwf:no-transaction
-- CONCURRENTLY cannot run inside a transaction: the directive above runs this file statement by statement.
CREATE UNIQUE INDEX CONCURRENTLY customers_email ON customers (lower(email));
