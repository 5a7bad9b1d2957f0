/**
 * Puts a used test database back to its freshly migrated state in milliseconds, instead of starting a new PGlite
 * (hundreds of milliseconds): the rows and sequences a test changed are restored; anything else it changed
 * (its schema, roles, large objects, database settings) is detected and the instance is not reused.
 *
 * How a change is seen: every row PostgreSQL writes carries the id of the transaction that wrote it (`xmin`).
 * After each reset the instance remembers the newest transaction id (the watermark). At the next reset, a catalog
 * row newer than the watermark, or a catalog row count unlike the baseline's (a DROP only deletes rows), means DDL
 * (the instance is discarded); a table row newer than it, or a row count
 * different from the baseline, means changed data (the table is emptied and its migrated rows copied back).
 * @module
 */
import type { PGlite } from "@electric-sql/pglite";

/** What a freshly migrated instance holds, captured once per snapshot (every instance of it has the same OIDs). */
export interface Baseline {
  /** User tables, quoted; `rows` is their row count and `copy` their rows when not empty. */
  tables: { name: string; rows: number; copy?: Blob }[];
  /** Sequences, quoted, with the `setval` arguments that restore them. */
  sequences: Map<string, { value: string; called: boolean }>;
  /** System catalogs (all but the planner's statistics), with their row counts: DDL writes or deletes rows there. */
  catalogs: { name: string; rows: number }[];
}

const USER_TABLES = `
  SELECT format('%I.%I', n.nspname, c.relname) AS name
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
  ORDER BY c.oid`;

const SEQUENCES = `SELECT format('%I.%I', schemaname, sequencename) AS name, last_value::text AS value, start_value::text AS start
  FROM pg_catalog.pg_sequences`;

const CATALOGS = `
  SELECT format('pg_catalog.%I', relname) AS name FROM pg_catalog.pg_class
  WHERE relnamespace = 'pg_catalog'::regnamespace AND relkind = 'r'
    AND relname NOT IN ('pg_statistic', 'pg_statistic_ext_data')
  ORDER BY oid`;

/** The schemas of temporary tables stay after DISCARD ALL dropped the tables: they are not a change. */
function notTemporary(catalog: string): string {
  return catalog === "pg_catalog.pg_namespace" ? " WHERE nspname !~ '^pg_(toast_)?temp_'" : "";
}

/**
 * Captures the baseline of a freshly migrated instance (before any test used it).
 *
 * @example
 * ```ts
 * const baseline = await captureBaseline(db);
 * ```
 */
export async function captureBaseline(db: PGlite): Promise<Baseline> {
  const names = (await db.query<{ name: string }>(USER_TABLES)).rows.map((r) => r.name);
  const counts = await rowCounts(db, names.map((name) => `ONLY ${name}`));
  const tables: Baseline["tables"] = [];
  for (const [i, name] of names.entries()) {
    const rows = counts[i];
    const copy = rows > 0 ? (await db.query(`COPY ${name} TO '/dev/blob'`)).blob : undefined;
    tables.push({ name, rows, copy });
  }
  const sequences = new Map<string, { value: string; called: boolean }>();
  for (const s of (await db.query<{ name: string; value: string | null; start: string }>(SEQUENCES)).rows) {
    sequences.set(s.name, s.value === null ? { value: s.start, called: false } : { value: s.value, called: true });
  }
  const catalogNames = (await db.query<{ name: string }>(CATALOGS)).rows.map((r) => r.name);
  const catalogRows = await rowCounts(db, catalogNames.map((name) => `${name}${notTemporary(name)}`));
  return { tables, sequences, catalogs: catalogNames.map((name, i) => ({ name, rows: catalogRows[i] })) };
}

/** The row counts of several `FROM` clauses, in one query. */
async function rowCounts(db: PGlite, froms: string[]): Promise<number[]> {
  if (froms.length === 0) return [];
  const union = froms.map((from, i) => `SELECT ${i} AS i, count(*)::int AS n FROM ${from}`).join(" UNION ALL ");
  return (await db.query<{ n: number }>(`${union} ORDER BY i`)).rows.map((r) => r.n);
}

/**
 * Marks the instance's current state as clean: later writes are newer than the returned watermark.
 *
 * @example
 * ```ts
 * let watermark = await markClean(db);
 * ```
 */
export async function markClean(db: PGlite): Promise<string> {
  const { rows } = await db.query<{ xid: string }>("SELECT (txid_current() % 4294967296)::text AS xid");
  return rows[0].xid;
}

/**
 * Restores a used instance to the baseline. Returns the new watermark, or undefined when the instance cannot be
 * reused (closed, or its schema, roles or settings changed): close it and start a new one.
 *
 * @example
 * ```ts
 * const next = await resetToBaseline(db, baseline, watermark);
 * if (next === undefined) await db.close();
 * ```
 */
export async function resetToBaseline(db: PGlite, baseline: Baseline, watermark: string): Promise<string | undefined> {
  if (db.closed) return undefined;
  if (db.isInTransaction()) await db.exec("ROLLBACK");
  // Session state: settings, role, temporary tables, prepared statements, cursors, listeners, advisory locks.
  await db.exec("DISCARD ALL");
  const newer = `age(xmin) < age('${watermark}'::xid)`;
  const catalogChanged = baseline.catalogs
    .map((c) => `(SELECT count(*) FILTER (WHERE ${newer}) > 0 OR count(*) <> ${c.rows} FROM ${c.name}${notTemporary(c.name)})`)
    .join(" OR ");
  const [catalog, tables, sequences] = await db.exec(`
    SELECT (${catalogChanged}) AS changed;
    SELECT 'none' AS i WHERE false ${baseline.tables.map((t, i) =>
    t.rows === 0
      ? ` UNION ALL SELECT '${i}' WHERE EXISTS (SELECT 1 FROM ONLY ${t.name})`
      : ` UNION ALL SELECT '${i}' FROM (SELECT count(*) AS n, count(*) FILTER (WHERE ${newer}) AS m FROM ONLY ${t.name}) x WHERE n <> ${t.rows} OR m > 0`
  ).join("")};
    ${SEQUENCES};`);
  if ((catalog.rows[0] as { changed: boolean }).changed) return undefined;
  const dirty = (tables.rows as { i: string }[]).map((r) => baseline.tables[Number(r.i)]);
  if (dirty.length > 0) {
    // As a replica: no user triggers and no foreign-key checks while the tables are put back.
    await db.exec(`SET session_replication_role = replica; ${dirty.map((t) => `DELETE FROM ONLY ${t.name};`).join(" ")}`);
    for (const t of dirty) if (t.copy) await db.query(`COPY ${t.name} FROM '/dev/blob'`, [], { blob: t.copy });
    await db.exec("RESET session_replication_role");
  }
  const setvals: string[] = [];
  for (const s of sequences.rows as { name: string; value: string | null }[]) {
    const was = baseline.sequences.get(s.name);
    if (!was) return undefined; // a sequence made by the test (its catalog rows would say so too)
    const same = s.value === null ? !was.called : was.called && s.value === was.value;
    if (same) continue;
    setvals.push(`SELECT setval('${s.name.replaceAll("'", "''")}', ${was.value}, ${was.called});`);
  }
  if (setvals.length > 0) await db.exec(setvals.join(" "));
  return await markClean(db);
}
