/**
 * Statements of a SQL script and what kind they are, from PostgreSQL's own parser (src/sources/parser.ts), never
 * from a hand-written lexer: CR or CRLF line ends, nested comments, `E''` strings, dollar quotes with any tag
 * (`$é$`), `BEGIN ATOMIC ... END` bodies and multi-action rules are read exactly as the server reads them.
 * Used to run no-transaction migrations statement by statement, to check and lint files, and to place errors.
 * There is no fallback lexer: when the parser cannot load, the commands that need it fail and say why.
 * @module
 */
import { MigrationError } from "./errors.ts";
import type { ParsedStatement, Parser } from "../sources/parser.ts";

/** Set once loaded: a dynamic import, so commands that need no SQL never load the WebAssembly. */
let loaded: Parser | undefined;

/** One statement and where it starts in the script (a JS string index). */
export interface Statement {
  /** From the statement's first token to its last, without the `;`. */
  text: string;
  /** Where `text` starts in the script. */
  offset: number;
}

/**
 * The parser, loaded on first use. A load failure is a MigrationError that says what to do.
 *
 * @example
 * ```ts
 * const parser = await sqlParser();
 * ```
 */
export async function sqlParser(): Promise<Parser> {
  if (loaded) return loaded;
  try {
    const { loadParser } = await import("../sources/parser.ts");
    loaded = await loadParser();
    return loaded;
  } catch (cause) {
    throw new MigrationError(
      "INVALID_MIGRATION",
      `cannot load the SQL parser (npm package libpg-query, WebAssembly): ${(cause as Error)?.message ?? String(cause)}; reinstall the dependencies (npm ci)`,
      { cause },
    );
  }
}

/**
 * Statements of `script`, in order; empty and comment-only ones dropped. Throws the parser's `ParseFailure` (with
 * its `offset`) on a syntax error: see `src/sources/check.ts` for the located, user-facing form.
 *
 * @example
 * ```ts
 * (await splitStatements("SELECT 1; DO $$ BEGIN PERFORM 2; END $$;")).map((s) => s.text);
 * // ["SELECT 1", "DO $$ BEGIN PERFORM 2; END $$"]
 * ```
 */
export async function splitStatements(script: string): Promise<Statement[]> {
  return (await parseStatements(script)).map((s) => ({ text: s.text, offset: s.start }));
}

/**
 * The statements of `script` if the parser is loaded already and the script parses, else `[]`: for synchronous
 * callers on an error path (placing a runtime error), where the parser was loaded by the checks before the run.
 *
 * @example
 * ```ts
 * const blocks = splitStatementsIfLoaded(script).filter((s) => s.text.startsWith("DO"));
 * ```
 */
export function splitStatementsIfLoaded(script: string): Statement[] {
  try {
    return (loaded?.parse(script) ?? []).map((s) => ({ text: s.text, offset: s.start }));
  } catch {
    return [];
  }
}


/**
 * Parsed statements of `script` with their AST (for checks and lint). Throws `ParseFailure` on a syntax error.
 *
 * @example
 * ```ts
 * const statements = await parseStatements("CREATE INDEX CONCURRENTLY i ON t (a)");
 * statements[0].kind; // "IndexStmt"
 * ```
 */
export async function parseStatements(script: string): Promise<ParsedStatement[]> {
  const known = parsed.get(script) ?? (large?.script === script ? large.statements : undefined);
  if (known) return known;
  const statements = (await sqlParser()).parse(script);
  if (script.length > 262_144) {
    large = { script, statements }; // the last large one only: checked, then run, by the same `up`
    return statements;
  }
  if (parsed.size >= 4096) parsed.clear();
  parsed.set(script, statements);
  return statements;
}

/** Scripts parsed lately: `up` checks every pending migration, then runs each; parse once (results are not mutated). */
const parsed = new Map<string, ParsedStatement[]>();
let large: { script: string; statements: ParsedStatement[] } | undefined;

