/**
 * Driver for postgres.js (`import postgres from "postgres"`). The user's `sql` stays theirs: never ended here.
 * @module
 */
import type { Driver, Queryable } from "./driver.ts";

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

function queryable(sql: PostgresJsLike): Queryable {
  return {
    async exec(script) {
      await sql.unsafe(script); // no parameters: postgres.js uses the simple protocol, several statements allowed
    },
    async query(text, params = []) {
      return [...(await sql.unsafe(text, params))];
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
    ...queryable(sql),
    async transaction(fn) {
      // deno-lint-ignore no-explicit-any
      return (await sql.begin!((tx: any) => fn(queryable(tx)))) as Awaited<ReturnType<typeof fn>>;
    },
    async session(fn) {
      const reserved = await sql.reserve!();
      try {
        return await fn(queryable(reserved));
      } finally {
        reserved.release();
      }
    },
  };
}
