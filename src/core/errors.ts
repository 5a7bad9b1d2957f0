/**
 * Error classes with stable `code`s. Callers branch on `code` (or `instanceof`), never on message text.
 *
 * @example
 * ```ts
 * import { MigrationError } from "@orchwf/migrate";
 * try { await migrator.migrate(); } catch (e) {
 *   if (e instanceof MigrationError && e.code === "LOCK_TIMEOUT") process.exit(75);
 *   throw e;
 * }
 * ```
 * @module
 */
import { redactText } from "./redact.ts";

/** Every error code this package throws. */
export type ErrorCode =
  | "CONNECTION_FAILED"
  | "SQL_ERROR"
  | "CHECKSUM_MISMATCH"
  | "MISSING_DOWN"
  | "DUPLICATE_VERSION"
  | "BAD_FILE_NAME"
  | "UNREADABLE_FILE"
  | "INVALID_MIGRATION"
  | "UNKNOWN_VERSION"
  | "DIRTY"
  | "LOCK_TIMEOUT"
  | "TIMEOUT"
  | "ABORTED"
  | "UNSUPPORTED_DRIVER"
  | "USAGE"
  | "VERIFY_FAILED"
  | "VERSION_TABLE"
  | "PERMISSION_DENIED"
  | "SQUASHED_PARTIAL"
  | "OUT_OF_ORDER"
  | "READ_ONLY"
  | "NO_DATABASE"
  | "DATABASE_ERROR"
  | "CHECK_FAILED"
  | "MISSING_PLACEHOLDER"
  | "DIFF_UNPROVEN";

/**
 * Base class of every error this package throws.
 *
 * @example
 * ```ts
 * if (err instanceof MigrationError) console.error(err.code, err.message);
 * ```
 */
export class MigrationError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** Version of the migration concerned, when there is one. */
  readonly version?: string;
  /** File concerned, when there is one. */
  readonly file?: string;

  constructor(
    code: ErrorCode,
    message: string,
    details: { version?: string; file?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = new.target.name;
    this.code = code;
    this.version = details.version;
    this.file = details.file;
  }
}

/**
 * The database could not be reached (refused, unknown host, bad password, timeout while connecting).
 *
 * @example
 * ```ts
 * if (err instanceof ConnectionError) console.error("is the database up?", err.message);
 * ```
 */
export class ConnectionError extends MigrationError {
  constructor(message: string, cause?: unknown) {
    super("CONNECTION_FAILED", redactText(message), { cause });
  }
}

/** Where in a file a SQL error happened. */
export interface SqlErrorLocation {
  /** 1-based line in the file. */
  line: number;
  /** 1-based column (characters) in that line. */
  column: number;
  /** The offending line and its neighbours, with a caret under the column. */
  frame: string;
}

/**
 * A migration's SQL failed. Carries the SQLSTATE and, when Postgres reported a position,
 * the file's line, column and a code frame.
 *
 * @example
 * ```ts
 * if (err instanceof SqlError) console.error(`${err.file}:${err.line}:${err.column}`, err.sqlState);
 * ```
 */
export class SqlError extends MigrationError {
  /** The five-character SQLSTATE from Postgres, e.g. `42P01`. */
  readonly sqlState?: string;
  /** 1-based line in the file, when known. */
  readonly line?: number;
  /** 1-based column in the line, when known. */
  readonly column?: number;
  /** Code frame around the failing line, when known. */
  readonly frame?: string;
  /** Postgres' own message, without our prefix. */
  readonly detail: string;

  constructor(args: {
    version: string;
    file: string;
    detail: string;
    sqlState?: string;
    location?: SqlErrorLocation;
    cause?: unknown;
  }) {
    const where = args.location ? `${args.file}:${args.location.line}:${args.location.column}` : args.file;
    const state = args.sqlState ? ` (SQLSTATE ${args.sqlState})` : "";
    const frame = args.location ? `\n${args.location.frame}` : "";
    super("SQL_ERROR", `migration ${args.version} failed at ${where}: ${args.detail}${state}${frame}`, args);
    this.sqlState = args.sqlState;
    this.line = args.location?.line;
    this.column = args.location?.column;
    this.frame = args.location?.frame;
    this.detail = args.detail;
  }
}

/**
 * Turns a Postgres error `position` (1-based, counted in characters of the whole script) into
 * line, column and a code frame.
 *
 * @example
 * ```ts
 * locate("select 1;\nselec 2", 11); // { line: 2, column: 1, frame: "..." }
 * ```
 */
export function locate(script: string, position: number): SqlErrorLocation {
  const chars = Array.from(script); // Postgres counts characters, JS strings count UTF-16 units
  const before = chars.slice(0, Math.max(0, position - 1)).join("");
  const lines = before.split(/\r\n|\r|\n/); // CR alone ends a line too, as codeFrame counts it
  const line = lines.length;
  const column = Array.from(lines[lines.length - 1]).length + 1;
  return { line, column, frame: codeFrame(script, line, column) };
}

/**
 * A few lines of `text` around `line`, numbered, with a caret under `column`.
 *
 * @example
 * ```ts
 * console.log(codeFrame("a\nb\nc", 2, 1));
 * ```
 */
export function codeFrame(text: string, line: number, column: number): string {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  const first = Math.max(1, line - 2);
  const last = Math.min(lines.length, line + 1);
  const width = String(last).length;
  const out: string[] = [];
  for (let n = first; n <= last; n++) {
    const mark = n === line ? ">" : " ";
    out.push(`${mark} ${String(n).padStart(width)} | ${lines[n - 1]}`);
    if (n === line) out.push(`  ${" ".repeat(width)} | ${" ".repeat(Math.max(0, column - 1))}^`);
  }
  return out.join("\n");
}

/** SQLSTATEs of "could not talk to the server at all", and driver codes of the same. */
const CONNECTION_CODES = /^(08|28|3D000|57P0[1-3]|E[A-Z]+|CONNECT_TIMEOUT|CONNECTION_)/;

/**
 * A ConnectionError for errors that mean "the server could not be reached or refused us", else undefined.
 *
 * @example
 * ```ts
 * throw toConnectionError(err) ?? err;
 * ```
 */
export function toConnectionError(err: unknown): ConnectionError | undefined {
  if (err instanceof MigrationError) return undefined;
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== "string" || !CONNECTION_CODES.test(code)) return undefined;
  const message = (err as Error).message || code;
  return new ConnectionError(`cannot connect to the database: ${message}${message.includes(code) ? "" : ` (${code})`}`, err);
}
