/**
 * The database every example uses: ORCHWF_DB_URL (or DATABASE_URL) when it is set, through postgres.js,
 * else a fresh in-memory PGlite database. Any client works the same way: postgres.js, PGlite, Bun's SQL,
 * a node-postgres Pool or Client are all passed to quickSetup / Migrator as they are.
 */
import { PGlite } from "@electric-sql/pglite";
import postgres from "postgres";

/** An open example database. */
export interface ExampleDatabase {
  /** The client, handed as it is to quickSetup / Migrator. */
  db: postgres.Sql | PGlite;
  /** Where it is, for the printout (no password). */
  label: string;
  /** One statement with $1-style parameters; returns the rows. */
  query<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<Row[]>;
  close(): Promise<void>;
}

/**
 * Opens the example database.
 *
 * @example
 * ```ts
 * const { db, close } = await openDatabase();
 * ```
 */
export async function openDatabase(): Promise<ExampleDatabase> {
  const url = process.env.ORCHWF_DB_URL ?? process.env.DATABASE_URL;
  if (url) {
    const sql = postgres(url, { onnotice: () => {} });
    const where = new URL(url);
    return {
      db: sql,
      label: `postgres://${where.host}${where.pathname}`,
      query: async (text, params = []) => [...(await sql.unsafe(text, params as never[]))] as never,
      close: () => sql.end(),
    };
  }
  const lite = await PGlite.create();
  return {
    db: lite,
    label: "in-memory PGlite",
    query: async (text, params) => (await lite.query(text, params)).rows as never,
    close: () => lite.close(),
  };
}
