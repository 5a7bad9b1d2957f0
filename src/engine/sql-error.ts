/**
 * Turns a server error raised by a migration's SQL into a SqlError that names the file, line and column.
 * Postgres reports a 1-based character `position` into the text it was sent for syntax errors; runtime errors
 * carry none, and are placed by statement (no-transaction runs) or by DO block (whole scripts).
 * @module
 */
import { locate, MigrationError, SqlError, type SqlErrorLocation, toConnectionError } from "../core/errors.ts";
import type { Deadline } from "../core/deadline.ts";
import type { Migration } from "../core/migration.ts";
import { splitStatements, splitStatementsIfLoaded } from "../core/split.ts";

/**
 * The error to report for `err`, raised while `script` (one direction of `m`) ran. `offset` is where the failing
 * statement starts in the script when it ran alone, undefined when the whole script ran at once.
 *
 * @example
 * ```ts
 * throw sqlError(err, migration, "up", migration.up, undefined, deadline);
 * ```
 */
export function sqlError(
  err: unknown,
  m: Migration,
  direction: "up" | "down",
  script: string,
  offset: number | undefined,
  deadline: Deadline,
  /** The migration stopped part way: true, or what exactly stays done (a no-transaction run knows). */
  partial: boolean | string = false,
): unknown {
  if (err instanceof MigrationError) return err;
  const e = err as { code?: string; message?: string; position?: string | number; where?: string };
  if (e.code === "57014" && deadline.expired) return deadline.timeoutError(err);
  const connection = toConnectionError(err);
  if (connection) return connection;
  if (typeof e.code !== "string" || !/^[0-9A-Z]{5}$/.test(e.code)) return err;
  const file = (direction === "up" ? m.source?.up : m.source?.down) ?? `migration ${m.version} (${direction})`;
  const position = Number(e.position);
  const prefix = Array.from(script.slice(0, offset ?? 0)).length; // statement offset, in characters
  const location = position > 0 ? locate(script, prefix + position) : locateRuntime(script, offset ?? (/inline_code_block/.test(e.where ?? "") ? undefined : statementNaming(script, e.message)), e.where);
  const hint = e.code === "25001" && m.transaction !== false
    ? `; put "-- orchwf:no-transaction" at the top of ${file} to run it outside a transaction`
    : "";
  const note = typeof partial === "string"
    ? ` (${partial}; the version is marked failed: see DIRTY in the README)`
    : partial
    ? " (outside a transaction this cannot be undone: the version is marked failed; see DIRTY in the README)"
    : "";
  return new SqlError({
    version: m.version,
    file,
    detail: `${e.message ?? String(err)}${hint}${note}`,
    sqlState: e.code,
    location,
    cause: err,
  });
}

/**
 * Where a runtime error without a position happened. In a no-transaction run the statement is known; in a whole
 * script only an error inside a DO block can be placed: Postgres names the line inside the block
 * ("PL/pgSQL function inline_code_block line 3 at RAISE"), and the block is the one that line fits.
 */
function locateRuntime(script: string, statementOffset: number | undefined, where?: string): SqlErrorLocation | undefined {
  const bodyLine = /inline_code_block line (\d+)(?: at ([A-Za-z]+))?/.exec(where ?? "");
  const offset = statementOffset ?? (bodyLine ? failingDoBlock(script, Number(bodyLine[1]), bodyLine[2]) : undefined);
  if (offset === undefined) return undefined;
  const start = offset + leadingNoise(script.slice(offset));
  if (!bodyLine || !/^DO\b/i.test(script.slice(start))) return locate(script, Array.from(script.slice(0, start)).length + 1);
  const quote = script.indexOf("$", start);
  const lines = script.split("\n");
  const target = script.slice(0, quote === -1 ? start : quote).split("\n").length + Number(bodyLine[1]) - 1;
  const text = lines[target - 1] ?? "";
  const column = text.length - text.trimStart().length + 1;
  return locate(script, Array.from(lines.slice(0, target - 1).join("\n")).length + (target > 1 ? 1 : 0) + column);
}

/** Length of the white space and comments before a statement's first word. */
function leadingNoise(text: string): number {
  return /^(\s+|--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/)*/.exec(text)![0].length;
}

/**
 * A runtime error of a whole script, without a position: the one statement that names what the message names
 * (`index "no_such_index" does not exist`, `column "x" of relation "t" …`), trying the names in the message's
 * order, the last part of a qualified one too. Undefined when no name picks out exactly one statement.
 */