/**
 * The transaction-control word of a statement that would end or hand over the migration's transaction (COMMIT,
 * ROLLBACK, BEGIN, END, ABORT, START TRANSACTION, PREPARE TRANSACTION, COMMIT PREPARED, ROLLBACK PREPARED), or
 * undefined. SAVEPOINT, RELEASE and ROLLBACK TO stay inside the transaction (see `undefinedSavepoint`).
 *
 * @example
 * ```ts
 * transactionControl((await parseStatements("PREPARE TRANSACTION 'x'"))[0]); // "PREPARE TRANSACTION"
 * ```
 */
export function transactionControl(st: ParsedStatement): string | undefined {
  if (st.kind !== "TransactionStmt") return undefined;
  const kind = String(st.node.kind ?? "");
  return TRANSACTION_WORDS[kind];
}

const TRANSACTION_WORDS: Record<string, string> = {
  TRANS_STMT_BEGIN: "BEGIN",
  TRANS_STMT_START: "START TRANSACTION",
  TRANS_STMT_COMMIT: "COMMIT",
  TRANS_STMT_ROLLBACK: "ROLLBACK",
  TRANS_STMT_PREPARE: "PREPARE TRANSACTION",
  TRANS_STMT_COMMIT_PREPARED: "COMMIT PREPARED",
  TRANS_STMT_ROLLBACK_PREPARED: "ROLLBACK PREPARED",
};

/**
 * Why a statement cannot run inside a transaction block (PostgreSQL refuses it there: SQLSTATE 25001), or
 * undefined when it can. Such statements need `-- orchwf:no-transaction`.
 *
 * @example
 * ```ts
 * needsNoTransaction((await parseStatements("VACUUM t"))[0]); // "VACUUM"
 * ```
 */
export function needsNoTransaction(st: ParsedStatement): string | undefined {
  const n = st.node;
  switch (st.kind) {
    case "IndexStmt":
      return n.concurrent ? "CREATE INDEX CONCURRENTLY" : undefined;
    case "DropStmt":
      return n.concurrent ? "DROP INDEX CONCURRENTLY" : undefined;
    case "ReindexStmt": {
      const concurrently = defNames(n.params).includes("concurrently");
      if (concurrently) return "REINDEX CONCURRENTLY";
      return n.kind === "REINDEX_OBJECT_DATABASE" || n.kind === "REINDEX_OBJECT_SYSTEM" ? "REINDEX DATABASE/SYSTEM" : undefined;
    }
    case "VacuumStmt":
      return n.is_vacuumcmd ? "VACUUM" : undefined;
    case "CreatedbStmt":
      return "CREATE DATABASE";
    case "DropdbStmt":
      return "DROP DATABASE";
    case "AlterDatabaseStmt":
      return defNames(n.options).includes("tablespace") ? "ALTER DATABASE ... SET TABLESPACE" : undefined;
    case "CreateTableSpaceStmt":
      return "CREATE TABLESPACE";
    case "DropTableSpaceStmt":
      return "DROP TABLESPACE";
    case "AlterSystemStmt":
      return "ALTER SYSTEM";
    case "CreateSubscriptionStmt":
      return "CREATE SUBSCRIPTION";
    case "DropSubscriptionStmt":
      return "DROP SUBSCRIPTION";
    case "ClusterStmt":
      return n.relation === undefined ? "CLUSTER (every table)" : undefined;
    case "DiscardStmt":
      return n.target === "DISCARD_ALL" ? "DISCARD ALL" : undefined;
    case "AlterTableStmt":
      return alterCommands(n).some((c) => c.subtype === "AT_DetachPartition" && nodeOf(c.def, "PartitionCmd")?.concurrent)
        ? "DETACH PARTITION CONCURRENTLY"
        : undefined;
    default:
      return undefined;
  }
}

/** The commands of an ALTER TABLE node. */
export function alterCommands(node: Record<string, unknown>): Record<string, unknown>[] {
  return ((node.cmds as unknown[] | undefined) ?? []).map((c) => nodeOf(c, "AlterTableCmd")).filter((c) => c !== undefined);
}

/** `{ Kind: fields }` -> fields, when the wrapper is of that kind. */
export function nodeOf(value: unknown, kind: string): Record<string, unknown> | undefined {
  const inner = (value as Record<string, unknown> | undefined)?.[kind];
  return inner && typeof inner === "object" ? inner as Record<string, unknown> : undefined;
}

