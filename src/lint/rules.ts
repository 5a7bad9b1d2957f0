/**
 * The lint rules: operations that lock a busy table for long, rewrite it, lose data or break the application
 * version still running during a deploy. Anchored on the rule lists of squawk and strong_migrations; our own
 * code, on PostgreSQL's parse tree. Each rule says why it hurts and how to do it safely (README: Lint rules).
 * A table made earlier in the same migration is new and empty: rules about existing tables leave it alone.
 * @module
 */
import { alterCommands, nodeOf } from "../core/split.ts";
import { dropNames, relationName, type ColumnType, typeOf } from "./schema-state.ts";
import type { Rule, StatementContext } from "./types.ts";

type Cmd = Record<string, unknown>;

/** ALTER TABLE commands on a table that existed before this migration. */
function existingTableCommands(ctx: StatementContext): { table: string; cmds: Cmd[] } | undefined {
  const { statement: st } = ctx;
  if (st.kind !== "AlterTableStmt" || st.node.objtype !== "OBJECT_TABLE") return undefined;
  const table = relationName(st.node.relation);
  if (ctx.createdHere(table)) return undefined;
  return { table, cmds: alterCommands(st.node) };
}

function constraintOf(cmd: Cmd): Record<string, unknown> | undefined {
  return cmd.subtype === "AT_AddConstraint" ? nodeOf(cmd.def, "Constraint") : undefined;
}

/** Functions whose value differs per row: a column added with such a default is written into every row. */
const VOLATILE = new Set([
  "random",
  "gen_random_uuid",
  "uuid_generate_v1",
  "uuid_generate_v1mc",
  "uuid_generate_v4",
  "uuidv4",
  "uuidv7",
  "clock_timestamp",
  "timeofday",
  "nextval",
  "txid_current",
]);

function callsVolatile(expr: unknown): string | undefined {
  // The default expression is small: a walk over its nodes.
  if (expr === null || typeof expr !== "object") return undefined;
  const call = nodeOf(expr, "FuncCall");
  if (call) {
    const names = ((call.funcname as unknown[] | undefined) ?? []).map((x) => String(nodeOf(x, "String")?.sval ?? ""));
    const name = names[names.length - 1]?.toLowerCase();
    if (name && VOLATILE.has(name)) return `${name}()`;
  }
  for (const value of Object.values(expr as Record<string, unknown>)) {
    const found = callsVolatile(value);
    if (found) return found;
  }
  return undefined;
}

/** True when changing a column from `before` to `after` needs no rewrite (varchar widening, varchar -> text). */
function cheapTypeChange(before: ColumnType | undefined, after: ColumnType): boolean {
  if (!before) return false;
  if (before.name === after.name && before.mods.join() === after.mods.join()) return true; // the same type: nothing to do
  const textual = (t: ColumnType) => t.name === "varchar" || t.name === "text";
  if (!textual(before) || !textual(after)) {
    // numeric(p, s) -> numeric(p2 >= p, same s), and numeric(...) -> numeric
    if (before.name === "numeric" && after.name === "numeric") {
      return after.mods.length === 0 || (after.mods[0] >= before.mods[0] && (after.mods[1] ?? 0) === (before.mods[1] ?? 0));
    }
    return false;
  }
  if (after.name === "text" || after.mods.length === 0) return true;
  return before.name === "varchar" && before.mods.length > 0 && after.mods[0] >= before.mods[0];
}

const show = (t: ColumnType) => `${t.name}${t.mods.length > 0 ? `(${t.mods.join(", ")})` : ""}`;

