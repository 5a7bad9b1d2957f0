/**
 * Pre-migration checks (`-- orchwf:check <boolean SQL>`): the query that evaluates one, what its answer means, and
 * the `CHECK_FAILED` error that refuses the migration. Pure: the engine (engine/pre-checks.ts) sends the query.
 * @module
 */
import { MigrationError } from "./errors.ts";
import type { Migration, MigrationCheck } from "./migration.ts";

/** What a check said: its boolean, NULL, or the error the server gave. */
export type CheckResult = "true" | "false" | "null" | "error";

/**
 * The one statement that evaluates `check`: its value as `'true'`, `'false'` or `'null'` in the column
 * `orchwf_check`. The check's SQL stands on lines of its own, so a trailing `-- comment` in it cannot swallow the
 * closing parenthesis; CASE makes a non-boolean expression an error ("argument of CASE/WHEN must be type boolean").
 *
 * @example
 * ```ts
 * const [row] = await driver.query(checkQuery({ sql: "NOT EXISTS (SELECT FROM users WHERE email IS NULL)" }));
 * row.orchwf_check; // "true"
 * ```
 */
export function checkQuery(check: MigrationCheck): string {
  const sql = check.sql.trim().replace(/;+\s*$/, "");
  return `SELECT CASE WHEN c THEN 'true' WHEN NOT c THEN 'false' ELSE 'null' END AS orchwf_check FROM (SELECT (\n${sql}\n) AS c) AS orchwf_checked`;
}

/**
 * Where a check of `m` is, for messages: `file:line`, or the migration and the check's place in its list.
 *
 * @example
 * ```ts
 * checkPlace(migration, migration.checks![0], 0); // "migrations/003_x.up.sql:2"
 * ```
 */
export function checkPlace(m: Migration, check: MigrationCheck, index: number): string {
  const file = m.source?.up ?? `migration ${m.version} (up)`;
  return check.line === undefined ? `${file}, check ${index + 1}` : `${file}:${check.line}`;
}

/**
 * The `CHECK_FAILED` error of a check that did not hold (false or NULL) or failed to run (`detail`: the server's
 * message), naming the file, line and query, and saying that nothing of the migration was applied.
 *
 * @example
 * ```ts
 * throw checkFailed(migration, migration.checks![0], 0, "false");
 * ```
 */
export function checkFailed(m: Migration, check: MigrationCheck, index: number, result: CheckResult, detail?: string): MigrationError {
  const said = result === "error" ? `failed: ${detail ?? "unknown error"}` : `is ${result}${result === "null" ? " (NULL counts as false)" : ""}`;
  return new MigrationError(
    "CHECK_FAILED",
    `migration ${m.version} refused by its check at ${checkPlace(m, check, index)}: ${check.sql.trim()} ${said}; nothing of migration ${m.version} was applied (migrations before it stay applied). Fix the data (or the check), then run again`,
    { version: m.version, file: m.source?.up },
  );
}
