/**
 * What the CI reports (SARIF, JUnit, GitHub annotations) are made of: findings of `lint` and problems of
 * `validate`, each at file:line:column under a rule, and the files that were checked. One renderer per format
 * (./sarif.ts, ./junit.ts, ./github.ts) turns a `CheckReport` into text.
 * @module
 */

/** How bad a result is, in the words SARIF and GitHub use. */
export type ReportLevel = "error" | "warning" | "note";

/** A rule a result can name: its id and what it looks for. */
export interface ReportRule {
  id: string;
  /** One line: what the rule looks for. */
  summary: string;
  /** Why it matters and the safe way, for the reader of the report. */
  help?: string;
}

/** One result at a place in a file. */
export interface ReportResult {
  rule: string;
  level: ReportLevel;
  /** The file as the command was given it (relative to the working directory, or absolute). */
  file: string;
  version: string;
  /** 1-based line and column (characters). */
  line: number;
  column: number;
  message: string;
}

/** What a check command (`lint`, `validate`) hands a renderer. */
export interface CheckReport {
  /** The command: `lint` or `validate` (the SARIF run's and JUnit suite's name). */
  command: string;
  /** Every rule the command knows (SARIF lists them; results refer to them by index). */
  rules: readonly ReportRule[];
  /** Every file checked, in order, also those without results (JUnit shows them as passed). */
  files: readonly string[];
  results: readonly ReportResult[];
}