/** Statement kinds that take an ACCESS EXCLUSIVE (or SHARE) lock on an existing table. */
function locksExistingTable(ctx: StatementContext): string | undefined {
  const { statement: st } = ctx;
  const n = st.node;
  switch (st.kind) {
    case "AlterTableStmt":
    case "RenameStmt":
      return ctx.createdHere(relationName(n.relation)) ? undefined : relationName(n.relation);
    case "IndexStmt":
      return n.concurrent || ctx.createdHere(relationName(n.relation)) ? undefined : relationName(n.relation);
    case "CreateTrigStmt":
      return ctx.createdHere(relationName(n.relation)) ? undefined : relationName(n.relation);
    case "TruncateStmt":
      return ((n.relations as unknown[] | undefined) ?? []).map((r) => relationName(nodeOf(r, "RangeVar"))).find((t) => !ctx.createdHere(t));
    case "DropStmt":
      return n.removeType === "OBJECT_TABLE" ? dropNames(n).find((t) => !ctx.createdHere(t)) : undefined;
    default:
      return undefined;
  }
}

const IDEMPOTENT_HINT = "IF NOT EXISTS / IF EXISTS";

/** The check that no two rows share `columns` (NULLs never collide in a unique index). */
function duplicatesCheck(table: string, columns: string[]): string {
  const list = columns.join(", ");
  return `NOT EXISTS (SELECT ${list} FROM ${table} WHERE ${columns.map((c) => `${c} IS NOT NULL`).join(" AND ")} GROUP BY ${list} HAVING count(*) > 1)`;
}

/**
 * Every rule, in the order findings are explained in the README.
 *
 * @example
 * ```ts
 * RULES.map((r) => r.id); // ["index-not-concurrent", ...]
 * ```
 */
