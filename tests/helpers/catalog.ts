/** What a database's current schema holds, as sorted text lines, for before/after comparisons in tests. */
import type { TestDatabase } from "./engines.ts";

const QUERIES = {
  columns: `SELECT table_name || '.' || column_name || ' ' || data_type ||
      coalesce('(' || character_maximum_length || ')', '') || ' nullable=' || is_nullable ||
      ' default=' || coalesce(column_default, '-') AS line
    FROM information_schema.columns WHERE table_schema = current_schema()`,
  constraints: `SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(c.oid) AS line
    FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = current_schema()`,
  indexes: `SELECT indexname || ' ' || indexdef AS line FROM pg_indexes WHERE schemaname = current_schema()`,
  triggers: `SELECT t.tgrelid::regclass::text || ' ' || pg_get_triggerdef(t.oid) AS line
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE NOT t.tgisinternal AND n.nspname = current_schema()`,
  functions: `SELECT p.proname || ' ' || md5(pg_get_functiondef(p.oid)) AS line
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = current_schema()`,
};

/** Everything in the current schema except the version table (which is the tool's, not the migrations'). */
export async function catalog(db: TestDatabase): Promise<string[]> {
  const lines: string[] = [];
  for (const [kind, sql] of Object.entries(QUERIES)) {
    for (const row of await db.query<{ line: string }>(sql)) {
      if (!row.line.includes("orchwf_migrations")) lines.push(`${kind}: ${row.line}`);
    }
  }
  return lines.sort();
}
