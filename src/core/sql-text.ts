/**
 * Building SQL text safely from names: every identifier we put into SQL goes through here.
 * @module
 */

/**
 * Quotes a Postgres identifier, so any table or schema name is safe and exact.
 *
 * @example
 * ```ts
 * quoteIdent('my "odd" table'); // "\"my \"\"odd\"\" table\""
 * ```
 */
export function quoteIdent(name: string): string {
  if (name.length === 0 || name.includes("\0")) throw new TypeError(`invalid identifier ${JSON.stringify(name)}`);
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * `"schema"."table"`, or just `"table"` when no schema is given (then the search_path decides).
 *
 * @example
 * ```ts
 * qualifiedName("app", "orchwf_migrations"); // "\"app\".\"orchwf_migrations\""
 * ```
 */
export function qualifiedName(schema: string | undefined, table: string): string {
  return schema === undefined ? quoteIdent(table) : `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

/**
 * Quotes a string as a Postgres literal, `E'…'` with quotes and backslashes doubled, so it is read the same
 * whatever `standard_conforming_strings` says.
 *
 * @example
 * ```ts
 * quoteLiteral("it's"); // "E'it''s'"
 * ```
 */
export function quoteLiteral(value: string): string {
  if (value.includes("\0")) throw new TypeError("a SQL literal cannot hold a NUL character");
  return `E'${value.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

/**
 * Statements as a script: each ends with `;`, a blank line between.
 *
 * @example
 * ```ts
 * statementsToSql(["CREATE TABLE t (id int)", "DROP TABLE u"]); // "CREATE TABLE t (id int);\n\nDROP TABLE u;"
 * ```
 */
export function statementsToSql(statements: readonly string[]): string {
  return statements.map((s) => `${s.trimEnd()};`).join("\n\n");
}