export const RULES: readonly Rule[] = [
  {
    id: "index-not-concurrent",
    severity: "error",
    summary: "CREATE INDEX without CONCURRENTLY on an existing table",
    why: "a plain CREATE INDEX blocks every INSERT, UPDATE and DELETE on the table until the index is built (minutes on a large table)",
    safe: "CREATE INDEX CONCURRENTLY IF NOT EXISTS ... in a file of its own that starts with -- orchwf:no-transaction",
    check(ctx) {
      const { statement: st } = ctx;
      if (st.kind !== "IndexStmt" || st.node.concurrent) return [];
      const table = relationName(st.node.relation);
      if (ctx.createdHere(table)) return [];
      const how = ctx.transaction ? `; CONCURRENTLY cannot run in a transaction: ${ctx.noTransaction}` : "";
      return [`CREATE INDEX on "${table}" without CONCURRENTLY blocks writes to it while the index builds${how}`];
    },
  },
  {
    id: "drop-index-not-concurrent",
    severity: "warning",
    summary: "DROP INDEX without CONCURRENTLY",
    why: "DROP INDEX takes an ACCESS EXCLUSIVE lock on the index's table: it waits for every running query on the table, and every query after it waits too",
    safe: "DROP INDEX CONCURRENTLY IF EXISTS ... in a file of its own that starts with -- orchwf:no-transaction",
    check({ statement: st, createdHere, transaction, noTransaction }) {
      if (st.kind !== "DropStmt" || st.node.removeType !== "OBJECT_INDEX" || st.node.concurrent) return [];
      const old = dropNames(st.node).filter((name) => !createdHere(name));
      const how = transaction ? `; CONCURRENTLY cannot run in a transaction: ${noTransaction}` : "";
      return old.length > 0 ? [`DROP INDEX ${old.join(", ")} without CONCURRENTLY locks its table${how}`] : [];
    },
  },
  {
    id: "constraint-not-valid",
    severity: "error",
    summary: "ADD FOREIGN KEY or CHECK without NOT VALID on an existing table",
    why: "adding the constraint checks every existing row while holding a lock that blocks writes (a foreign key also locks the referenced table)",
    safe: "ALTER TABLE t ADD CONSTRAINT c ... NOT VALID; then, in a later migration, ALTER TABLE t VALIDATE CONSTRAINT c (which does not block writes)",
    check(ctx) {
      const alter = existingTableCommands(ctx);
      if (!alter) return [];
      return alter.cmds.flatMap((cmd) => {
        const c = constraintOf(cmd);
        if (!c || c.skip_validation || (c.contype !== "CONSTR_FOREIGN" && c.contype !== "CONSTR_CHECK")) return [];
        const what = c.contype === "CONSTR_FOREIGN" ? "FOREIGN KEY" : "CHECK";
        return [`ADD ${what}${c.conname ? ` ${String(c.conname)}` : ""} on "${alter.table}" without NOT VALID scans the table under a lock that blocks writes`];
      });
    },
  },
  {
    id: "add-unique-constraint",
    severity: "error",
    summary: "ADD UNIQUE / PRIMARY KEY / EXCLUDE constraint that builds its index under lock",
    why: "the constraint's index is built while an ACCESS EXCLUSIVE lock blocks every read and write of the table",
    safe: "CREATE UNIQUE INDEX CONCURRENTLY i ON t (...) (no-transaction file), then ALTER TABLE t ADD CONSTRAINT c UNIQUE USING INDEX i (or PRIMARY KEY USING INDEX i)",
    check(ctx) {
      const alter = existingTableCommands(ctx);
      if (!alter) return [];
      return alter.cmds.flatMap((cmd) => {
        const c = constraintOf(cmd);
        if (!c || c.indexname || !["CONSTR_UNIQUE", "CONSTR_PRIMARY", "CONSTR_EXCLUSION"].includes(String(c.contype))) return [];
        const what = c.contype === "CONSTR_UNIQUE" ? "UNIQUE" : c.contype === "CONSTR_PRIMARY" ? "PRIMARY KEY" : "EXCLUDE";
        return [`ADD ${what} on "${alter.table}" builds an index while reads and writes are blocked`];
      });
    },
  },
  {
    id: "set-not-null",
    severity: "error",
    summary: "SET NOT NULL without a validated CHECK (col IS NOT NULL)",
    why: "SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock (no reads or writes) unless a validated CHECK already proves it",
    safe: "ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT c (a later migration); then SET NOT NULL (instant on PostgreSQL 12+) and DROP CONSTRAINT c",
    check(ctx) {
      const alter = existingTableCommands(ctx);
      if (!alter) return [];
      return alter.cmds
        .filter((cmd) => cmd.subtype === "AT_SetNotNull" && !ctx.schema.hasValidNotNullCheck(alter.table, String(cmd.name)))
        .map((cmd) => `SET NOT NULL on "${alter.table}"."${String(cmd.name)}" scans the table under an ACCESS EXCLUSIVE lock`);
    },
  },
  {
    id: "suggest-check",
    severity: "note",
    summary: "SET NOT NULL or a new unique index on an existing table, in a migration without a pre-migration check",
    why: "the change fails on the first NULL or duplicate row, after taking its lock and doing part of its work; a check finds such rows first and refuses the migration with a clear message",
    safe: "put the suggested -- orchwf:check line at the top of the up file (see README: Pre-migration checks)",
    check(ctx) {
      if (ctx.checks > 0) return [];
      const suggest = (what: string, check: string) => `${what}: consider -- orchwf:check ${check}`;
      const { statement: st } = ctx;
      if (st.kind === "IndexStmt" && st.node.unique) {
        const table = relationName(st.node.relation);
        if (ctx.createdHere(table)) return [];
        const columns = ((st.node.indexParams as unknown[] | undefined) ?? []).map((p) => nodeOf(p, "IndexElem")?.name);
        if (columns.length === 0 || columns.some((c) => c === undefined)) return []; // an expression: no simple check
        return [suggest(`a unique index on "${table}" fails on duplicate rows`, duplicatesCheck(table, columns.map(String)))];
      }
      const alter = existingTableCommands(ctx);
      if (!alter) return [];
      return alter.cmds.flatMap((cmd) => {
        if (cmd.subtype === "AT_SetNotNull") {
          const column = String(cmd.name);
          if (ctx.schema.hasValidNotNullCheck(alter.table, column)) return []; // a validated CHECK proves no NULLs
          return [suggest(`SET NOT NULL on "${alter.table}"."${column}" fails on a NULL row`, `NOT EXISTS (SELECT FROM ${alter.table} WHERE ${column} IS NULL)`)];
        }
        const c = constraintOf(cmd);
        if (!c || c.indexname || (c.contype !== "CONSTR_UNIQUE" && c.contype !== "CONSTR_PRIMARY")) return [];
        const columns = ((c.keys as unknown[] | undefined) ?? []).map((k) => String(nodeOf(k, "String")?.sval ?? ""));
        if (columns.length === 0) return [];
        return [suggest(`ADD ${c.contype === "CONSTR_UNIQUE" ? "UNIQUE" : "PRIMARY KEY"} on "${alter.table}" fails on duplicate rows`, duplicatesCheck(alter.table, columns))];
      });
    },
  },
  {
    id: "column-type-change",
    severity: "error",
    summary: "ALTER COLUMN TYPE that rewrites the table",
    why: "changing a column's type rewrites the table and its indexes under an ACCESS EXCLUSIVE lock (only widening a varchar, varchar to text, or widening numeric is free)",
    safe: "add a new column of the new type, backfill it in batches, switch the application to it, then drop the old column",
    check(ctx) {
      const alter = existingTableCommands(ctx);
      if (!alter) return [];
      return alter.cmds.flatMap((cmd) => {
        const col = cmd.subtype === "AT_AlterColumnType" ? nodeOf(cmd.def, "ColumnDef") : undefined;
        if (!col) return [];
        const after = typeOf(col.typeName);
        const before = ctx.schema.columnType(alter.table, String(cmd.name));
        if (cheapTypeChange(before, after) && !col.raw_default) return [];
        const from = before ? ` from ${show(before)}` : "";
        return [`ALTER COLUMN "${String(cmd.name)}" TYPE ${show(after)}${from} on "${alter.table}" rewrites the table`];
      });
    },
  },
  {
    id: "add-column-volatile-default",
    severity: "error",
    summary: "ADD COLUMN with a volatile default, a serial, identity or stored generated column",
    why: "every existing row must get its own value, so the table is rewritten under an ACCESS EXCLUSIVE lock (a constant or now() default is free since PostgreSQL 11)",
    safe: "add the column without a default (or with a constant), set the default for new rows, backfill existing rows in batches",
    check(ctx) {
      const alter = existingTableCommands(ctx);
      if (!alter) return [];
      return alter.cmds.flatMap((cmd) => {
        const col = cmd.subtype === "AT_AddColumn" ? nodeOf(cmd.def, "ColumnDef") : undefined;
        if (!col) return [];
        const name = `"${alter.table}"."${String(col.colname)}"`;
        const type = typeOf(col.typeName).name;
        if (["serial", "bigserial", "smallserial", "serial4", "serial8", "serial2"].includes(type)) {
          return [`ADD COLUMN ${name} ${type} fills every row from a sequence: a table rewrite`];
        }
        for (const c of ((col.constraints as unknown[] | undefined) ?? []).map((x) => nodeOf(x, "Constraint"))) {
          if (c?.contype === "CONSTR_IDENTITY") return [`ADD COLUMN ${name} GENERATED AS IDENTITY fills every row: a table rewrite`];
          if (c?.contype === "CONSTR_GENERATED") return [`ADD COLUMN ${name} GENERATED ALWAYS AS (...) STORED computes every row: a table rewrite`];
          if (c?.contype === "CONSTR_DEFAULT") {
            const volatile = callsVolatile(c.raw_expr);
            if (volatile) return [`ADD COLUMN ${name} DEFAULT ${volatile} gives every row its own value: a table rewrite`];
            if (ctx.postgresVersion < 11) return [`ADD COLUMN ${name} with a DEFAULT rewrites the table before PostgreSQL 11`];
          }
        }
        return [];
      });
    },
  },
  {
    id: "rename-column",
    severity: "error",
    summary: "RENAME COLUMN on an existing table",
    why: "the application version still running during the deploy queries the old name and fails until every instance is replaced",
    safe: "add the new column, write to both, backfill, move reads, then drop the old one in a later release (or use a view for the transition)",
    check({ statement: st, createdHere }) {
      return st.kind === "RenameStmt" && st.node.renameType === "OBJECT_COLUMN" && !createdHere(relationName(st.node.relation))
        ? [`RENAME COLUMN "${String(st.node.subname)}" of "${relationName(st.node.relation)}" breaks queries that use the old name`]
        : [];
    },
  },
  {
    id: "rename-table",
    severity: "error",
    summary: "RENAME an existing table",
    why: "the application version still running during the deploy queries the old name and fails until every instance is replaced",
    safe: "create the new table (or a view with the new name), move the application to it in a release, then drop the old name later",
    check({ statement: st, createdHere }) {
      return st.kind === "RenameStmt" && st.node.renameType === "OBJECT_TABLE" && !createdHere(relationName(st.node.relation))
        ? [`RENAME of table "${relationName(st.node.relation)}" to "${String(st.node.newname)}" breaks queries that use the old name`]
        : [];
    },
  },
  {
    id: "drop-column",
    severity: "error",
    summary: "DROP COLUMN on an existing table",
    why: "the data is gone, and the application version still running during the deploy may still read or write the column",
    safe: "stop using the column in the application first (a release), then drop it in a later migration",
    check(ctx) {
      const alter = existingTableCommands(ctx);
      if (!alter) return [];
      return alter.cmds.filter((cmd) => cmd.subtype === "AT_DropColumn")
        .map((cmd) => `DROP COLUMN "${String(cmd.name)}" of "${alter.table}" deletes its data`);
    },
  },
  {
    id: "drop-table",
    severity: "error",
    summary: "DROP TABLE of an existing table",
    why: "the data is gone, and the application version still running during the deploy may still use the table",
    safe: "stop using the table in the application first (a release); keep a backup or rename it aside before dropping it later",
    check({ statement: st, createdHere }) {
      if (st.kind !== "DropStmt" || st.node.removeType !== "OBJECT_TABLE") return [];
      return dropNames(st.node).filter((t) => !createdHere(t)).map((t) => `DROP TABLE "${t}" deletes its data`);
    },
  },
  {
    id: "drop-cascade",
    severity: "error",
    summary: "DROP ... CASCADE",
    why: "CASCADE silently drops whatever depends on the object too: views, foreign keys, other tables' defaults",
    safe: "drop the dependent objects explicitly, by name, then the object without CASCADE",
    check(ctx) {
      const { statement: st } = ctx;
      if ((st.kind === "DropStmt" || st.kind === "TruncateStmt") && st.node.behavior === "DROP_CASCADE") {
        return [`${st.kind === "DropStmt" ? "DROP" : "TRUNCATE"} ... CASCADE also removes everything that depends on it`];
      }
      if (st.kind === "AlterTableStmt") {
        return alterCommands(st.node).filter((cmd) => cmd.behavior === "DROP_CASCADE")
          .map((cmd) => `${cmd.subtype === "AT_DropColumn" ? "DROP COLUMN" : "DROP CONSTRAINT"} "${String(cmd.name)}" CASCADE also removes what depends on it`);
      }
      return [];
    },
  },
  {
    id: "truncate",
    severity: "error",
    summary: "TRUNCATE of an existing table",
    why: "TRUNCATE deletes every row and takes an ACCESS EXCLUSIVE lock; a migration is rarely the place to lose data",
    safe: "delete what must go with DELETE ... WHERE in batches, or do it as a one-off operation outside the migrations",
    check({ statement: st, createdHere }) {
      if (st.kind !== "TruncateStmt") return [];
      const tables = ((st.node.relations as unknown[] | undefined) ?? []).map((r) => relationName(nodeOf(r, "RangeVar")));
      const old = tables.filter((t) => !createdHere(t));
      return old.length > 0 ? [`TRUNCATE ${old.map((t) => `"${t}"`).join(", ")} deletes every row`] : [];
    },
  },
  {
    id: "enum-value-in-transaction",
    severity: "error",
    summary: "ALTER TYPE ... ADD VALUE in a transaction (before PostgreSQL 12), or the new value used in the same migration",
    why: "before PostgreSQL 12, ADD VALUE cannot run in a transaction block; on any version, the new value cannot be used until the transaction that added it commits (SQLSTATE 55P04)",
    safe: "put ALTER TYPE ... ADD VALUE IF NOT EXISTS in a migration of its own (with -- orchwf:no-transaction before PostgreSQL 12) and use the value in a later one",
    check(ctx) {
      const { statement: st } = ctx;
      if (st.kind !== "AlterEnumStmt" || st.node.newVal === undefined || st.node.oldVal !== undefined || !ctx.transaction) return [];
      const value = String(st.node.newVal);
      if (ctx.postgresVersion < 12) return [`ALTER TYPE ... ADD VALUE '${value}' cannot run inside a transaction block before PostgreSQL 12`];
      const literal = `'${value.replace(/'/g, "''")}'`;
      const user = ctx.statements.slice(ctx.index + 1).find((later) => later.text.includes(literal));
      return user ? [`the new enum value ${literal} is used later in the same transaction (fails with "unsafe use of new value")`] : [];
    },
  },
  {
    id: "require-lock-timeout",
    severity: "warning",
    summary: "DDL on an existing table without SET lock_timeout in the file",
    why: "DDL waits for its lock behind every running query, and while it waits every new query on the table waits behind it: a busy table stalls for as long as the lock wait lasts (a note while orchwf-migrate bounds it with --ddl-lock-timeout, 2 s by default, and retries)",
    safe: "keep --ddl-lock-timeout on (the default), or start the file with SET lock_timeout = '2s' (it lasts for this migration's transaction) when another tool runs it",
    check(ctx) {
      if (ctx.lockTimeoutSet || ctx.once.has("require-lock-timeout")) return [];
      const table = locksExistingTable(ctx);
      if (table === undefined) return [];
      ctx.once.add("require-lock-timeout"); // once per file: the first statement that needs it
      return [`this statement locks "${table}" and the file sets no lock_timeout`];
    },
  },
  {
    id: "no-transaction-not-idempotent",
    severity: "error",
    summary: "a no-transaction file with several statements, one of them not re-runnable",
    why: "outside a transaction, a failure part way leaves the earlier statements done; after `resolve --rolled-back` the file runs again from the top and fails on what already exists",
    safe: `one statement per no-transaction file, or guard each with ${IDEMPOTENT_HINT} (OR REPLACE for rules, functions, views, triggers) so the file can run again`,
    check(ctx) {
      if (ctx.transaction || ctx.statements.length < 2) return [];
      const { statement: st } = ctx;
      const n = st.node;
      const unguarded = (["IndexStmt", "CreateStmt", "CreateSeqStmt", "CreateExtensionStmt", "CreateSchemaStmt"].includes(st.kind) && !n.if_not_exists) ||
        (["RuleStmt", "CreateFunctionStmt", "ViewStmt", "CreateTrigStmt"].includes(st.kind) && !n.replace) ||
        (st.kind === "DropStmt" && !n.missing_ok) ||
        (st.kind === "AlterTableStmt" && alterCommands(n).some((c) => ["AT_AddColumn", "AT_DropColumn", "AT_DropConstraint"].includes(String(c.subtype)) && !c.missing_ok));
      return unguarded ? [`${st.text.split(/\s+/).slice(0, 3).join(" ")} ... has no ${IDEMPOTENT_HINT} in a no-transaction file of ${ctx.statements.length} statements`] : [];
    },
  },
  {
    id: "table-rewrite",
    severity: "error",
    summary: "VACUUM FULL or CLUSTER",
    why: "both rewrite the whole table under an ACCESS EXCLUSIVE lock: no reads or writes until done",
    safe: "use pg_repack or pg_squeeze online, or run it in a maintenance window, not in a migration",
    check({ statement: st }) {
      if (st.kind === "ClusterStmt") return ["CLUSTER rewrites the table under an ACCESS EXCLUSIVE lock"];
      if (st.kind !== "VacuumStmt") return [];
      const full = ((st.node.options as unknown[] | undefined) ?? []).some((o) => nodeOf(o, "DefElem")?.defname === "full");
      return full ? ["VACUUM FULL rewrites the table under an ACCESS EXCLUSIVE lock"] : [];
    },
  },
];
