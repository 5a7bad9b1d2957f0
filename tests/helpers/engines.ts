/**
 * The two engines every behavioural test runs on: embedded PGlite and a real PostgreSQL server.
 * Each `open()` gives a fresh, empty database of its own, dropped by `close()`.
 */
import { scratchPGlite } from "../../src/schema/scratch-pglite.ts";
import postgres from "postgres";
import { postgresServerUrl } from "./postgres-server.ts";

/** One fresh database and the ways to reach it. */
export interface TestDatabase {
  /** The client to hand to Migrator/quickSetup. */
  db: object;
  /** Runs a query and returns its rows (for assertions). */
  query<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<Row[]>;
  /** A connection URL (postgres://… or pglite:memory is not shareable, so undefined for PGlite). */
  url?: string;
  close(): Promise<void>;
}

export interface Engine {
  name: "pglite" | "postgres";
  /** Undefined when this engine is not available here (PostgreSQL without a server, outside CI). */
  available(): Promise<boolean>;
  open(): Promise<TestDatabase>;
}

let counter = 0;

export const pgliteEngine: Engine = {
  name: "pglite",
  available: () => Promise.resolve(true),
  async open() {
    // Restored from initdb's output kept by the process (as verify's scratch databases are): the same empty
    // database as a fresh one, in about a third of the time, which the suite pays once per behavioural test.
    const db = await scratchPGlite();
    return {
      db,
      async query(text, params) {
        return (await db.query(text, params)).rows as never;
      },
      close: () => db.close(),
    };
  },
};

export const postgresEngine: Engine = {
  name: "postgres",
  available: async () => (await postgresServerUrl()) !== undefined,
  async open() {
    const serverUrl = (await postgresServerUrl())!;
    const name = `orchwf_test_${process.pid}_${++counter}_${Math.random().toString(36).slice(2, 8)}`;
    const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe(`CREATE DATABASE ${name}`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    const sql = postgres(url.toString(), { max: 4, onnotice: () => {} });
    return {
      db: sql,
      url: url.toString(),
      async query(text, params = []) {
        return [...(await sql.unsafe(text, params as never[]))] as never;
      },
      async close() {
        await sql.end();
        await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.end();
      },
    };
  },
};

export const engines: Engine[] = [pgliteEngine, postgresEngine];
