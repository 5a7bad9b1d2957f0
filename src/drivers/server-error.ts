/**
 * A Postgres server error in the shape the Migrator reads: `code` is the SQLSTATE, `position` the 1-based
 * character offset into the statement text. For clients that report them under other names (Bun SQL).
 * @module
 */

/** The fields of a Postgres ErrorResponse that the Migrator and users look at. */
export interface ServerErrorFields {
  /** Five-character SQLSTATE, e.g. `42601`. */
  code: string;
  message: string;
  position?: string;
  severity?: string;
  detail?: string;
  hint?: string;
  where?: string;
  schema?: string;
  table?: string;
  column?: string;
  constraint?: string;
}

/**
 * An error reported by the PostgreSQL server, re-shaped from a client's own error (kept as `cause`).
 *
 * @example
 * ```ts
 * try { await driver.exec("selec 1"); } catch (e) {
 *   if (e instanceof ServerError) console.log(e.code, e.position); // "42601" "1"
 * }
 * ```
 */
export class ServerError extends Error implements ServerErrorFields {
  readonly code: string;
  readonly position?: string;
  readonly severity?: string;
  readonly detail?: string;
  readonly hint?: string;
  readonly where?: string;
  readonly schema?: string;
  readonly table?: string;
  readonly column?: string;
  readonly constraint?: string;

  constructor(fields: ServerErrorFields, cause?: unknown) {
    super(fields.message, cause === undefined ? undefined : { cause });
    this.name = "ServerError";
    this.code = fields.code;
    this.position = fields.position;
    this.severity = fields.severity;
    this.detail = fields.detail;
    this.hint = fields.hint;
    this.where = fields.where;
    this.schema = fields.schema;
    this.table = fields.table;
    this.column = fields.column;
    this.constraint = fields.constraint;
  }
}
