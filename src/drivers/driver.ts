/**
 * The one interface every database client is turned into. Drivers translate; they make no decisions.
 * @module
 */

/**
 * Receives a NOTICE (or WARNING) the server sent while a migration ran, for the Migrator's logger. Drivers whose
 * client lets a caller listen per query or per connection (PGlite, node-postgres) deliver them; postgres.js fixes
 * its `onnotice` when the client is made, and Bun SQL has no notice hook.
 */
export type NoticeSink = (notice: { severity?: string; message: string }) => void;

/** A connection or transaction that can run SQL. */
export interface Queryable {
  /**
   * Runs a script with the simple protocol: several statements, no parameters. When `cancel` aborts, the driver
   * asks the server to cancel the running statement (postgres.js and Bun SQL send PostgreSQL's cancel request,
   * which PgBouncer forwards to the right server connection); drivers that cannot, ignore it.
   */
  exec(script: string, cancel?: AbortSignal): Promise<void>;
  /** Runs one statement with parameters and returns its rows. */
  query<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<Row[]>;
  /**
   * Runs a script with the simple protocol, in ONE message (one round trip), and returns the rows of its last
   * statement (which should be a query). Optional for drivers written by users: without it, `lastRows` sends the
   * script but its last statement, then that statement (two round trips).
   */
  script?<Row = Record<string, unknown>>(script: string, cancel?: AbortSignal): Promise<Row[]>;
  /**
   * Runs ONE statement (no parameters) and returns the row count of its command tag (`UPDATE 10000` -> 10000), for
   * batched statements (engine/batch.ts). Optional for drivers written by users: without it, batches are refused.
   */
  execCount?(statement: string, cancel?: AbortSignal): Promise<number>;
}

/**
 * A command tag's row count as a client reports it (`count`, `rowCount`, `affectedRows`): 0 when it has none.
 *
 * @example
 * ```ts
 * rowCountOf({ count: 3 }); // 3
 * ```
 */
export function rowCountOf(result: unknown): number {
  const r = result as { count?: unknown; rowCount?: unknown; affectedRows?: unknown } | null;
  const n = Number(r?.count ?? r?.rowCount ?? r?.affectedRows ?? 0);
  return Number.isFinite(n) ? n : 0;
}

/**
 * Awaits a client's query; when `cancel` aborts first, calls the query's own `cancel()` (postgres.js and Bun SQL
 * queries have one), so the statement stops on the server instead of running on after the run gave up.
 *
 * @example
 * ```ts
 * await cancellable(sql.unsafe("CREATE INDEX CONCURRENTLY i ON t (a)"), signal);
 * ```
 */
export async function cancellable<T>(query: PromiseLike<T> & { cancel?(): unknown }, cancel?: AbortSignal): Promise<T> {
  if (!cancel) return await query;
  const stop = () => {
    try {
      query.cancel?.();
    } catch {
      // a query that already ended has nothing to cancel
    }
  };
  cancel.addEventListener("abort", stop, { once: true });
  try {
    const done = query.then((v) => v); // postgres.js sends a query when it is first awaited
    if (cancel.aborted) stop();
    return await done;
  } finally {
    cancel.removeEventListener("abort", stop);
  }
}

/**
 * Runs `statements` as one simple-protocol script and returns the rows of the last one.
 *
 * @example
 * ```ts
 * const [{ n }] = await lastRows<{ n: number }>(driver, ["SET LOCAL work_mem = '8MB'", "SELECT 1 AS n"]);
 * ```
 */
export async function lastRows<Row = Record<string, unknown>>(q: Queryable, statements: readonly string[]): Promise<Row[]> {
  if (q.script) return q.script<Row>(statements.join(";\n"));
  if (statements.length > 1) await q.exec(statements.slice(0, -1).join(";\n"));
  return q.query<Row>(statements[statements.length - 1]);
}

/**
 * The rows of the last statement, from a client that answers a multi-statement script with one result per
 * statement (postgres.js, Bun SQL) and a single-statement script with the rows alone.
 *
 * @example
 * ```ts
 * lastResult([[], [{ a: 1 }]]); // [{ a: 1 }]
 * ```
 */
export function lastResult<Row>(result: unknown): Row[] {
  const all = [...(result as Iterable<unknown>)];
  if (all.length > 0 && Array.isArray(all[0])) return [...(all[all.length - 1] as Iterable<Row>)];
  return all as Row[];
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
  /**
   * True when the `cancel` signal of `exec` and `script` reaches the server (PostgreSQL's cancel request): the
   * engine then sends a whole step in one message (engine/folded-step.ts), since a stop can still cancel it.
   */
  readonly cancels?: boolean;
  /** Runs `fn` in one transaction on one connection: COMMIT when it resolves, ROLLBACK when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs `fn` on one dedicated connection outside any transaction (for session locks and no-transaction SQL). */
  session<T>(fn: (conn: Queryable) => Promise<T>): Promise<T>;
}
