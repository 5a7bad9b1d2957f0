/**
 * The one interface every database client is turned into. Drivers translate; they make no decisions.
 * @module
 */

/** A connection or transaction that can run SQL. */
export interface Queryable {
  /** Runs a script with the simple protocol: several statements, no parameters. */
  exec(script: string): Promise<void>;
  /** Runs one statement with parameters and returns its rows. */
  query<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<Row[]>;
}

/**
 * A database client as the Migrator sees it.
 *
 * @example
 * ```ts
 * const driver = toDriver(sql);
 * await driver.transaction((tx) => tx.exec("CREATE TABLE t (id int)"));
 * ```
 */
export interface Driver extends Queryable {
  /** Which client this wraps, e.g. "postgres.js" or "pglite". */
  readonly name: string;
  /** True for an in-process PGlite database. */
  readonly embedded: boolean;
  /** Runs `fn` in one transaction on one connection: COMMIT when it resolves, ROLLBACK when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs `fn` on one dedicated connection outside any transaction (for session locks and no-transaction SQL). */
  session<T>(fn: (conn: Queryable) => Promise<T>): Promise<T>;
}
