/**
 * Driver for node-postgres (`pg`): a `Pool`, or a connected `Client` (also a client checked out of a pool).
 * `pg` is an optional peer dependency: nothing here imports it; clients are recognised by shape.
 * A pg `query(text)` without parameters uses the simple protocol, so a script may hold several statements;
 * pg's DatabaseError already carries the SQLSTATE as `code` and `position` as a string.
 * The user's pool or client stays theirs: never ended here.
 * @module
 */
import { ConnectionError } from "../core/errors.ts";
import { type Driver, type NoticeSink, type Queryable, rowCountOf } from "./driver.ts";

/** A pg query result (or, for a multi-statement script, one per statement). */
// deno-lint-ignore no-explicit-any
type PgResult = { rows: any[]; rowCount?: number | null } | { rows: any[] }[];

/** The part of a pg `Client` we use. */
export interface PgClientLike {
  query(text: string, values?: unknown[]): Promise<PgResult>;
  connect(): Promise<unknown> | void;
  on?(event: "notice", listener: NoticeSink): unknown;
  off?(event: "notice", listener: NoticeSink): unknown;
}

/** Runs `fn` with `onNotice` listening to the connection's notices (pg emits them as "notice" events). */
async function listening<T>(client: PgClientLike, onNotice: NoticeSink | undefined, fn: () => Promise<T>): Promise<T> {
  if (!onNotice || typeof client.on !== "function" || typeof client.off !== "function") return await fn();
  client.on("notice", onNotice);
  try {
    return await fn();
  } finally {
    client.off("notice", onNotice);
  }
}

/** A client checked out of a pg `Pool`. */
export interface PgPoolClientLike extends PgClientLike {
  /** Returns the client to the pool; `true` (or an error) destroys it instead. */
  release(destroy?: boolean | Error): void;
}

/** The part of a pg `Pool` we use. */
export interface PgPoolLike {
  query(text: string, values?: unknown[]): Promise<PgResult>;
  connect(): Promise<PgPoolClientLike>;
  totalCount: number;
  idleCount: number;
}

/**
 * True when `db` looks like a pg `Pool`.
 *
 * @example
 * ```ts
 * isPgPool(new pg.Pool({ connectionString: url })); // true
 * ```
 */
export function isPgPool(db: unknown): db is PgPoolLike {
  const d = db as Record<string, unknown>;
  return typeof db === "object" && db !== null && typeof d.query === "function" && typeof d.connect === "function" &&
    typeof d.end === "function" && typeof d.totalCount === "number" && typeof d.idleCount === "number" &&
    typeof d.waitingCount === "number";
}

/**
 * True when `db` looks like a pg `Client` (or a client checked out of a pool).
 *
 * @example
 * ```ts
 * isPgClient(new pg.Client(url)); // true
 * ```
 */
export function isPgClient(db: unknown): db is PgClientLike {
  const d = db as Record<string, unknown>;
  return typeof db === "object" && db !== null && typeof d.query === "function" && typeof d.connect === "function" &&
    typeof d.connectionParameters === "object" && d.connectionParameters !== null;
}

function rowsOf(result: PgResult): Record<string, unknown>[] {
  return Array.isArray(result) ? (result[result.length - 1]?.rows ?? []) : result.rows;
}

function queryable(client: PgClientLike | PgPoolLike): Queryable {
  return {
    async exec(script) {
      await client.query(script); // no values: the simple protocol, several statements allowed
    },
    async query<Row>(text: string, params: unknown[] = []) {
      return rowsOf(await client.query(text, params)) as Row[];
    },
    async script<Row>(script: string) {
      return rowsOf(await client.query(script)) as Row[]; // no values: the simple protocol
    },
    async execCount(statement) {
      return rowCountOf(await client.query(statement)); // `rowCount`
    },
  };
}

/** BEGIN, `fn`, COMMIT on one connection; ROLLBACK when `fn` throws. Sets `broken` when even ROLLBACK failed. */
async function inTransaction<T>(conn: PgClientLike, fn: (tx: Queryable) => Promise<T>, broken?: { error?: Error }): Promise<T> {
  await conn.query("BEGIN");
  let result: T;
  try {
    result = await fn(queryable(conn));
  } catch (err) {
    await conn.query("ROLLBACK").catch((rollbackError: Error) => {
      if (broken) broken.error = rollbackError; // the server rolls back by itself when the connection drops
    });
    throw err;
  }
  await conn.query("COMMIT");
  return result;
}

/**
 * Wraps a pg `Pool`: every transaction and session checks a client out and releases it. A client whose
 * ROLLBACK failed, or whose session failed (it may still hold a session lock or setting), is destroyed
 * instead of being returned to the pool.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * const driver = pgPoolDriver(new pg.Pool({ connectionString: process.env.DATABASE_URL }));
 * ```
 */
export function pgPoolDriver(pool: PgPoolLike, onNotice?: NoticeSink): Driver {
  return {
    name: "node-postgres",
    embedded: false,
    ...queryable(pool),
    async transaction(fn) {
      const client = await pool.connect();
      const broken: { error?: Error } = {};
      try {
        return await listening(client, onNotice, () => inTransaction(client, fn, broken));
      } finally {
        client.release(broken.error);
      }
    },
    async session(fn) {
      const client = await pool.connect();
      let failed = true;
      try {
        const result = await listening(client, onNotice, () => fn(queryable(client)));
        failed = false;
        return result;
      } finally {
        client.release(failed);
      }
    },
  };
}

/** The tail of the queue of work on each Client: one connection runs one transaction or session at a time. */
const queues = new WeakMap<object, Promise<unknown>>();

function serialized<T>(client: object, fn: () => Promise<T>): Promise<T> {
  const previous = queues.get(client) ?? Promise.resolve();
  const next = previous.then(fn, fn);
  queues.set(client, next.catch(() => {}));
  return next;
}

/**
 * Wraps a connected pg `Client`: one connection, so transactions are BEGIN/COMMIT on it and the session is
 * the client itself. Everything this driver runs on the client waits its turn, so two Migrators sharing a
 * client never mix their statements into each other's transactions.
 *
 * @example
 * ```ts
 * import pg from "pg";
 * const client = new pg.Client(process.env.DATABASE_URL);
 * await client.connect();
 * const driver = pgClientDriver(client);
 * ```
 */
export function pgClientDriver(client: PgClientLike, onNotice?: NoticeSink): Driver {
  const state = client as unknown as { _connected?: unknown; _connecting?: unknown };
  if (state._connected === false && state._connecting === false) {
    // pg would queue our queries forever on a client nobody connects.
    throw new ConnectionError("this pg Client is not connected: call `await client.connect()` first (or pass a pg Pool)");
  }
  const self = queryable(client);
  return {
    name: "node-postgres",
    embedded: false,
    exec: (script) => serialized(client, () => self.exec(script)),
    query: <Row>(text: string, params?: unknown[]) => serialized(client, () => self.query<Row>(text, params)),
    script: <Row>(script: string) => serialized(client, () => self.script!<Row>(script)),
    execCount: (statement) => serialized(client, () => self.execCount!(statement)),
    transaction: (fn) => serialized(client, () => listening(client, onNotice, () => inTransaction(client, fn))),
    session: (fn) => serialized(client, () => listening(client, onNotice, () => fn(self))),
  };
}
