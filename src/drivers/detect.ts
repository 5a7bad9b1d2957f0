/**
 * Turns whatever the user passed (a postgres.js `sql`, a PGlite instance, or a ready Driver) into a Driver.
 * Duck-typed, so users import no adapter.
 * @module
 */
import { MigrationError } from "../errors.ts";
import type { Driver } from "./driver.ts";
import { isPGlite, pgliteDriver } from "./pglite.ts";
import { isPostgresJs, postgresJsDriver } from "./postgres-js.ts";

/** What `quickSetup` and `Migrator` accept as a database. */
export type Database = object;

/** What the error lists as accepted. */
const ACCEPTED = "a postgres.js `sql` instance, a PGlite instance, or an object implementing the Driver interface";

function isDriver(db: unknown): db is Driver {
  const d = db as Record<string, unknown>;
  return typeof db === "object" && db !== null && typeof d.name === "string" && typeof d.exec === "function" &&
    typeof d.query === "function" && typeof d.transaction === "function" && typeof d.session === "function";
}

/**
 * Detects the client behind `db` and wraps it. Throws `UNSUPPORTED_DRIVER` listing what is accepted.
 *
 * @example
 * ```ts
 * const driver = toDriver(postgres(url));
 * driver.name; // "postgres.js"
 * ```
 */
export function toDriver(db: Database): Driver {
  if (isDriver(db)) return db;
  if (isPGlite(db)) return pgliteDriver(db);
  if (isPostgresJs(db)) return postgresJsDriver(db);
  const what = db === null ? "null" : typeof db === "function" ? "a function" : db?.constructor?.name ?? typeof db;
  throw new MigrationError("UNSUPPORTED_DRIVER", `unsupported database client (${what}); expected ${ACCEPTED}`);
}