function statementNaming(script: string, message: string | undefined): number | undefined {
  const quoted = [...(message ?? "").matchAll(/"([^"]+)"/g)].map((m) => m[1]);
  const names = quoted.flatMap((name) => (name.includes(".") ? [name, name.slice(name.lastIndexOf(".") + 1)] : [name]));
  if (names.length === 0) return undefined;
  const statements = splitStatementsIfLoaded(script);
  for (const name of names) {
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const naming = new RegExp(`(^|[^\\w$])"?${escaped}"?($|[^\\w$])`, "i");
    const found = statements.filter((st) => naming.test(st.text));
    if (found.length === 1) return found[0].offset;
  }
  return undefined;
}

/**
 * The offset of the DO block a whole-script runtime error came from: the only one, or the only one whose body
 * line `line` exists and starts with the construct Postgres named (RAISE, PERFORM, ...). Undefined when unsure.
 */
function failingDoBlock(script: string, line: number, construct?: string): number | undefined {
  const blocks = splitStatementsIfLoaded(script).filter((st) => /^DO\b/i.test(st.text.slice(leadingNoise(st.text))));
  if (blocks.length === 1) return blocks[0].offset;
  const fits = blocks.filter((st) => {
    const body = st.text.slice(st.text.indexOf("$")).split("\n");
    const text = (body[line - 1] ?? "").trim();
    if (text === "") return false;
    const keyword = construct?.toUpperCase();
    return !keyword || keyword === "SQL" || keyword === "ASSIGNMENT" || text.toUpperCase().startsWith(keyword);
  });
  return fits.length === 1 ? fits[0].offset : undefined;
}

/**
 * True when `script` ends outside any quote, dollar quote or block comment, so "\n;" after it ends its last
 * statement and our own statements can follow in the same message.
 *
 * @example
 * ```ts
 * await endsOutsideQuotes("SELECT 1 -- done"); // true
 * await endsOutsideQuotes("SELECT 'open");     // false
 * ```
 */
export async function endsOutsideQuotes(script: string): Promise<boolean> {
  // A script PostgreSQL's parser accepts ends outside any quote, dollar quote or comment.
  return await splitStatements(script).then(() => true, () => false);
}

/** Prefix of the message of an error raised by our own bookkeeping statements inside a step's message. */
export const BOOKKEEPING_MARK = "orchwf-migrate bookkeeping: ";

/**
 * `statements` (PL/pgSQL) as one DO block whose errors carry BOOKKEEPING_MARK, so that a failure of our own
 * statements after a migration's script is reported as ours, not as a line of the migration's file.
 *
 * @example
 * ```ts
 * const tail = bookkeepingBlock([`INSERT INTO "t" VALUES ('1')`]);
 * ```
 */
export function bookkeepingBlock(statements: readonly string[]): string {
  const body = statements.map((s) => `${s};`).join("\n");
  let tag = "$orchwf_bookkeeping$";
  while (body.includes(tag)) tag = `${tag.slice(0, -1)}_$`; // a description may hold anything
  return `DO ${tag} BEGIN
${body}
EXCEPTION WHEN OTHERS THEN RAISE EXCEPTION USING ERRCODE = SQLSTATE, MESSAGE = '${BOOKKEEPING_MARK}' || SQLERRM;
END ${tag}`;
}

/** Hints for server failures of our own statements, by SQLSTATE class or code. */
function failureHint(sqlState: string): string {
  if (sqlState === "42501") {
    return "; the database user needs USAGE and CREATE on the version table's schema and INSERT, UPDATE, DELETE on the table (or pass another schema/table)";
  }
  if (sqlState === "25006") return "; the database is read-only (a standby, or default_transaction_read_only): point the run at the primary";
  return "";
}

/**
 * A server failure of our own work (creating, reading or writing the version table, taking the lock) as a
 * MigrationError with a documented code: PERMISSION_DENIED (42501), READ_ONLY (25006), CONNECTION_FAILED, or
 * DATABASE_ERROR for any other SQLSTATE. `what` says what we were doing.
 *
 * @example
 * ```ts
 * throw serverFailure(err, `creating "orchwf_migrations"`);
 * ```
 */
export function serverFailure(err: unknown, what: string, details: { version?: string; file?: string } = {}): unknown {
  if (err instanceof MigrationError) return err;
  const connection = toConnectionError(err);
  if (connection) return connection;
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e?.code !== "string" || !/^[0-9A-Z]{5}$/.test(e.code)) return err;
  const code = e.code === "42501" ? "PERMISSION_DENIED" : e.code === "25006" ? "READ_ONLY" : "DATABASE_ERROR";
  const message = String(e.message ?? e.code).replace(BOOKKEEPING_MARK, "");
  return new MigrationError(code, `${what} failed: ${message} (SQLSTATE ${e.code})${failureHint(e.code)}`, { ...details, cause: err });
}
