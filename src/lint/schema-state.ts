/**
 * What the migrations of a directory made so far, as far as lint rules need it: column types (to tell a cheap
 * `varchar` widening from a rewrite) and `CHECK (col IS NOT NULL)` constraints that are validated (which make a
 * later `SET NOT NULL` cheap). Fed statement by statement, in version order.
 * @module
 */
import { alterCommands, nodeOf } from "../core/split.ts";
import type { ParsedStatement } from "../sources/parser.ts";

/** A column type as written: name (lower case, without `pg_catalog.`) and modifiers (`varchar(20)` -> [20]). */
export interface ColumnType {
  name: string;
  mods: number[];
}

/**
 * Column types and NOT NULL checks per table, across the migrations of a directory.
 *
 * @example
 * ```ts
 * const state = new SchemaState();
 * for (const st of statements) state.apply(st);
 * state.columnType("users", "email"); // { name: "varchar", mods: [255] }
 * ```
 */
export class SchemaState {
  private readonly columns = new Map<string, Map<string, ColumnType>>();
  /** table -> constraint name -> column it proves NOT NULL, and whether it is validated. */
  private readonly notNullChecks = new Map<string, Map<string, { column: string; valid: boolean }>>();

  /** The type a column was last given, if a migration of the directory said so. */
  columnType(table: string, column: string): ColumnType | undefined {
    return this.columns.get(table)?.get(column);
  }

  /** True when a validated `CHECK (column IS NOT NULL)` exists on the table. */
  hasValidNotNullCheck(table: string, column: string): boolean {
    for (const c of this.notNullChecks.get(table)?.values() ?? []) if (c.column === column && c.valid) return true;
    return false;
  }

  /** Records what a statement made. */
  apply(st: ParsedStatement): void {
    const n = st.node;
    if (st.kind === "CreateStmt") {
      const table = relationName(n.relation);
      const cols = new Map<string, ColumnType>();
      for (const elt of (n.tableElts as unknown[] | undefined) ?? []) {
        const col = nodeOf(elt, "ColumnDef");
        if (col) cols.set(String(col.colname), typeOf(col.typeName));
      }
      this.columns.set(table, cols);
      this.notNullChecks.delete(table);
    } else if (st.kind === "AlterTableStmt") {
      const table = relationName(n.relation);
      for (const cmd of alterCommands(n)) {
        const col = nodeOf(cmd.def, "ColumnDef");
        if (cmd.subtype === "AT_AddColumn" && col) this.setColumn(table, String(col.colname), typeOf(col.typeName));
        else if (cmd.subtype === "AT_AlterColumnType" && col) this.setColumn(table, String(cmd.name), typeOf(col.typeName));
        else if (cmd.subtype === "AT_AddConstraint") {
          const c = nodeOf(cmd.def, "Constraint");
          const column = c?.contype === "CONSTR_CHECK" ? notNullColumn(c.raw_expr) : undefined;
          if (c && column) {
            const checks = this.notNullChecks.get(table) ?? new Map();
            checks.set(String(c.conname ?? `${table}_${column}_check`), { column, valid: !c.skip_validation });
            this.notNullChecks.set(table, checks);
          }
        } else if (cmd.subtype === "AT_ValidateConstraint") {
          const check = this.notNullChecks.get(table)?.get(String(cmd.name));
          if (check) check.valid = true;
        }
      }
    } else if (st.kind === "DropStmt" && n.removeType === "OBJECT_TABLE") {
      for (const name of dropNames(n)) {
        this.columns.delete(name);
        this.notNullChecks.delete(name);
      }
    }
  }

  private setColumn(table: string, column: string, type: ColumnType): void {
    const cols = this.columns.get(table) ?? new Map<string, ColumnType>();
    cols.set(column, type);
    this.columns.set(table, cols);
  }
}

/** The table name of a RangeVar (without schema: migrations rarely qualify consistently). */
export function relationName(rangeVar: unknown): string {
  return String((rangeVar as { relname?: string } | undefined)?.relname ?? "");
}

/** The last name of each object a DROP names (`DROP TABLE a.b, c` -> ["b", "c"]). */
export function dropNames(node: Record<string, unknown>): string[] {
  return ((node.objects as unknown[] | undefined) ?? []).map((o) => {
    const items = (nodeOf(o, "List")?.items as unknown[] | undefined) ?? [];
    return String(nodeOf(items[items.length - 1], "String")?.sval ?? "");
  });
}

/** A TypeName node as `{ name, mods }`. */
export function typeOf(typeName: unknown): ColumnType {
  const t = typeName as { names?: unknown[]; typmods?: unknown[] } | undefined;
  const names = (t?.names ?? []).map((x) => String(nodeOf(x, "String")?.sval ?? ""));
  const name = names.filter((x) => x !== "pg_catalog").join(".").toLowerCase();
  const mods = (t?.typmods ?? []).map((m) => Number(((nodeOf(m, "A_Const")?.ival as { ival?: number } | undefined)?.ival) ?? NaN));
  return { name: ALIASES[name] ?? name, mods };
}

const ALIASES: Record<string, string> = { "character varying": "varchar", bpchar: "char" };

/** The column of a `CHECK (col IS NOT NULL)` expression, else undefined. */
function notNullColumn(expr: unknown): string | undefined {
  const test = nodeOf(expr, "NullTest");
  if (!test || test.nulltesttype !== "IS_NOT_NULL") return undefined;
  const fields = (nodeOf(test.arg, "ColumnRef")?.fields as unknown[] | undefined) ?? [];
  return fields.length === 1 ? String(nodeOf(fields[0], "String")?.sval ?? "") : undefined;
}
