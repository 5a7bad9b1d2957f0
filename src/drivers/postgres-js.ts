/**
 * Driver for postgres.js (`import postgres from "postgres"`). The user's `sql` stays theirs: never ended here.
 * @module
 */
import { toConnectionError } from "../core/errors.ts";
import { cancellable, type Driver, lastResult, type Queryable, rowCountOf } from "./driver.ts";

/** The part of a postgres.js `sql` instance (or transaction / reserved connection) we use. */
export interface PostgresJsLike {
  // deno-lint-ignore no-explicit-any
  unsafe(query: string, params?: any[]): PromiseLike<any>;
  // deno-lint-ignore no-explicit-any
  begin?(fn: (tx: any) => Promise<unknown>): PromiseLike<unknown>;
  // deno-lint-ignore no-explicit-any
  reserve?(): Promise<any>;
}

/**
 * True when `db` looks like a postgres.js `sql` function.
 *
 * @example
 * ```ts
 * isPostgresJs(postgres(url)); // true
 * ```
 */
export function isPostgresJs(db: unknown): db is PostgresJsLike {
  const d = db as Record<string, unknown>;
  return typeof db === "function" && typeof d.unsafe === "function" && typeof d.begin === "function" &&
    typeof d.reserve === "function" && typeof d.options === "object" && d.options !== null;
}

/** True when `err` (or its cause) says the connection is gone. */
function connectionGone(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++, e = (e as { cause?: unknown }).cause) {
    if (toConnectionError(e)) return true;
  }
  return false;
}

function queryable(sql: PostgresJsLike): Queryable {
  return {
    async exec(script, cancel) {
      const running = sql.unsafe(script); // no parameters: postgres.js uses the simple protocol, several statements allowed
      await cancellable(running, cancel);
    },
    async query(text, params = []) {
      return [...(await sql.unsafe(text, params))];
    },
    async script<Row>(script: string, cancel?: AbortSignal) {
      return lastResult<Row>(await cancellable(sql.unsafe(script), cancel));
    },
    async execCount(statement, cancel) {
      return rowCountOf(await cancellable(sql.unsafe(statement), cancel)); // the result's `count`
    },
  };
}

/**
 * Wraps a postgres.js `sql` instance.
 *
 * @example
 * ```ts
 * const driver = postgresJsDriver(postgres(process.env.DATABASE_URL!));
 * ```
 */
export function postgresJsDriver(sql: PostgresJsLike): Driver {
  return {
    name: "postgres.js",
    embedded: false,
    cancels: true,
    ...queryable(sql),
    async transaction(fn) {
      // deno-lint-ignore no-explicit-any
      return (await sql.begin!((tx: any) => fn(queryable(tx)))) as Awaited<ReturnType<typeof fn>>;
    },
    async session(fn) {
      const reserved = await sql.reserve!();
      let lost = false;
      try {
        return await fn(queryable(reserved));
      } catch (err) {
        lost = connectionGone(err);
        throw err;
      } finally {
        // A connection that died is already back among the closed ones; releasing it would put a dead
        // connection into the pool (and make `sql.end()` wait for it forever).
        if (!lost) reserved.release();
      }
    },
  };
}
