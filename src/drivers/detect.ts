/**
 * Turns whatever the user passed (a postgres.js `sql`, a PGlite instance, a Bun `SQL`, a node-postgres
 * `Pool` or `Client`, or a ready Driver) into a Driver. Duck-typed, so users import no adapter.
 * @module
 */
import { MigrationError } from "../core/errors.ts";
import { bunSqlDriver, isBunSql } from "./bun-sql.ts";
import type { Driver, NoticeSink } from "./driver.ts";
import { isPgClient, isPgPool, pgClientDriver, pgPoolDriver } from "./node-pg.ts";
import { isPGlite, pgliteDriver } from "./pglite.ts";
import { isPostgresJs, postgresJsDriver } from "./postgres-js.ts";

/** What `quickSetup` and `Migrator` accept as a database. */
export type Database = object;

/** What the error lists as accepted. */
const ACCEPTED = [
  "a postgres.js `sql` (postgres(url))",
  "a PGlite instance (new PGlite() / PGlite.create())",
  "a Bun SQL instance (Bun.sql / new SQL(url), PostgreSQL adapter)",
  "a node-postgres Pool (new pg.Pool()) or connected Client (new pg.Client() + connect())",
  "an object implementing the Driver interface",
].join("; ");

function isDriver(db: unknown): db is Driver {
  const d = db as Record<string, unknown>;
  return typeof db === "object" && db !== null && typeof d.name === "string" && typeof d.exec === "function" &&
    typeof d.query === "function" && typeof d.transaction === "function" && typeof d.session === "function";
}

function describe(db: unknown): string {
  if (db === null) return "null";
  if (typeof db === "string") return "a string: pass a client, not a URL, e.g. postgres(url)";
  if (typeof db === "function") return `a function${db.name ? ` named ${db.name}` : ""}`;
  if (typeof db === "object") return (db as object).constructor?.name ? `an instance of ${(db as object).constructor.name}` : "an object";
  return typeof db;
}

/**
 * Detects the client behind `db` and wraps it. Throws `UNSUPPORTED_DRIVER` listing what is accepted. `onNotice`
 * receives the server's notices where the client lets us listen (PGlite, node-postgres).
 * Bun SQL is checked before postgres.js: both are functions with unsafe/begin/reserve/options.
 *
 * @example
 * ```ts
 * const driver = toDriver(postgres(url));
 * driver.name; // "postgres.js"
 * ```
 */
export function toDriver(db: Database, onNotice?: NoticeSink): Driver {
  if (isDriver(db)) return db;
  if (isPGlite(db)) return pgliteDriver(db, onNotice);
  if (isBunSql(db)) return bunSqlDriver(db);
  if (isPostgresJs(db)) return postgresJsDriver(db);
  if (isPgPool(db)) return pgPoolDriver(db, onNotice);
  if (isPgClient(db)) return pgClientDriver(db, onNotice);
  throw new MigrationError("UNSUPPORTED_DRIVER", `unsupported database client (${describe(db)}); expected one of: ${ACCEPTED}`);
}