function defNames(list: unknown): string[] {
  return ((list as unknown[] | undefined) ?? []).map((d) => String(nodeOf(d, "DefElem")?.defname ?? ""));
}

/**
 * The script to run inside our transaction: a file wrapped in `BEGIN; … COMMIT;` (as golang-migrate users write
 * them) runs as it is, with the wrapper blanked out (same length, so error positions still match the file).
 * Any other transaction control is refused (code `INVALID_MIGRATION`): a COMMIT in the middle would release the
 * migration lock early, a PREPARE TRANSACTION would leave the change in a prepared transaction while its version
 * is recorded.
 *
 * @example
 * ```ts
 * await withoutTransactionWrapper("BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n");
 * // "     ;\nCREATE TABLE t (id int);\n      ;\n"
 * ```
 */
export async function withoutTransactionWrapper(script: string, file = "migration"): Promise<string> {
  const statements = await parseStatements(script);
  const problem = transactionProblems(statements)[0];
  if (problem) {
    const line = lineOf(script, problem.offset);
    throw new MigrationError("INVALID_MIGRATION", `${file}:${line}: ${problem.message}`, { file });
  }
  const wrapper = transactionWrapper(statements);
  if (!wrapper) return script;
  let out = script;
  for (const st of [wrapper.last, wrapper.first]) {
    out = out.slice(0, st.start) + st.text.replace(/[^\n\r]/g, " ") + out.slice(st.end);
  }
  return out;
}

/** The `BEGIN` and `COMMIT` statements of a whole-file wrapper, if the file has one. */
export function transactionWrapper(statements: ParsedStatement[]): { first: ParsedStatement; last: ParsedStatement } | undefined {
  if (statements.length < 2) return undefined;
  const first = statements[0];
  const last = statements[statements.length - 1];
  const plainStart = first.kind === "TransactionStmt" && ["TRANS_STMT_BEGIN", "TRANS_STMT_START"].includes(String(first.node.kind)) &&
    first.node.options === undefined;
  const plainEnd = last.kind === "TransactionStmt" && last.node.kind === "TRANS_STMT_COMMIT" && !last.node.chain;
  return plainStart && plainEnd ? { first, last } : undefined;
}

/** A transaction-control problem in a transactional script: where, and what to do. */
export interface TransactionProblem {
  offset: number;
  message: string;
}

/**
 * Transaction control that would break a transactional migration (outside a whole-file wrapper), and
 * `RELEASE` / `ROLLBACK TO` naming a savepoint the file never made.
 *
 * @example
 * ```ts
 * transactionProblems(await parseStatements(script)); // [{ offset, message }]
 * ```
 */
export function transactionProblems(statements: ParsedStatement[]): TransactionProblem[] {
  const wrapper = transactionWrapper(statements);
  const savepoints = new Set<string>();
  const problems: TransactionProblem[] = [];
  for (const st of statements) {
    if (st === wrapper?.first || st === wrapper?.last || st.kind !== "TransactionStmt") continue;
    const word = transactionControl(st);
    if (word) {
      problems.push({
        offset: st.start,
        message: `"${word}" would end the transaction the migration runs in (and release the migration lock); remove it (a whole-file BEGIN; … COMMIT; wrapper is fine), or put "-- orchwf:no-transaction" at the top of the file`,
      });
      continue;
    }
    const name = String(st.node.savepoint_name ?? "");
    if (st.node.kind === "TRANS_STMT_SAVEPOINT") savepoints.add(name);
    else if (!savepoints.has(name)) {
      const word = st.node.kind === "TRANS_STMT_RELEASE" ? "RELEASE" : "ROLLBACK TO";
      problems.push({ offset: st.start, message: `"${word} ${name}" names a savepoint this file never made (SAVEPOINT ${name} must come first)` });
    }
  }
  return problems;
}

/**
 * 1-based line of a string offset, counting LF, CRLF and lone CR as line ends (as PostgreSQL does for comments).
 *
 * @example
 * ```ts
 * lineOf("a\r\nb\rc", 6); // 3
 * ```
 */
export function lineOf(script: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < script.length; i++) {
    const c = script.charCodeAt(i);
    if (c === 10 || (c === 13 && script.charCodeAt(i + 1) !== 10)) line++;
  }
  return line;
}
