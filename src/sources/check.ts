/**
 * Checks before anything runs: every script is parsed with PostgreSQL's grammar, and what would break a run is
 * reported with `file:line:column` and a code frame: syntax errors, psql meta-commands (`\i`, `\set`), transaction
 * control inside a transactional migration, and statements PostgreSQL refuses inside a transaction block.
 * `up` runs these on every pending migration before the first one is applied; `validate` runs them on all.
 * @module
 */
import { batchPlan } from "../core/batch.ts";
import { placeholderStandIns } from "../core/placeholders.ts";
import { codeFrame, MigrationError, SqlError } from "../core/errors.ts";
import type { Migration } from "../core/migration.ts";
import { needsNoTransaction, parseStatements, transactionProblems } from "../core/split.ts";
import type { ParsedStatement } from "./parser.ts";

/** What a check found, where. */
export interface Problem {
  /** `syntax-error`, `psql-meta-command`, `transaction-control`, `needs-no-transaction`, `copy-stdio` or `batch-directive`. */
  rule: string;
  /** The file (or `migration V (up)` for migrations given in code). */
  file: string;
  version: string;
  /** 1-based line and column (characters). */
  line: number;
  column: number;
  message: string;
  /** The line and its neighbours with a caret under the column. */
  frame: string;
}

/** A script and its statements, or the problem that stopped the parser. */
export interface CheckedScript {
  statements: ParsedStatement[];
  problems: Problem[];
}

/**
 * How to run a file outside a transaction, in its tool's own syntax.
 *
 * @example
 * ```ts
 * noTransactionHint("goose", "db/003_idx.sql"); // 'add "-- +goose NO TRANSACTION" at the top of db/003_idx.sql'
 * ```
 */
export function noTransactionHint(format: string | undefined, file: string): string {
  switch (format) {
    case "dbmate":
      return `mark it "-- migrate:up transaction:false" (and "-- migrate:down transaction:false") in ${file}`;
    case "goose":
      return `add "-- +goose NO TRANSACTION" at the top of ${file}`;
    case "sqlx":
      return `make "-- no-transaction" the first line of ${file}`;
    case "diesel":
      return `add a metadata.toml with "run_in_transaction = false" beside ${file}`;
    case "flyway":
      return `set executeInTransaction=false in ${file}.conf`;
    case "node-pg-migrate":
      return `put "-- orchwf:no-transaction" at the top of ${file} (node-pg-migrate's SQL files have no marker of their own)`;
    default:
      return `put "-- orchwf:no-transaction" at the top of ${file}`;
  }
}

/**
 * Where `offset` is in `script`: 1-based line (LF, CRLF and CR end lines) and column (characters), with a frame.
 *
 * @example
 * ```ts
 * position("a;\r\nselec", 4); // { line: 2, column: 1, frame: "..." }
 * ```
 */
export function position(script: string, offset: number): { line: number; column: number; frame: string } {
  const { line, column } = positions(script)(offset);
  return { line, column, frame: codeFrame(script, line, column) };
}

/**
 * A locator for many offsets of one script: line starts are found once (one pass), each lookup is a binary search,
 * so placing every finding of a large file stays linear (no code frame: see `position`).
 *
 * @example
 * ```ts
 * const at = positions(script);
 * at(120).line;
 * ```
 */
export function positions(script: string): (offset: number) => { line: number; column: number } {
  let starts: number[] | undefined;
  return (offset) => {
    starts ??= lineStarts(script);
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    const line = lo + 1;
    const column = Array.from(script.slice(starts[lo], offset)).length + 1;
    return { line, column };
  };
}

function lineStarts(script: string): number[] {
  const starts = [0];
  for (let i = 0; i < script.length; i++) {
    const c = script.charCodeAt(i);
    if (c === 10 || (c === 13 && script.charCodeAt(i + 1) !== 10)) starts.push(i + 1);
  }
  return starts;
}

/**
 * Parses one script and checks it. `transaction: false` for `-- orchwf:no-transaction` migrations.
 *
 * @example
 * ```ts
 * const { problems } = await checkScript("SELECT 1;\nVACUUM t;", { file: "001_x.up.sql", version: "001" });
 * problems[0].rule; // "needs-no-transaction"
 * ```
 */
export async function checkScript(
  script: string,
  where: { file: string; version: string; transaction?: boolean; format?: string },
): Promise<CheckedScript> {
  const at = positions(script);
  const problem = (rule: string, offset: number, message: string): Problem => {
    const { line, column } = at(offset);
    return { rule, file: where.file, version: where.version, line, column, message, frame: codeFrame(script, line, column) };
  };
  let statements: ParsedStatement[];
  try {
    statements = await parseStatements(script);
  } catch (err) {
    const offset = (err as { offset?: unknown }).offset;
    if (typeof offset !== "number") throw err; // the parser did not load: not a problem of this file
    const meta = psqlMetaCommand(script, offset);
    if (meta) {
      return {
        statements: [],
        problems: [problem(
          "psql-meta-command",
          offset,
          `psql meta-command "${meta}" is not SQL: migrations are sent to the server as they are, not through psql; inline what it does (for \\i, the other file's SQL) or remove the line`,
        )],
      };
    }
    return { statements: [], problems: [problem("syntax-error", offset, (err as Error).message)] };
  }
  const problems: Problem[] = [];
  if (where.transaction !== false) {
    for (const p of transactionProblems(statements)) problems.push(problem("transaction-control", p.offset, p.message));
    for (const st of statements) {
      const what = needsNoTransaction(st);
      if (what) {
        problems.push(problem(
          "needs-no-transaction",
          st.start,
          `${what} cannot run inside a transaction block; ${noTransactionHint(where.format, where.file)} (and keep such statements in a file of their own)`,
        ));
      }
    }
  }
  for (const p of batchPlan(script, statements, where.transaction !== false).problems) problems.push(problem("batch-directive", p.offset, p.message));
  for (const st of statements) {
    // COPY with no file or program streams rows from the client's stdin (or to its stdout): psql sends them, a
    // migration has none, and the server would wait for them.
    if (st.kind === "CopyStmt" && st.node.filename === undefined && !st.node.is_program) {
      problems.push(problem(
        "copy-stdio",
        st.start,
        `"COPY ... ${st.node.is_from ? "FROM STDIN" : "TO STDOUT"}" needs a client that streams the data (psql); a migration cannot: load the rows with INSERT (or COPY from a file on the server)`,
      ));
    }
  }
  return { statements, problems };
}

