/**
 * `-- orchwf:batch [pause=DURATION]`: the line before a statement of a no-transaction migration that runs it in
 * batches (engine/batch.ts). Here: finding those lines and refusing the ones that cannot work. Pure, no I/O.
 * @module
 */
import { durationMs } from "./duration.ts";
import type { ParsedStatement } from "../sources/parser.ts";

/**
 * One batched statement: its index among the script's statements, the directive's line and the pause.
 *
 * @example
 * ```ts
 * const directive: BatchDirective = { statement: 0, line: 2, pauseMs: 100 }; // "-- orchwf:batch pause=100ms" on line 2
 * ```
 */
export interface BatchDirective {
  /** Index of the statement in the script's parsed statements. */
  statement: number;
  /** 1-based line of the `-- orchwf:batch` line. */
  line: number;
  /** Pause between two batches (none: the next batch starts at once). */
  pauseMs?: number;
}

/**
 * A `-- orchwf:batch` line that cannot work: where (string offset of the line) and why.
 *
 * @example
 * ```ts
 * for (const p of plan.problems) console.error(`line ${lineOf(script, p.offset)}: ${p.message}`);
 * ```
 */
export interface BatchProblem {
  offset: number;
  message: string;
}

/**
 * The batched statements of a script, by statement index, and the directives refused.
 *
 * @example
 * ```ts
 * const { directives, problems } = batchPlan(script, statements, false);
 * ```
 */
export interface BatchPlan {
  directives: Map<number, BatchDirective>;
  problems: BatchProblem[];
}

const BATCH_LINE = /^[ \t]*--[ \t]*orchwf:batch(?![a-z-])(.*)$/;

/**
 * Statement kinds that report how many rows they changed: the loop stops when that count is 0. A `WITH … UPDATE`
 * is an UpdateStmt; a `WITH … SELECT` is not allowed (its count is the rows it returns, never 0 for `count(*)`).
 */
const COUNTING = new Set(["InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"]);

/**
 * Finds the `-- orchwf:batch` lines of `script` (parsed into `statements`) and the statement each one batches.
 * Refused (as problems): one in a transactional migration, one not on the line before a statement (other comment
 * lines may sit between), two for one statement, an unknown option, a statement that is not INSERT, UPDATE,
 * DELETE or MERGE.
 *
 * @example
 * ```ts
 * const script = "-- orchwf:no-transaction\n-- orchwf:batch pause=100ms\nUPDATE t SET done = true WHERE id IN (SELECT id FROM t WHERE NOT done LIMIT 1000)";
 * const plan = batchPlan(script, await parseStatements(script), false);
 * plan.directives.get(0); // { statement: 0, line: 2, pauseMs: 100 }
 * ```
 */
export function batchPlan(script: string, statements: readonly ParsedStatement[], transactional: boolean): BatchPlan {
  const plan: BatchPlan = { directives: new Map(), problems: [] };
  if (!script.includes("orchwf:batch")) return plan; // the common case: no scan
  const refuse = (offset: number, message: string) => plan.problems.push({ offset, message });
  let line = 0;
  let next = 0; // statements are in order: the first one that may follow the current line
  for (const { offset, text } of linesOf(script)) {
    line++;
    const m = BATCH_LINE.exec(text);
    if (!m) continue;
    while (next < statements.length && statements[next].end <= offset) next++;
    const st = statements[next];
    if (transactional) {
      refuse(offset, `"-- orchwf:batch" runs a statement in batches, each in its own transaction: it needs "-- orchwf:no-transaction" at the top of the file`);
      continue;
    }
    if (!st || st.start <= offset || !onlyComments(script.slice(offset + text.length, st.start))) {
      refuse(offset, `"-- orchwf:batch" must be on the line right before the statement it batches (only comment lines may sit between)`);
      continue;
    }
    const pause = pauseOf(m[1].trim());
    if (typeof pause === "string") {
      refuse(offset, pause);
      continue;
    }
    if (!COUNTING.has(st.kind)) {
      refuse(offset, `"-- orchwf:batch" batches an INSERT, UPDATE, DELETE or MERGE (optionally WITH …) that picks its next rows itself and reports 0 rows when done; this statement is a ${st.kind.replace(/Stmt$/, "")}`);
      continue;
    }
    if (plan.directives.has(next)) {
      refuse(offset, `two "-- orchwf:batch" lines for one statement; keep one`);
      continue;
    }
    plan.directives.set(next, { statement: next, line, ...(pause === undefined ? {} : { pauseMs: pause }) });
  }
  return plan;
}

/**
 * True when every statement of the script is batched: such a migration can be run again from its start, since
 * each batched statement only picks rows not done yet (what makes a dead run's claim resumable, engine/batch-resume.ts).
 *
 * @example
 * ```ts
 * allBatched(batchPlan(script, statements, false), statements.length); // true
 * ```
 */
export function allBatched(plan: BatchPlan, statementCount: number): boolean {
  return statementCount > 0 && plan.problems.length === 0 && plan.directives.size === statementCount;
}

/** The pause of `pause=DURATION` in milliseconds, undefined for none, or the message refusing the options. */
function pauseOf(options: string): number | undefined | string {
  if (options === "") return undefined;
  const m = /^pause=(\S+)$/.exec(options);
  const ms = m ? durationMs(m[1]) : undefined;
  if (ms !== undefined) return ms;
  return `"-- orchwf:batch" takes one option, pause=DURATION (such as pause=100ms or pause=2s); got ${JSON.stringify(options)}`;
}

/** True when `text` is white space and `--` comment lines only. */
function onlyComments(text: string): boolean {
  return text.split(/\r\n|\n|\r/).every((l) => l.trim() === "" || l.trim().startsWith("--"));
}

/** The lines of `script` with their offsets (LF, CRLF and CR end lines, as PostgreSQL reads `--` comments). */
function* linesOf(script: string): Generator<{ offset: number; text: string }> {
  const ends = /\r\n|\n|\r/g;
  let start = 0;
  for (let m = ends.exec(script); m; m = ends.exec(script)) {
    yield { offset: start, text: script.slice(start, m.index) };
    start = m.index + m[0].length;
  }
  yield { offset: start, text: script.slice(start) };
}
