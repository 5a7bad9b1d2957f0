/**
 * Driver for an embedded PGlite database. PGlite is one session: `session()` is the instance itself.
 * @module
 */
import { type Driver, type NoticeSink, type Queryable, rowCountOf } from "./driver.ts";

/** The part of a PGlite instance (or transaction) we use. */
export interface PGliteLike {
  // deno-lint-ignore no-explicit-any
  exec(script: string, options?: { onNotice?: NoticeSink }): Promise<{ rows: any[] }[]>;
  query<T>(text: string, params?: unknown[], options?: { onNotice?: NoticeSink }): Promise<{ rows: T[]; affectedRows?: number }>;
  transaction?<T>(fn: (tx: PGliteLike) => Promise<T>): Promise<T>;
}

/**
 * True when `db` looks like a PGlite instance.
 *
 * @example
 * ```ts
 * isPGlite(new PGlite()); // true
 * ```
 */
export function isPGlite(db: unknown): db is PGliteLike {
  const d = db as Record<string, unknown>;
  return typeof db === "object" && db !== null && typeof d.exec === "function" && typeof d.query === "function" &&
    typeof d.transaction === "function" && typeof d.dumpDataDir === "function";
}

function queryable(db: PGliteLike, onNotice?: NoticeSink): Queryable {
  // PGlite drops notices unless a query asks for them.
  const options = onNotice ? { onNotice } : undefined;
  return {
    async exec(script) {
      await db.exec(script, options);
    },
    async query<Row>(text: string, params: unknown[] = []) {
      return (await db.query<Row>(text, params, options)).rows;
    },
    async script<Row>(script: string) {
      const results = await db.exec(script, options);
      return (results[results.length - 1]?.rows ?? []) as Row[];
    },
    async execCount(statement) {
      return rowCountOf(await db.query(statement, [], options)); // `affectedRows`
    },
  };
}

/**
 * Wraps a PGlite instance.
 *
 * @example
 * ```ts
 * const driver = pgliteDriver(await PGlite.create());
 * ```
 */
export function pgliteDriver(db: PGliteLike, onNotice?: NoticeSink): Driver {
  const self = queryable(db, onNotice);
  return {
    name: "pglite",
    embedded: true,
    ...self,
    transaction(fn) {
      return db.transaction!((tx) => fn(queryable(tx, onNotice)));
    },
    session(fn) {
      return fn(self);
    },
  };
}
