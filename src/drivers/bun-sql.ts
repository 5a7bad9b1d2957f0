/**
 * Driver for Bun's built-in SQL client (`Bun.sql`, `new SQL(url)`), PostgreSQL adapter only.
 * It looks like postgres.js (a function with unsafe/begin/reserve/options), so it is told apart by
 * `instanceof Bun.SQL`, which only exists under Bun. The user's `sql` stays theirs: never closed here.
 * @module
 */
import { MigrationError } from "../core/errors.ts";
import { cancellable, type Driver, lastResult, type Queryable, rowCountOf } from "./driver.ts";
import { ServerError } from "./server-error.ts";

/** The part of a Bun SQL instance (or transaction / reserved connection) we use. */
export interface BunSqlLike {
  // deno-lint-ignore no-explicit-any
  unsafe(query: string, params?: unknown[]): PromiseLike<any> & { simple(): PromiseLike<any> };
  // deno-lint-ignore no-explicit-any
  begin?(fn: (tx: any) => Promise<unknown>): PromiseLike<unknown>;
  // deno-lint-ignore no-explicit-any
  reserve?(): Promise<any>;
  options?: { adapter?: string };
}

/** Bun's SQL class, when running under Bun. */
function bunSqlClass(): (abstract new (...args: never[]) => unknown) | undefined {
  const bun = (globalThis as { Bun?: { SQL?: abstract new (...args: never[]) => unknown } }).Bun;
  return typeof bun?.SQL === "function" ? bun.SQL : undefined;
}

/**
 * True when `db` is a Bun SQL instance (any adapter; `bunSqlDriver` refuses the non-PostgreSQL ones).
 * Always false outside Bun.
 *
 * @example
 * ```ts
 * isBunSql(Bun.sql);          // true under Bun
 * isBunSql(postgres(url));    // false: postgres.js has the same methods, but is no Bun.SQL
 * ```
 */
export function isBunSql(db: unknown): db is BunSqlLike {
  const SQL = bunSqlClass();
  return SQL !== undefined && db instanceof SQL;
}

/** Bun reports the SQLSTATE as `errno` (its `code` is e.g. ERR_POSTGRES_SYNTAX_ERROR): put it where the Migrator reads it. */
function serverError(err: unknown): unknown {
  const e = err as Record<string, unknown> | null;
  if (typeof e !== "object" || e === null || typeof e.errno !== "string" || !/^[0-9A-Z]{5}$/.test(e.errno)) return err;
  const text = (key: string): string | undefined => (e[key] === undefined || e[key] === null ? undefined : String(e[key]));
  return new ServerError({
    code: e.errno,
    message: text("message") ?? "database error",
    position: text("position"),
    severity: text("severity"),
    detail: text("detail"),
    hint: text("hint"),
    where: text("where"),
    schema: text("schema"),
    table: text("table"),
    column: text("column"),
    constraint: text("constraint"),
  }, err);
}

async function translated<T>(run: () => PromiseLike<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw serverError(err);
  }
}

function queryable(sql: BunSqlLike): Queryable {
  return {
    async exec(script, cancel) {
      await translated(() => cancellable(sql.unsafe(script).simple(), cancel)); // simple protocol: several statements, no parameters
    },
    async query<Row>(text: string, params: unknown[] = []) {
      return [...(await translated(() => sql.unsafe(text, params)))] as Row[];
    },
    async script<Row>(script: string, cancel?: AbortSignal) {
      return lastResult<Row>(await translated(() => cancellable(sql.unsafe(script).simple(), cancel)));
    },
    async execCount(statement, cancel) {
      return rowCountOf(await translated(() => cancellable(sql.unsafe(statement).simple(), cancel))); // the result's `count`
    },
  };
}

/**
 * Wraps a Bun SQL instance connected to PostgreSQL.
 *
 * @example
 * ```ts
 * import { SQL } from "bun";
 * const driver = bunSqlDriver(new SQL(process.env.DATABASE_URL!));
 * ```
 */
export function bunSqlDriver(sql: BunSqlLike): Driver {
  const adapter = sql.options?.adapter ?? "postgres";
  if (adapter !== "postgres") {
    throw new MigrationError(
      "UNSUPPORTED_DRIVER",
      `this Bun SQL instance uses the ${adapter} adapter; @orchwf/migrate needs PostgreSQL (new SQL("postgres://…"))`,
    );
  }
  return {
    name: "bun-sql",
    embedded: false,
    cancels: true,
    ...queryable(sql),
    async transaction(fn) {
      // deno-lint-ignore no-explicit-any
      return (await translated(() => sql.begin!((tx: any) => fn(queryable(tx))))) as Awaited<ReturnType<typeof fn>>;
    },
    async session(fn) {
      const reserved = await translated(() => sql.reserve!());
      let failed = true;
      try {
        const result = await fn(queryable(reserved));
        failed = false;
        return result;
      } finally {
        // After a failure the connection may still hold a session lock or setting: close it, do not pool it.
        if (failed && typeof reserved.close === "function") await reserved.close().catch(() => {});
        else reserved.release();
      }
    },
  };
}
