/**
 * What a failed `CREATE INDEX CONCURRENTLY` or `REINDEX CONCURRENTLY` leaves behind: an INVALID index (the new one,
 * or REINDEX's `*_ccnew` copy) that PostgreSQL keeps updating on every write and that blocks running the statement
 * again. The invalid indexes of the statement's table are listed before it runs; after a failure, the ones that
 * appeared are dropped (`DROP INDEX CONCURRENTLY IF EXISTS`), so the migration changed nothing and can simply run
 * again once its cause is fixed. Invalid indexes that were there before are left alone: not ours.
 * @module
 */
import { quoteIdent } from "../core/sql-text.ts";
import type { ParsedStatement } from "../sources/parser.ts";
import type { Queryable } from "../drivers/driver.ts";

/** The relation a CONCURRENTLY index statement works on: a table, or (REINDEX INDEX) an index. */
export interface ConcurrentTarget {
  relation: string;
  isIndex: boolean;
}

/**
 * The target of a CREATE INDEX CONCURRENTLY / REINDEX (CONCURRENTLY) TABLE|INDEX statement, else undefined.
 *
 * @example
 * ```ts
 * concurrentTarget((await parseStatements("CREATE INDEX CONCURRENTLY i ON s.t (a)"))[0]); // { relation: '"s"."t"', isIndex: false }
 * ```
 */
export function concurrentTarget(st: ParsedStatement): ConcurrentTarget | undefined {
  const n = st.node;
  const relation = n.relation as { schemaname?: string; relname?: string } | undefined;
  if (!relation?.relname) return undefined;
  const name = `${relation.schemaname ? `${quoteIdent(relation.schemaname)}.` : ""}${quoteIdent(relation.relname)}`;
  if (st.kind === "IndexStmt" && n.concurrent) return { relation: name, isIndex: false };
  if (st.kind === "ReindexStmt" && /concurrently/i.test(JSON.stringify(n.params ?? []))) {
    if (n.kind === "REINDEX_OBJECT_INDEX") return { relation: name, isIndex: true };
    if (n.kind === "REINDEX_OBJECT_TABLE") return { relation: name, isIndex: false };
  }
  return undefined;
}

/**
 * The invalid indexes of the target's table, as `regclass` text; undefined when the table cannot be named (it does
 * not exist yet: the statement will fail on its own, leaving nothing).
 *
 * @example
 * ```ts
 * const before = await invalidIndexes(conn, target);
 * ```
 */
export async function invalidIndexes(conn: Queryable, target: ConcurrentTarget): Promise<string[] | undefined> {
  const table = target.isIndex ? "(SELECT indrelid FROM pg_index WHERE indexrelid = to_regclass($1))" : "to_regclass($1)";
  try {
    const rows = await conn.query<{ name: string }>(
      `SELECT i.indexrelid::regclass::text AS name FROM pg_index i WHERE i.indrelid = ${table} AND NOT i.indisvalid`,
      [target.relation],
    );
    return rows.map((r) => r.name);
  } catch {
    return undefined;
  }
}

/**
 * Drops the invalid indexes of the target's table that were not in `before`; true when none is left.
 *
 * @example
 * ```ts
 * const clean = await dropNewInvalidIndexes(conn, target, before);
 * ```
 */
export async function dropNewInvalidIndexes(conn: Queryable, target: ConcurrentTarget, before: readonly string[]): Promise<boolean> {
  const after = await invalidIndexes(conn, target);
  if (after === undefined) return false;
  for (const name of after.filter((n) => !before.includes(n))) {
    try {
      await conn.exec(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
    } catch {
      return false;
    }
  }
  return true;
}
