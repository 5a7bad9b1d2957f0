/**
 * The shapes `lint` works with: a rule, the context a rule sees for one statement, and a finding.
 * @module
 */
import type { ParsedStatement } from "../sources/parser.ts";
import type { SchemaState } from "./schema-state.ts";

/** How bad a finding is: errors make `lint` exit 1 and `up --lint` refuse; notes are suggestions only. */
export type Severity = "error" | "warning" | "note";

/** One finding of `lint`. */
export interface Finding {
  /** The rule's id, e.g. `index-not-concurrent` (also the name for `-- orchwf:lint-ignore`). */
  rule: string;
  severity: Severity;
  file: string;
  version: string;
  /** 1-based line and column (characters) of the statement. */
  line: number;
  column: number;
  /** What this statement does wrong, in its own terms. */
  message: string;
  /** Why it hurts in production. */
  why: string;
  /** How to do it safely. */
  safe: string;
}

/** What a rule sees for one statement. */
export interface StatementContext {
  /** This statement and the ones of its file, in order. */
  statement: ParsedStatement;
  statements: readonly ParsedStatement[];
  index: number;
  /** False for `-- orchwf:no-transaction` migrations. */
  transaction: boolean;
  /** True when the table (or index) `name` was created by an earlier statement of this same migration (new, empty). */
  createdHere(table: string): boolean;
  /** True when an earlier statement of this migration set `lock_timeout`. */
  lockTimeoutSet: boolean;
  /** What earlier migrations of the directory made (column types, NOT NULL checks). */
  schema: SchemaState;
  /** The server major version the project targets (`.orchwf-lint.json` "postgresVersion"); default 12. */
  postgresVersion: number;
  /** How many pre-migration checks (`-- orchwf:check`) the migration has. */
  checks: number;
  /** Per file: rules that report once per file record their id here. */
  once: Set<string>;
  /** How to run this file outside a transaction, in its format's own syntax (`add "-- +goose NO TRANSACTION" at …`). */
  noTransaction: string;
}

/** A rule: its id, default severity, the reason and the safe way, and the check. */
export interface Rule {
  id: string;
  severity: Severity;
  /** One line: what the rule looks for. */
  summary: string;
  why: string;
  safe: string;
  /** Messages for this statement (empty when it is fine). */
  check(ctx: StatementContext): string[];
}