/** The psql meta-command (`\i`, `\set`, ...) at `offset`, if the line holds one there after white space only. */
function psqlMetaCommand(script: string, offset: number): string | undefined {
  if (script[offset] !== "\\") return undefined;
  let i = offset;
  while (i > 0 && (script[i - 1] === " " || script[i - 1] === "\t")) i--;
  if (i > 0 && script[i - 1] !== "\n" && script[i - 1] !== "\r") return undefined;
  return /^\\[A-Za-z!?]*/.exec(script.slice(offset, offset + 32))![0];
}

/**
 * Checks migrations' scripts (`direction` "up", "down" or "both"); returns every problem, in order.
 *
 * @example
 * ```ts
 * const problems = await checkMigrations(await loadMigrations("./migrations"), "both");
 * ```
 */
export async function checkMigrations(migrations: readonly Migration[], direction: "up" | "down" | "both"): Promise<Problem[]> {
  const problems: Problem[] = [];
  for (const m of migrations) {
    for (const d of direction === "both" ? ["up", "down"] as const : [direction]) {
      const written = d === "up" ? m.up : m.down;
      if (written === undefined) continue;
      // Placeholders without their values parse as identifiers of the same length: positions stay the file's.
      const script = m.placeholders === undefined ? written : placeholderStandIns(written, m.placeholders);
      const file = m.source?.[d] ?? `migration ${m.version} (${d})`;
      problems.push(...(await checkScript(script, { file, version: m.version, transaction: m.transaction, format: m.source?.format })).problems);
    }
  }
  return problems;
}

/**
 * A migration run refused before anything ran: each problem with its place. Code `INVALID_MIGRATION`.
 *
 * @example
 * ```ts
 * if (err instanceof CheckError) for (const p of err.problems) console.error(`${p.file}:${p.line}:${p.column}`);
 * ```
 */
export class CheckError extends MigrationError {
  /** Every problem found, in migration order. */
  readonly problems: Problem[];
  constructor(problems: Problem[], direction: "up" | "down") {
    const verb = direction === "up" ? "applied" : "rolled back";
    const list = problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}\n${p.frame}`).join("\n");
    super(
      "INVALID_MIGRATION",
      `nothing was ${verb}: ${problems.length === 1 ? "a migration" : `${problems.length} problems in the migrations`} to run would fail or break the run\n${list}`,
      { version: problems[0]?.version, file: problems[0]?.file },
    );
    this.problems = problems;
  }
}

/**
 * Parses and checks the migrations a run is about to apply (or roll back), before the first one runs. A syntax
 * error (or a psql meta-command) throws `SqlError` (code `SQL_ERROR`, SQLSTATE 42601, as the server would report it,
 * with "nothing was applied"); other problems throw `CheckError` listing every one.
 *
 * @example
 * ```ts
 * await checkPending(pending, "up"); // nothing ran yet
 * ```
 */
export async function checkPending(migrations: readonly Migration[], direction: "up" | "down"): Promise<void> {
  if (migrations.length === 0) return; // nothing to run: the parser is not even loaded
  const problems = await checkMigrations(migrations, direction);
  if (problems.length === 0) return;
  const syntax = problems.find((p) => p.rule === "syntax-error" || p.rule === "psql-meta-command");
  if (!syntax) throw new CheckError(problems, direction);
  const others = problems.length - 1;
  const more = others > 0 ? `; ${others} more problem${others > 1 ? "s" : ""}: run orchwf-migrate validate` : "";
  throw new SqlError({
    version: syntax.version,
    file: syntax.file,
    detail: `${syntax.message} (found by parsing every migration before running any: nothing was ${direction === "up" ? "applied" : "rolled back"}${more})`,
    sqlState: "42601",
    location: { line: syntax.line, column: syntax.column, frame: syntax.frame },
  });
}

/**
 * The rules `validate` (and `checkScript`) report, with what each looks for: the CI reports list them.
 *
 * @example
 * ```ts
 * CHECK_RULES.find((r) => r.id === "syntax-error")?.summary;
 * ```
 */
export const CHECK_RULES: readonly { id: string; summary: string }[] = [
  { id: "syntax-error", summary: "the script does not parse with PostgreSQL's grammar" },
  { id: "psql-meta-command", summary: "a psql meta-command (\\i, \\set, ...): not SQL, the server cannot run it" },
  { id: "transaction-control", summary: "BEGIN, COMMIT, ROLLBACK or SAVEPOINT in a migration that runs in its own transaction" },
  { id: "needs-no-transaction", summary: "a statement that cannot run inside a transaction block in a transactional migration" },
  { id: "copy-stdio", summary: "COPY FROM STDIN / TO STDOUT: a migration has no client to stream the rows" },
  { id: "batch-directive", summary: "-- orchwf:batch in a transactional migration, not right before a statement, or on one that is not INSERT/UPDATE/DELETE/MERGE" },
];
