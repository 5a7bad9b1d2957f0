/**
 * The statements that turn one schema into another, written from two snapshots (`snapshot.ts`): what `diff` puts
 * in the next migration. Objects are matched by kind and name; a changed object is altered where PostgreSQL can
 * alter it (columns, sequences, domains, enums gaining values, tables' options) and dropped and made again where
 * not (constraints, indexes, views, triggers, policies), with what depends on it. Drops go first, dependants
 * before what they depend on; then creations in dependency order. A rename is never guessed: it is a hint, and
 * happens only when asked (`renames`). Kinds the snapshot sees but this writer cannot make (aggregates, …) are named
 * in `unsupported`; the caller's proof (apply, snapshot, compare) then fails rather than writing a wrong migration.
 * @module
 */
import { MigrationError } from "../core/errors.ts";
import { quoteIdent } from "../core/sql-text.ts";
import type { SchemaObject, SchemaSnapshot } from "./snapshot.ts";

/** Options of `diffSchemas`. */
export interface SchemaDiffOptions {
  /**
   * Renames to make instead of a drop and a create, old name to new, as snapshots name objects: a table
   * `public.users` → `public.members`, a column `public.users.name` → `public.users.full_name`, an enum's value
   * `public.mood.sad` → `public.mood.unhappy`, a view, index or sequence by its qualified name.
   */
  renames?: Readonly<Record<string, string>>;
}

/** The statements from one schema to the other, and what a reviewer must know about them. */
export interface SchemaDiff {
  /** Statements in order, each without its `;`. */
  statements: string[];
  /** Statements that lose data, rewrite a table or fail on rows that exist: one line each, for the file's header. */
  warnings: string[];
  /** Pairs that look like a rename (same definition, one removed, one added), with the option that makes it one. */
  renameHints: string[];
  /** Objects of a kind this writer cannot make or drop: the migration is incomplete without them. */
  unsupported: string[];
}

/**
 * Names as snapshots write them (`schema.table.column`, unquoted) are cut where a known schema, table, view, type or
 * sequence ends, so a name with a dot inside (`"my.table"`) is still cut right. Set by `diffSchemas` for its run
 * (which never awaits).
 */
let owners = new Set<string>();
let schemaNames = new Set<string>();
let learnedFrom: SchemaSnapshot | undefined;
const OWNER_KINDS = new Set(["table", "partitioned table", "foreign table", "view", "materialized view", "sequence", "index", "enum", "domain", "composite type", "range type"]);

/** The names `split` and `q` know, from both snapshots (and the new names of renamed owners). */
function learnNames(from: SchemaSnapshot, to: SchemaSnapshot, renames: Readonly<Record<string, string>>): void {
  learnedFrom = undefined;
  const objects = [...from.objects, ...to.objects];
  schemaNames = new Set([...from.schemas, ...to.schemas, ...objects.filter((o) => o.kind === "schema").map((o) => o.name)]);
  owners = new Set([...schemaNames, ...objects.filter((o) => OWNER_KINDS.has(o.kind)).map((o) => o.name)]);
  for (const [oldName, newName] of Object.entries(renames)) if (owners.has(oldName)) owners.add(newName);
}

/** `public.users.email` -> [`public.users`, `email`]. */
function split(name: string): [string, string] {
  for (let i = name.lastIndexOf("."); i > 0; i = name.lastIndexOf(".", i - 1)) {
    if (owners.has(name.slice(0, i))) return [name.slice(0, i), name.slice(i + 1)];
  }
  const i = name.lastIndexOf(".");
  return [name.slice(0, i), name.slice(i + 1)];
}

/** `public.users` -> `"public"."users"`. */
function q(name: string): string {
  if (schemaNames.has(name) || !name.includes(".")) return quoteIdent(name);
  const [owner, last] = split(name);
  return `${q(owner)}.${quoteIdent(last)}`;
}

/** `public.f(a integer)` -> `"public"."f"(a integer)`. */
function qFunction(name: string): string {
  const open = name.indexOf("(");
  return `${q(name.slice(0, open))}${name.slice(open)}`;
}

/** An identifier as the server's deparser writes one: bare when it can be (keywords aside). */
const asServerWrites = (name: string): string => (/^[a-z_][a-z0-9_$]*$/.test(name) ? name : quoteIdent(name));
/** A string literal as the server writes one (standard_conforming_strings is on since PostgreSQL 9.1). */
const quoteLiteral = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** Whether SQL text names `name` (schema-qualified or not) as a whole identifier. */
function mentions(text: string, qualifiedName: string): boolean {
  const short = split(qualifiedName)[1];
  return new RegExp(`(?<![\\w"$])"?${escape(short)}"?(?![\\w"$])`).test(text);
}

const TABLE_KINDS = new Set(["table", "partitioned table", "foreign table"]);
const VIEW_KINDS = new Set(["view", "materialized view"]);
const TYPE_KINDS = ["enum", "domain", "composite type", "range type"];
const FUNCTION_KINDS = new Set(["function", "procedure"]);
const WRITTEN = new Set([
  ...TABLE_KINDS, ...VIEW_KINDS, ...TYPE_KINDS, ...FUNCTION_KINDS,
  "schema", "extension", "column", "constraint", "index", "trigger", "sequence", "policy", "comment", "privileges",
]);

/** What privileges are on (their name's first words), the snapshot kinds it may be, and how GRANT names it. */
const GRANTED: readonly [string, readonly string[], string][] = [
  ["materialized view", ["materialized view"], "TABLE"], ["table", [...TABLE_KINDS], "TABLE"], ["view", ["view"], "TABLE"],
  ["sequence", ["sequence"], "SEQUENCE"], ["function", ["function"], "FUNCTION"], ["procedure", ["procedure"], "PROCEDURE"],
  ["schema", ["schema"], "SCHEMA"], ["type", ["enum", "composite type", "range type"], "TYPE"], ["domain", ["domain"], "DOMAIN"],
];
/** What an object grants when it has no ACL of its own (PostgreSQL's defaults, the owner's left out). */
const DEFAULT_GRANTS: Readonly<Record<string, string>> = { function: "PUBLIC EXECUTE", procedure: "PUBLIC EXECUTE", type: "PUBLIC USAGE", domain: "PUBLIC USAGE" };

/** What a comment is on (its name's first words, as the snapshot writes them), and the kinds that object may be. */
const COMMENTED: readonly [string, readonly string[]][] = [
  ["materialized view", ["materialized view"]], ["function", ["function"]], ["procedure", ["procedure"]], ["index", ["index"]],
  ["view", ["view"]], ["sequence", ["sequence"]], ["type", ["enum", "composite type", "range type"]], ["domain", ["domain"]],
  ["schema", ["schema"]], ["constraint", ["constraint"]], ["trigger", ["trigger"]], ["policy", ["policy"]],
];
/** A comment at the end of a definition (a table's may be all of it). */
const COMMENT = /(?:^| )COMMENT ((?:E?'(?:[^']|'')*'))$/;

/** A column's definition in parts (the snapshot's `type [COLLATE c] [NOT NULL] [identity] [generated | DEFAULT e] [COMMENT 'x']`). */
interface ColumnParts {
  type: string;
  collation?: string;
  notNull: boolean;
  identity?: string;
  generated?: string;
  default?: string;
  comment?: string;
}

function columnParts(definition: string): ColumnParts {
  const comment = COMMENT.exec(definition)?.[1];
  const rest = definition.replace(COMMENT, "");
  const m = /^(.*?)(?: COLLATE ("(?:[^"]|"")*"|\S+))?( NOT NULL)?(?: GENERATED (ALWAYS|BY DEFAULT) AS IDENTITY)?(?: GENERATED ALWAYS AS \((.*)\) STORED| DEFAULT (.*))?$/s
    .exec(rest)!;
  return { type: m[1], collation: m[2], notNull: m[3] !== undefined, identity: m[4], generated: m[5], default: m[6], comment };
}

function columnSql(p: ColumnParts): string {
  return [
    p.type,
    p.collation && `COLLATE ${p.collation}`,
    p.notNull && "NOT NULL",
    p.identity && `GENERATED ${p.identity} AS IDENTITY`,
    p.generated !== undefined ? `GENERATED ALWAYS AS (${p.generated}) STORED` : p.default !== undefined && `DEFAULT ${p.default}`,
  ].filter(Boolean).join(" ");
}

/** The labels of an enum's definition (`'a', 'b'`). */
function enumLabels(definition: string): string[] {
  return [...definition.matchAll(/'((?:[^']|'')*)'/g)].map((m) => m[1].replace(/''/g, "'"));
}

/** The table an index is on, schema-qualified. */
function indexTable(index: SchemaObject): string | undefined {
  const table = / ON (?:ONLY )?(\S+) USING /.exec(index.definition)?.[1]?.replace(/"/g, "");
  if (table === undefined) return undefined;
  return table.includes(".") ? table : `${split(index.name)[0]}.${table}`;
}

/** A function's `RETURNS …` line: when it changes, `CREATE OR REPLACE` cannot do it. */
function returnsOf(definition: string): string {
  return /^\s*RETURNS .*$/m.exec(definition)?.[0].trim() ?? "";
}

const atomic = (f: SchemaObject): boolean => /\bBEGIN\s+ATOMIC\b/i.test(f.definition);

/**
 * The statements that turn the schema `from` into `to` (both from `snapshotSchema`), in an order PostgreSQL
 * accepts. Run them after the history that made `from`; `diffSchemas(to, from)` gives the way back.
 *
 * @example
 * ```ts
 * import { diffSchemas, snapshotSchema } from "@orchwf/migrate";
 * const diff = diffSchemas(await snapshotSchema(current), await snapshotSchema(desired));
 * console.log(diff.statements.map((s) => `${s};`).join("\n"));
 * ```
 */
export function diffSchemas(from: SchemaSnapshot, to: SchemaSnapshot, options: SchemaDiffOptions = {}): SchemaDiff {
  const out: SchemaDiff = { statements: [], warnings: [], renameHints: [], unsupported: [] };
  learnNames(from, to, options.renames ?? {});
  const renamed = applyRenames(from, to, options.renames ?? {}, out);
  return new Writer(renamed, to, out).write();
}

/**
 * Renames first: the old snapshot is rewritten under the new names (children of a renamed table follow it), so
 * that what is left to compare is what really changed.
 */
function applyRenames(from: SchemaSnapshot, to: SchemaSnapshot, renames: Readonly<Record<string, string>>, out: SchemaDiff): SchemaSnapshot {
  let objects = from.objects.map((o) => ({ ...o }));
  const exists = (objs: SchemaObject[], name: string, kinds?: Set<string> | string[]) =>
    objs.find((o) => o.name === name && (!kinds || [...kinds].includes(o.kind)));
  // Relations first; a column's or value's rename may then name its table by the old name or the new one.
  const relations = new Map<string, string>();
  const isRelation = (name: string) => exists(from.objects, name, [...TABLE_KINDS, ...VIEW_KINDS, "index", "sequence"]) !== undefined;
  const ordered = Object.entries(renames).sort(([a], [b]) => Number(!isRelation(a)) - Number(!isRelation(b)));
  const follow = (name: string) => {
    const [owner, part] = split(name);
    return relations.has(owner) ? `${relations.get(owner)}.${part}` : name;
  };
  for (const [givenOld, givenNew] of ordered) {
    const [oldName, newName] = [follow(givenOld), follow(givenNew)];
    const table = exists(objects, oldName, TABLE_KINDS);
    const view = exists(objects, oldName, VIEW_KINDS);
    const column = exists(objects, oldName, ["column"]);
    const plain = exists(objects, oldName, ["index", "sequence"]);
    const enumOf = exists(objects, split(oldName)[0], ["enum"]);
    if (table || view || plain) {
      const o = (table ?? view ?? plain)!;
      if (split(oldName)[0] !== split(newName)[0]) {
        throw renameError(`rename ${oldName} to ${newName}: a rename stays in its schema (move it with ALTER … SET SCHEMA by hand)`);
      }
      const what = table ? "TABLE" : o.kind === "view" ? "VIEW" : o.kind === "materialized view" ? "MATERIALIZED VIEW" : o.kind.toUpperCase();
      out.statements.push(`ALTER ${what} ${q(oldName)} RENAME TO ${quoteIdent(split(newName)[1])}`);
      relations.set(oldName, newName);
      const [oldShort, newShort] = [split(oldName)[1], split(newName)[1]];
      const prefix = `${oldName}.`;
      objects = objects.map((x) => {
        const y = { ...x };
        if (y.name === oldName && y.kind === o.kind) y.name = newName;
        else if (table && y.name.startsWith(prefix) && ["column", "constraint", "trigger", "policy"].includes(y.kind)) {
          y.name = newName + y.name.slice(oldName.length);
        }
        // The server follows the rename in the definitions that name it.
        y.definition = y.definition.replaceAll(`${oldName} `, `${newName} `)
          .replace(new RegExp(`(REFERENCES |ON (?:ONLY )?)(${escape(quoteIdent(oldShort))}|${escape(oldShort)})\\b(?!")`, "g"), `$1${quoteIdent(newShort)}`);
        return y;
      });
    } else if (column) {
      const [tableName, oldCol] = split(oldName);
      const [newTable, newCol] = split(newName);
      if (newTable !== tableName) throw renameError(`rename ${oldName} to ${newName}: a column keeps its table`);
      out.statements.push(`ALTER TABLE ${q(tableName)} RENAME COLUMN ${quoteIdent(oldCol)} TO ${quoteIdent(newCol)}`);
      const word = new RegExp(`(?<![\\w"$])(${escape(oldCol)}|${escape(quoteIdent(oldCol))})(?![\\w"$])`, "g");
      objects = objects.map((x) => {
        if (x.name === oldName && x.kind === "column") return { ...x, name: newName };
        const onTable = (x.kind === "constraint" && split(x.name)[0] === tableName) || (x.kind === "index" && indexTable(x) === tableName);
        return onTable ? { ...x, definition: x.definition.replace(word, asServerWrites(newCol)) } : x;
      });
    } else if (enumOf && split(newName)[0] === enumOf.name && enumLabels(enumOf.definition).includes(split(oldName)[1])) {
      const [oldLabel, newLabel] = [split(oldName)[1], split(newName)[1]];
      out.statements.push(`ALTER TYPE ${q(enumOf.name)} RENAME VALUE ${quoteLiteral(oldLabel)} TO ${quoteLiteral(newLabel)}`);
      const labels = enumLabels(enumOf.definition).map((l) => (l === oldLabel ? newLabel : l));
      objects = objects.map((x) => (x === enumOf || (x.kind === "enum" && x.name === enumOf.name) ? { ...x, definition: labels.map(quoteLiteral).join(", ") } : x));
    } else {
      throw renameError(`rename ${oldName}: no table, view, index, sequence, column or enum value of that name in the current schema`);
    }
    if (!exists(to.objects, newName) && !enumOf) throw renameError(`rename ${oldName} to ${newName}: the desired schema has no ${newName}`);
  }
  return { schemas: from.schemas, objects };
}

/** A rename the schemas cannot have: a usage error (the CLI's --rename, exit 2). */
function renameError(message: string): MigrationError {
  return new MigrationError("USAGE", `${message} (--rename OLD=NEW names objects as diff's report does)`);
}

/** Writes the statements of one direction. */
class Writer {
  private readonly old: Map<string, SchemaObject>;
  private readonly now: Map<string, SchemaObject>;
  // Drops are collected per group, then ordered: dependants before what they depend on.
  private readonly dropped = {
    rules: [] as string[], views: [] as string[], foreignKeys: [] as string[], constraints: [] as string[],
    indexes: [] as string[], columns: [] as string[], partitions: [] as string[], tables: [] as string[],
    functions: [] as string[], sequences: [] as string[], types: [] as string[], extensions: [] as string[],
    schemas: [] as string[],
  };
  /** Tables whose columns change type or go: views that read them are made again. */
  private readonly reshaped = new Set<string>();
  /** Objects dropped to be made again (views, tables' indexes and triggers follow them). */
  private readonly remade = new Set<string>();

  constructor(private readonly from: SchemaSnapshot, private readonly to: SchemaSnapshot, private readonly out: SchemaDiff) {
    this.old = new Map(from.objects.map((o) => [key(o), o]));
    this.now = new Map(to.objects.map((o) => [key(o), o]));
  }

  private before(kind: string | Set<string>): SchemaObject[] {
    return this.from.objects.filter((o) => (typeof kind === "string" ? o.kind === kind : kind.has(o.kind)));
  }

  private after(kind: string | Set<string>): SchemaObject[] {
    return this.to.objects.filter((o) => (typeof kind === "string" ? o.kind === kind : kind.has(o.kind)));
  }

  private added(kind: string | Set<string>): SchemaObject[] {
    return this.after(kind).filter((o) => !this.old.has(key(o)));
  }

  private removed(kind: string | Set<string>): SchemaObject[] {
    return this.before(kind).filter((o) => !this.now.has(key(o)));
  }

  /** Pairs [old, new] of objects in both, defined differently. */
  private changed(kind: string | Set<string>): [SchemaObject, SchemaObject][] {
    return this.before(kind).flatMap((o) => {
      const n = this.now.get(key(o));
      return n && n.definition !== o.definition ? [[o, n] as [SchemaObject, SchemaObject]] : [];
    });
  }

  private tableIn(snapshot: "old" | "now", name: string): SchemaObject | undefined {
    const map = snapshot === "old" ? this.old : this.now;
    for (const kind of TABLE_KINDS) {
      const t = map.get(`${kind}\0${name}`);
      if (t) return t;
    }
    return undefined;
  }

  private tableGoes(name: string): boolean {
    return this.tableIn("old", name) !== undefined && this.tableIn("now", name) === undefined;
  }

  private tableComes(name: string): boolean {
    return this.tableIn("now", name) !== undefined && this.tableIn("old", name) === undefined;
  }

  write(): SchemaDiff {
    for (const o of [...this.from.objects, ...this.to.objects]) {
      if (!WRITTEN.has(o.kind) && this.old.get(key(o))?.definition !== this.now.get(key(o))?.definition) {
        const line = `${o.kind} ${o.name}`;
        if (!this.out.unsupported.includes(line)) this.out.unsupported.push(line);
      }
    }
    this.hintRenames();
    this.columns(); // first: it learns which tables are reshaped, which the views' drops need
    this.enumsAndTypes();
    this.dropDependants();
    this.tablesAndSequences();
    this.functions();
    this.schemasAndExtensions();
    this.comments();
    this.privileges();
    this.out.statements.push(...Object.values(this.dropped).flat(), ...this.creationsInOrder());
    return this.out;
  }

  // Creations are collected per group, then ordered.
  private readonly groups = {
    renames: [] as string[], schemas: [] as string[], extensions: [] as string[], types: [] as string[], sequences: [] as string[],
    functions: [] as string[], tables: [] as string[], columns: [] as string[], owned: [] as string[],
    constraints: [] as string[], foreignKeys: [] as string[], indexes: [] as string[], views: [] as string[],
    viewIndexes: [] as string[], atomicFunctions: [] as string[], triggers: [] as string[], security: [] as string[], policies: [] as string[],
    comments: [] as string[], grants: [] as string[],
  };

  private creationsInOrder(): string[] {
    const g = this.groups;
    const functions = g.functions.length > 0 ? ["SET LOCAL check_function_bodies = off", ...g.functions] : [];
    return [
      ...g.renames, ...g.schemas, ...g.extensions, ...g.types, ...g.sequences, ...functions, ...g.tables, ...g.columns, ...g.owned,
      ...g.constraints, ...g.foreignKeys, ...g.indexes, ...g.views, ...g.viewIndexes, ...g.atomicFunctions, ...g.triggers, ...g.security,
      ...g.policies, ...g.comments, ...g.grants,
    ];
  }

  private hintRenames(): void {
    // An index named like a constraint is the constraint's: it goes and comes with it.
    const constraintNames = new Set([...this.from.objects, ...this.to.objects].filter((c) => c.kind === "constraint").map((c) => split(c.name)[1]));
    for (const kind of [...TABLE_KINDS, ...VIEW_KINDS, "column", "index", "sequence"]) {
      const backed = (o: SchemaObject) => kind === "index" && constraintNames.has(split(o.name)[1]);
      const gone = this.removed(kind).filter((o) => !backed(o));
      for (const n of this.added(kind).filter((o) => !backed(o))) {
        const same = gone.find((o) => this.shape(o, "old") === this.shape(n, "now") && (kind !== "column" || split(o.name)[0] === split(n.name)[0]));
        if (same) {
          this.out.renameHints.push(`${kind} ${same.name} is removed and ${n.name} added with the same definition: if it is a rename, pass --rename ${same.name}=${n.name}`);
        }
      }
    }
  }

  /** What a table is made of (its columns' definitions), or an object's own definition, for rename hints. */
  private shape(o: SchemaObject, side: "old" | "now"): string {
    if (!TABLE_KINDS.has(o.kind)) return o.kind === "index" ? o.definition.replace(/^CREATE (UNIQUE )?INDEX \S+ /, "") : o.definition;
    const objects = side === "old" ? this.from.objects : this.to.objects;
    return objects.filter((c) => c.kind === "column" && split(c.name)[0] === o.name).map((c) => `${split(c.name)[1]} ${c.definition}`).sort().join(",");
  }

  private columns(): void {
    for (const c of this.removed("column")) {
      const [table, column] = split(c.name);
      if (this.tableGoes(table)) continue;
      this.reshaped.add(table);
      this.dropped.columns.push(`ALTER TABLE ${q(table)} DROP COLUMN ${quoteIdent(column)}`);
      this.out.warnings.push(`drops column ${c.name}: its data is lost`);
    }
    // New columns in their order in the desired table (ADD COLUMN appends).
    const byPosition = (a: SchemaObject, b: SchemaObject) => (a.position ?? 0) - (b.position ?? 0);
    for (const c of this.added("column").sort(byPosition)) {
      const [table, column] = split(c.name);
      if (this.tableComes(table) || this.partition(table)) continue;
      const p = columnParts(c.definition);
      this.groups.columns.push(`ALTER TABLE ${q(table)} ADD COLUMN ${quoteIdent(column)} ${columnSql(p)}`);
      if (p.notNull && p.default === undefined && p.generated === undefined && p.identity === undefined) {
        this.out.warnings.push(`adds NOT NULL column ${c.name} without a default: fails while ${table} has rows`);
      }
      if (p.generated !== undefined || (p.default !== undefined && /\(/.test(p.default))) {
        this.out.warnings.push(`adds column ${c.name} with a computed value: a generated column or a volatile default rewrites ${table}`);
      }
      if (p.comment) this.groups.comments.push(`COMMENT ON COLUMN ${q(c.name)} IS ${p.comment}`);
    }
    for (const [o, n] of this.changed("column")) {
      const [table, column] = split(o.name);
      if (this.partition(table)) continue;
      const [a, b] = [columnParts(o.definition), columnParts(n.definition)];
      const alter = (what: string) => this.groups.columns.push(`ALTER TABLE ${q(table)} ALTER COLUMN ${quoteIdent(column)} ${what}`);
      if (a.generated !== b.generated) {
        // A generation expression is made again with its column (the value is derived, nothing is lost).
        this.reshaped.add(table);
        this.dropped.columns.push(`ALTER TABLE ${q(table)} DROP COLUMN ${quoteIdent(column)}`);
        this.groups.columns.push(`ALTER TABLE ${q(table)} ADD COLUMN ${quoteIdent(column)} ${columnSql(b)}`);
        this.out.warnings.push(`makes column ${o.name} again for its new generation expression: rewrites ${table}`);
        if (b.comment) this.groups.comments.push(`COMMENT ON COLUMN ${q(o.name)} IS ${b.comment}`);
        continue;
      }
      const retyped = a.type !== b.type || a.collation !== b.collation;
      if (retyped) {
        this.reshaped.add(table);
        if (a.default !== undefined) alter("DROP DEFAULT");
        alter(`TYPE ${b.type}${b.collation ? ` COLLATE ${b.collation}` : ""} USING ${quoteIdent(column)}::${b.type}`);
        this.out.warnings.push(`changes the type of ${o.name} from ${a.type} to ${b.type}: may rewrite ${table} and its indexes`);
      }
      if (a.identity !== b.identity) {
        if (!b.identity) alter("DROP IDENTITY");
        else if (!a.identity) alter(`ADD GENERATED ${b.identity} AS IDENTITY`);
        else alter(`SET GENERATED ${b.identity}`);
      }
      if (a.default !== b.default || (retyped && b.default !== undefined)) {
        if (b.default !== undefined) alter(`SET DEFAULT ${b.default}`);
        else if (!retyped) alter("DROP DEFAULT");
      }
      if (a.notNull !== b.notNull) {
        alter(b.notNull ? "SET NOT NULL" : "DROP NOT NULL");
        if (b.notNull) this.out.warnings.push(`sets NOT NULL on ${o.name}: scans ${table}, fails on a NULL (consider a check: -- orchwf:check NOT EXISTS (SELECT 1 FROM ${table} WHERE ${quoteIdent(column)} IS NULL))`);
      }
      if (a.comment !== b.comment) this.groups.comments.push(`COMMENT ON COLUMN ${q(o.name)} IS ${b.comment ?? "NULL"}`);
    }
  }

  /** A partition's columns are its parent's. */
  private partition(table: string): boolean {
    const t = this.tableIn("now", table) ?? this.tableIn("old", table);
    return t !== undefined && /(^| )PARTITION OF /.test(t.definition);
  }

  private enumsAndTypes(): void {
    const g = this.groups;
    for (const e of this.added("enum")) g.types.push(`CREATE TYPE ${q(e.name)} AS ENUM (${e.definition})`);
    for (const [o, n] of this.changed("enum")) {
      const [was, now] = [enumLabels(o.definition), enumLabels(n.definition)];
      const keeps = was.every((l) => now.includes(l)) && was.every((l, i) => i === 0 || now.indexOf(l) > now.indexOf(was[i - 1]));
      if (keeps) {
        // Only new values: added in place, each before the next old one (or after the last).
        for (const [i, label] of now.entries()) {
          if (was.includes(label)) continue;
          const next = now.slice(i + 1).find((l) => was.includes(l));
          g.types.push(`ALTER TYPE ${q(n.name)} ADD VALUE ${quoteLiteral(label)}${next !== undefined ? ` BEFORE ${quoteLiteral(next)}` : ""}`);
          was.splice(next !== undefined ? was.indexOf(next) : was.length, 0, label);
        }
        continue;
      }
      // Values removed or reordered: a new type, the columns moved to it through text, the old one dropped.
      const old = `${split(o.name)[1]}_old`;
      const users = this.from.objects.filter((c) => c.kind === "column" && this.usesType(c, o.name) && this.now.has(key(c)));
      g.types.push(`ALTER TYPE ${q(o.name)} RENAME TO ${quoteIdent(old)}`, `CREATE TYPE ${q(n.name)} AS ENUM (${n.definition})`);
      for (const c of users) {
        const [table, column] = split(c.name);
        const p = columnParts(this.now.get(key(c))!.definition);
        const array = /\[\]$/.test(columnParts(c.definition).type) ? "[]" : "";
        this.reshaped.add(table);
        const alter = `ALTER TABLE ${q(table)} ALTER COLUMN ${quoteIdent(column)}`;
        if (p.default !== undefined) g.types.push(`${alter} DROP DEFAULT`);
        g.types.push(`${alter} TYPE ${q(n.name)}${array} USING ${quoteIdent(column)}::text${array}::${q(n.name)}${array}`);
        if (p.default !== undefined) g.types.push(`${alter} SET DEFAULT ${p.default}`);
      }
      g.types.push(`DROP TYPE ${q(`${split(o.name)[0]}.${old}`)}`);
      const lost = was.filter((l) => !now.includes(l));
      this.out.warnings.push(`makes enum ${o.name} again${lost.length ? ` without ${lost.join(", ")} (fails while a row holds one)` : " to reorder its values"}: rewrites ${users.length ? users.map((c) => split(c.name)[0]).join(", ") : "no table"}`);
    }
    for (const kind of ["composite type", "range type"]) {
      for (const t of this.added(kind)) g.types.push(this.createType(t));
      for (const [o, n] of this.changed(kind)) {
        this.dropped.types.push(`DROP TYPE ${q(o.name)}`);
        g.types.push(this.createType(n));
      }
    }
    for (const d of this.added("domain")) g.types.push(`CREATE DOMAIN ${q(d.name)} AS ${d.definition}`);
    for (const [o, n] of this.changed("domain")) {
      const part = (def: string, re: RegExp) => re.exec(def)?.[1];
      const base = (def: string) => def.replace(/ NOT NULL.*$| DEFAULT .*$/s, "");
      if (base(o.definition) !== base(n.definition)) {
        this.dropped.types.push(`DROP DOMAIN ${q(o.name)}`);
        g.types.push(`CREATE DOMAIN ${q(n.name)} AS ${n.definition}`);
        this.out.warnings.push(`makes domain ${o.name} again for its new base type: fails while a column uses it`);
        continue;
      }
      const [nn0, nn1] = [/ NOT NULL/.test(o.definition), / NOT NULL/.test(n.definition)];
      if (nn0 !== nn1) g.types.push(`ALTER DOMAIN ${q(n.name)} ${nn1 ? "SET" : "DROP"} NOT NULL`);
      const [d0, d1] = [part(o.definition, / DEFAULT (.*)$/s), part(n.definition, / DEFAULT (.*)$/s)];
      if (d0 !== d1) g.types.push(`ALTER DOMAIN ${q(n.name)} ${d1 !== undefined ? `SET DEFAULT ${d1}` : "DROP DEFAULT"}`);
    }
  }

  private createType(t: SchemaObject): string {
    return t.kind === "range type"
      ? `CREATE TYPE ${q(t.name)} AS RANGE (${t.definition.replace(/^SUBTYPE /, "SUBTYPE = ")})`
      : `CREATE TYPE ${q(t.name)} AS (${t.definition})`;
  }

  /** Whether a column's type is the type `typeName` (or an array of it). */
  private usesType(column: SchemaObject, typeName: string): boolean {
    const type = columnParts(column.definition).type.replace(/\[\]$/, "").replace(/"/g, "");
    return type === typeName || type === split(typeName)[1];
  }

  /**
   * Views, triggers, policies, constraints and indexes that go, change, or stand on something made again, dropped
   * first (dependants before what they depend on) and made again later.
   */
  private dropDependants(): void {
    const g = this.groups;
    // Views: changed ones, those reading a reshaped table or a view made again, transitively.
    const oldViews = this.before(VIEW_KINDS);
    for (const [o] of this.changed(VIEW_KINDS)) this.remade.add(o.name);
    let grew = true;
    while (grew) {
      grew = false;
      for (const v of oldViews) {
        if (this.remade.has(v.name) || !this.now.has(key(v))) continue;
        const reads = [...this.reshaped, ...this.remade].some((t) => t !== v.name && mentions(v.definition, t));
        if (reads) {
          this.remade.add(v.name);
          grew = true;
        }
      }
    }
    const dropped = oldViews.filter((v) => this.remade.has(v.name) || !this.now.has(key(v)));
    const made = this.after(VIEW_KINDS).filter((v) => this.remade.has(v.name) || !this.old.has(key(v)));
    for (const v of orderViews(dropped).reverse()) this.dropped.views.push(`DROP ${v.kind.toUpperCase()} ${q(v.name)}`);
    for (const v of orderViews(made)) {
      const body = v.definition.replace(/;\s*$/, "");
      g.views.push(`CREATE ${v.kind.toUpperCase()} ${q(v.name)} AS\n${body}`);
    }
    const standsOnRemade = (table: string | undefined) => table !== undefined && this.remade.has(table);

    // Triggers and policies.
    for (const [kind, group] of [["trigger", g.triggers], ["policy", g.policies]] as const) {
      for (const o of this.before(kind)) {
        const [table, name] = split(o.name);
        const n = this.now.get(key(o));
        if (this.tableGoes(table) || (n && n.definition === o.definition && !standsOnRemade(table))) continue;
        this.dropped.rules.push(`DROP ${kind.toUpperCase()} ${quoteIdent(name)} ON ${q(table)}`);
      }
      for (const n of this.after(kind)) {
        const o = this.old.get(key(n));
        if (o && o.definition === n.definition && !standsOnRemade(split(n.name)[0])) continue;
        group.push(...(kind === "trigger" ? this.createTrigger(n) : [this.createPolicy(n)]));
      }
    }

    // Indexes a constraint makes come and go with it.
    const constraintIndexes = (objects: SchemaObject[]) =>
      new Set(objects.filter((c) => c.kind === "constraint").map((c) => `${split(split(c.name)[0])[0]}.${split(c.name)[1]}`));
    const [oldBacked, newBacked] = [constraintIndexes(this.from.objects), constraintIndexes(this.to.objects)];
    // A constraint or index that only changed its name (same table, same definition) is renamed, not made again.
    const renamedTo = new Map<string, string>(); // key of the old object -> new name
    const renamedFrom = new Set<string>(); // keys of the new objects
    for (const kind of ["constraint", "index"] as const) {
      const owner = (o: SchemaObject) => (kind === "index" ? indexTable(o) : split(o.name)[0]);
      const body = (o: SchemaObject) => (kind === "index" ? o.definition.replace(/^CREATE (UNIQUE )?INDEX \S+ /, "$1") : o.definition);
      const added = this.added(kind);
      for (const o of this.removed(kind)) {
        if (o.name.includes(" (cloned") || (kind === "index" && oldBacked.has(o.name))) continue;
        const n = added.find((a) => !renamedFrom.has(key(a)) && owner(a) === owner(o) && body(a) === body(o) && split(a.name)[0] === split(o.name)[0] &&
          !a.name.includes(" (cloned") && !(kind === "index" && newBacked.has(a.name)));
        if (!n || (kind === "constraint" && this.hasDomain(owner(o)!))) continue;
        renamedTo.set(key(o), n.name);
        renamedFrom.add(key(n));
        g.renames.push(kind === "constraint"
          ? `ALTER TABLE ${q(owner(o)!)} RENAME CONSTRAINT ${quoteIdent(split(o.name)[1])} TO ${quoteIdent(split(n.name)[1])}`
          : `ALTER INDEX ${q(o.name)} RENAME TO ${quoteIdent(split(n.name)[1])}`);
      }
    }

    // Constraints (foreign keys dropped first, added last); a domain's through ALTER DOMAIN.
    const isForeign = (c: SchemaObject) => /^FOREIGN KEY/.test(c.definition);
    const isDomain = (owner: string) => this.old.has(`domain\0${owner}`) || this.now.has(`domain\0${owner}`);
    const cloned = (c: SchemaObject) => c.name.includes(" (cloned");
    for (const o of this.before("constraint")) {
      const [owner, name] = split(o.name);
      const n = this.now.get(key(o));
      // A dropped table's foreign key to another dropped table goes first, or the other could not be dropped.
      const between = isForeign(o) && this.tableGoes(owner) && this.referencesDropped(o, owner);
      if (renamedTo.has(key(o))) continue;
      if (cloned(o) || (this.tableGoes(owner) && !between) || (n && n.definition === o.definition)) continue;
      if (isDomain(owner)) {
        if (this.old.has(`domain\0${owner}`) && this.now.has(`domain\0${owner}`)) this.dropped.constraints.push(`ALTER DOMAIN ${q(owner)} DROP CONSTRAINT ${quoteIdent(name)}`);
        continue;
      }
      (isForeign(o) ? this.dropped.foreignKeys : this.dropped.constraints).push(`ALTER TABLE ${q(owner)} DROP CONSTRAINT ${quoteIdent(name)}`);
    }
    for (const n of this.after("constraint")) {
      const [owner, name] = split(n.name);
      const o = this.old.get(key(n));
      if (cloned(n) || renamedFrom.has(key(n)) || (o && o.definition === n.definition)) continue;
      if (isDomain(owner)) {
        if (!this.now.has(`domain\0${owner}`)) continue;
        // A domain made whole carries its constraints in no statement of ours: add them.
        g.types.push(`ALTER DOMAIN ${q(owner)} ADD CONSTRAINT ${quoteIdent(name)} ${n.definition}`);
        continue;
      }
      (isForeign(n) ? g.foreignKeys : g.constraints).push(`ALTER TABLE ONLY ${q(owner)} ADD CONSTRAINT ${quoteIdent(name)} ${n.definition}`);
    }

    // Indexes (not those a constraint makes), including those of a materialized view made again.
    for (const o of this.before("index")) {
      const n = this.now.get(key(o));
      const table = indexTable(o);
      const viewGoes = table !== undefined && this.old.has(`materialized view\0${table}`) && !this.now.has(`materialized view\0${table}`);
      if (oldBacked.has(o.name) || renamedTo.has(key(o)) || (table && this.tableGoes(table)) || viewGoes || this.remade.has(table ?? "")) continue;
      if (n && n.definition === o.definition && !newBacked.has(n.name)) continue;
      this.dropped.indexes.push(`DROP INDEX ${q(o.name)}`);
    }
    for (const n of this.after("index")) {
      const o = this.old.get(key(n));
      if (newBacked.has(n.name) || renamedFrom.has(key(n))) continue;
      if (o && o.definition === n.definition && !oldBacked.has(o.name) && !standsOnRemade(indexTable(n))) continue;
      // An index of a partition may already be there, made with its parent's.
      const table = indexTable(n);
      const onView = table !== undefined && this.now.has(`materialized view\0${table}`);
      (onView ? g.viewIndexes : g.indexes).push(
        table && this.partition(table) ? n.definition.replace(/^CREATE (UNIQUE )?INDEX /, "CREATE $1INDEX IF NOT EXISTS ") : n.definition,
      );
    }
  }

  /** Whether a foreign key of `table` references another table that is dropped. */
  private referencesDropped(fk: SchemaObject, table: string): boolean {
    const target = /REFERENCES (\S+?)\(/.exec(fk.definition)?.[1]?.replace(/"/g, "");
    if (target === undefined) return false;
    const qualified = target.includes(".") ? target : `${split(table)[0]}.${target}`;
    return qualified !== table && this.tableGoes(qualified);
  }

  /** Whether either snapshot has a domain of that name. */
  private hasDomain(name: string): boolean {
    return this.old.has(`domain\0${name}`) || this.now.has(`domain\0${name}`);
  }

  private createTrigger(t: SchemaObject): string[] {
    const mode = / \((DISABLED|REPLICA|ALWAYS)\)$/.exec(t.definition)?.[1];
    const out = [t.definition.replace(/ \((DISABLED|REPLICA|ALWAYS)\)$/, "")];
    if (mode) {
      const [table, name] = split(t.name);
      out.push(`ALTER TABLE ${q(table)} ${mode === "DISABLED" ? "DISABLE" : `ENABLE ${mode}`} TRIGGER ${quoteIdent(name)}`);
    }
    return out;
  }

  private createPolicy(p: SchemaObject): string {
    const [table, name] = split(p.name);
    const m = /^(PERMISSIVE|RESTRICTIVE) (.*)$/s.exec(p.definition);
    return `CREATE POLICY ${quoteIdent(name)} ON ${q(table)} AS ${m?.[1] ?? "PERMISSIVE"} ${m?.[2] ?? p.definition}`;
  }

  private tablesAndSequences(): void {
    const g = this.groups;
    // Sequences a column owns by identity come and go with it.
    const identityOwned = (s: SchemaObject, objects: Map<string, SchemaObject>) => {
      const owner = / OWNED BY (\S+)$/.exec(s.definition)?.[1];
      if (!owner) return false;
      const column = objects.get(`column\0${split(s.name)[0]}.${owner}`);
      return column !== undefined && columnParts(column.definition).identity !== undefined;
    };
    for (const s of this.added("sequence")) {
      if (identityOwned(s, this.now)) continue;
      g.sequences.push(`CREATE SEQUENCE ${q(s.name)} ${s.definition.replace(/ OWNED BY \S+$/, "")}`);
      const owner = / OWNED BY (\S+)$/.exec(s.definition)?.[1];
      if (owner) g.owned.push(`ALTER SEQUENCE ${q(s.name)} OWNED BY ${q(`${split(s.name)[0]}.${owner}`)}`);
    }
    for (const [o, n] of this.changed("sequence")) {
      // A sequence that stays while the column owning it goes would go with it: let go of it first.
      const owner = / OWNED BY (\S+)$/.exec(o.definition)?.[1];
      const ownerColumn = owner && `${split(o.name)[0]}.${owner}`;
      if (ownerColumn && !this.now.has(`column\0${ownerColumn}`) && !identityOwned(o, this.old)) {
        this.dropped.rules.unshift(`ALTER SEQUENCE ${q(o.name)} OWNED BY NONE`);
      }
      const [a, b] = [o.definition.replace(/ OWNED BY \S+$/, ""), n.definition.replace(/ OWNED BY \S+$/, "")];
      if (a !== b) g.sequences.push(`ALTER SEQUENCE ${q(n.name)} ${b.replace(/^AS /, "AS ").replace(/(?<!NO )CYCLE$/, "CYCLE")}${/ CYCLE$/.test(b) ? "" : " NO CYCLE"}`);
      const [oa, ob] = [/ OWNED BY (\S+)$/.exec(o.definition)?.[1], / OWNED BY (\S+)$/.exec(n.definition)?.[1]];
      if (oa !== ob && !identityOwned(n, this.now)) g.owned.push(`ALTER SEQUENCE ${q(n.name)} OWNED BY ${ob ? q(`${split(n.name)[0]}.${ob}`) : "NONE"}`);
    }

    // Tables: parents before their partitions; dropped partitions before their parents.
    const isPartition = (t: SchemaObject) => / ?PARTITION OF /.test(t.definition);
    for (const t of this.removed(TABLE_KINDS)) {
      const drop = `DROP ${t.kind === "foreign table" ? "FOREIGN TABLE" : "TABLE"}${isPartition(t) ? " IF EXISTS" : ""} ${q(t.name)}`;
      (isPartition(t) ? this.dropped.partitions : this.dropped.tables).push(drop);
      this.out.warnings.push(`drops ${t.kind} ${t.name}: its rows are lost`);
    }
    for (const s of this.removed("sequence")) {
      if (identityOwned(s, this.old)) continue;
      // One a dropped column or table owned is gone already.
      this.dropped.sequences.push(`DROP SEQUENCE${/ OWNED BY /.test(s.definition) ? " IF EXISTS" : ""} ${q(s.name)}`);
    }
    const come = this.added(TABLE_KINDS).sort((a, b) => Number(isPartition(a)) - Number(isPartition(b)));
    for (const t of come) g.tables.push(...this.createTable(t));
    for (const [o, n] of this.changed(TABLE_KINDS)) this.alterTable(o, n);
  }

  private createTable(t: SchemaObject): string[] {
    const def = t.definition;
    const out: string[] = [];
    const partitionOf = /PARTITION OF (\S+) (FOR VALUES .*?|DEFAULT)(?= COMMENT |$)/.exec(def);
    const partitionBy = /PARTITION BY (.*?)(?= PARTITION OF | COMMENT |$)/.exec(def)?.[1];
    const columns = this.to.objects.filter((c) => c.kind === "column" && split(c.name)[0] === t.name)
      .sort((a, b) => (a.position ?? 0) - (b.position ?? 0));
    if (partitionOf) {
      out.push(`CREATE TABLE ${q(t.name)} PARTITION OF ${partitionOf[1]} ${partitionOf[2]}${partitionBy ? ` PARTITION BY ${partitionBy}` : ""}`);
    } else {
      const body = columns.map((c) => `    ${quoteIdent(split(c.name)[1])} ${columnSql(columnParts(c.definition))}`);
      const unlogged = /^UNLOGGED\b/.test(def) ? "UNLOGGED " : "";
      out.push(`CREATE ${unlogged}TABLE ${q(t.name)} (\n${body.join(",\n")}\n)${partitionBy ? ` PARTITION BY ${partitionBy}` : ""}`);
      for (const c of columns) {
        const comment = columnParts(c.definition).comment;
        if (comment) this.groups.comments.push(`COMMENT ON COLUMN ${q(c.name)} IS ${comment}`);
      }
    }
    if (/ROW LEVEL SECURITY/.test(def)) this.groups.security.push(`ALTER TABLE ${q(t.name)} ENABLE ROW LEVEL SECURITY`);
    if (/\bFORCE\b/.test(def)) this.groups.security.push(`ALTER TABLE ${q(t.name)} FORCE ROW LEVEL SECURITY`);
    const comment = COMMENT.exec(def)?.[1];
    if (comment) this.groups.comments.push(`COMMENT ON TABLE ${q(t.name)} IS ${comment}`);
    return out;
  }

  private alterTable(o: SchemaObject, n: SchemaObject): void {
    const g = this.groups;
    const [a, b] = [o.definition, n.definition];
    const has = (def: string, re: RegExp) => re.test(def.replace(COMMENT, ""));
    const table = q(n.name);
    if (has(a, /^UNLOGGED\b/) !== has(b, /^UNLOGGED\b/)) {
      g.tables.push(`ALTER TABLE ${table} SET ${has(b, /^UNLOGGED\b/) ? "UNLOGGED" : "LOGGED"}`);
      this.out.warnings.push(`changes the logging of ${n.name}: rewrites it`);
    }
    if (has(a, /ROW LEVEL SECURITY/) !== has(b, /ROW LEVEL SECURITY/)) {
      g.security.push(`ALTER TABLE ${table} ${has(b, /ROW LEVEL SECURITY/) ? "ENABLE" : "DISABLE"} ROW LEVEL SECURITY`);
    }
    if (has(a, /\bFORCE\b/) !== has(b, /\bFORCE\b/)) g.security.push(`ALTER TABLE ${table} ${has(b, /\bFORCE\b/) ? "" : "NO "}FORCE ROW LEVEL SECURITY`);
    const [ca, cb] = [COMMENT.exec(a)?.[1], COMMENT.exec(b)?.[1]];
    if (ca !== cb) g.comments.push(`COMMENT ON TABLE ${table} IS ${cb ?? "NULL"}`);
    const bound = (def: string) => /PARTITION OF (\S+) (FOR VALUES .*?|DEFAULT)(?= COMMENT |$)/.exec(def);
    const [ba, bb] = [bound(a), bound(b)];
    if (ba?.[0] !== bb?.[0]) {
      if (ba) this.dropped.partitions.push(`ALTER TABLE ${ba[1]} DETACH PARTITION ${table}`);
      if (bb) g.tables.push(`ALTER TABLE ${bb[1]} ATTACH PARTITION ${table} ${bb[2]}`);
    }
    const by = (def: string) => /PARTITION BY (.*?)(?= PARTITION OF | COMMENT |$)/.exec(def)?.[1];
    if (by(a) !== by(b)) this.out.unsupported.push(`${n.kind} ${n.name}: its partitioning changes (make a new table and move the rows)`);
  }

  private functions(): void {
    const g = this.groups;
    const removed = this.removed(FUNCTION_KINDS);
    for (const f of removed) this.dropped.functions.push(`DROP ${f.kind.toUpperCase()} ${qFunction(f.name)}`);
    for (const f of this.added(FUNCTION_KINDS)) (atomic(f) ? g.atomicFunctions : g.functions).push(f.definition);
    for (const [o, n] of this.changed(FUNCTION_KINDS)) {
      // CREATE OR REPLACE cannot change what a function returns.
      if (returnsOf(o.definition) !== returnsOf(n.definition)) this.dropped.functions.push(`DROP ${o.kind.toUpperCase()} ${qFunction(o.name)}`);
      (atomic(n) ? g.atomicFunctions : g.functions).push(n.definition);
    }
  }

  /**
   * Comments on functions, indexes, views, types, schemas, constraints, triggers and policies: set when new or
   * changed, or when their object is made again (which loses them); removed (IS NULL) when their object stays.
   */
  private comments(): void {
    const target = commentTarget;
    const on = (t: CommentTarget) => commentOnTarget(t, (owner) => this.hasDomain(owner));
    const objectOf = (t: { kinds: readonly string[]; name: string }, side: Map<string, SchemaObject>) =>
      t.kinds.map((k) => side.get(`${k}\0${t.name}`)).find((o) => o !== undefined);
    const remadeObject = (t: { what: string; kinds: readonly string[]; name: string }) => {
      const [o, n] = [objectOf(t, this.old), objectOf(t, this.now)];
      if (!o || !n || o.definition !== n.definition || this.remade.has(t.name)) return true;
      const owner = t.what === "index" ? indexTable(n) : ["trigger", "policy"].includes(t.what) ? split(t.name)[0] : undefined;
      return owner !== undefined && this.remade.has(owner);
    };
    for (const c of this.after("comment")) {
      const t = target(c);
      if (this.old.get(key(c))?.definition === c.definition && !remadeObject(t)) continue;
      this.groups.comments.push(`COMMENT ON ${on(t)} IS ${c.definition}`);
    }
    for (const c of this.removed("comment")) {
      const t = target(c);
      if (objectOf(t, this.now) && objectOf(t, this.old)) this.groups.comments.push(`COMMENT ON ${on(t)} IS NULL`);
    }
  }

  /**
   * Privileges (`GRANT`/`REVOKE`), from what an object granted to what it must grant. An object made (or made
   * again) starts from PostgreSQL's defaults; GRANT and REVOKE repeat harmlessly, so "made again" may be guessed wide.
   */
  private privileges(): void {
    // Only objects with grants of their own on either side have anything to grant or revoke.
    const keys = new Set([...this.before("privileges"), ...this.after("privileges")].map((o) => o.name));
    for (const name of keys) {
      const [what, kinds, keyword] = GRANTED.find(([w]) => name.startsWith(`${w} `)) ?? ["", [], ""];
      const target = name.slice(what.length + 1);
      const objectOf = (side: Map<string, SchemaObject>) => kinds.map((k) => side.get(`${k}\0${target}`)).find((o) => o !== undefined);
      const [o, n] = [objectOf(this.old), objectOf(this.now)];
      if (!n) continue; // its grants go with it
      const madeAgain = !o || o.definition !== n.definition || this.remade.has(target);
      const entries = (def: string | undefined) => new Set((def ?? DEFAULT_GRANTS[what] ?? "").split(", ").filter((e) => e !== ""));
      const before = madeAgain ? entries(undefined) : entries(this.old.get(`privileges\0${name}`)?.definition);
      const after = entries(this.now.get(`privileges\0${name}`)?.definition);
      const on = keyword === "FUNCTION" || keyword === "PROCEDURE" ? `${keyword} ${qFunction(target)}` : keyword === "SCHEMA" ? `SCHEMA ${quoteIdent(target)}` : `${keyword} ${q(target)}`;
      const parse = (e: string) => /^(.*?) ([A-Z]+)( WITH GRANT OPTION)?$/.exec(e)!;
      for (const e of before) {
        if (after.has(e)) continue;
        const [, grantee, privilege] = parse(e);
        this.groups.grants.push(`REVOKE ${privilege} ON ${on} FROM ${grantee}`);
      }
      for (const e of after) {
        if (before.has(e)) continue;
        const [, grantee, privilege, option] = parse(e);
        this.groups.grants.push(`GRANT ${privilege} ON ${on} TO ${grantee}${option ?? ""}`);
      }
    }
  }

  private schemasAndExtensions(): void {
    const g = this.groups;
    // Dropped last, after what was in them.
    for (const t of this.removed(new Set(TYPE_KINDS))) {
      this.dropped.types.push(`DROP ${t.kind === "domain" ? "DOMAIN" : "TYPE"} ${q(t.name)}`);
    }
    for (const x of this.removed("extension")) this.dropped.extensions.push(`DROP EXTENSION ${quoteIdent(x.name)}`);
    for (const s of this.removed("schema")) this.dropped.schemas.push(`DROP SCHEMA ${quoteIdent(s.name)}`);
    for (const s of this.added("schema")) g.schemas.push(`CREATE SCHEMA ${quoteIdent(s.name)}`);
    const where = (def: string) => /^version (\S+) in schema (\S+)$/.exec(def);
    for (const x of this.added("extension")) {
      const m = where(x.definition);
      g.extensions.push(`CREATE EXTENSION IF NOT EXISTS ${quoteIdent(x.name)}${m ? ` WITH SCHEMA ${quoteIdent(m[2])}` : ""}`);
    }
    for (const [o, n] of this.changed("extension")) {
      const [a, b] = [where(o.definition), where(n.definition)];
      if (a?.[1] !== b?.[1] && b) g.extensions.push(`ALTER EXTENSION ${quoteIdent(n.name)} UPDATE TO ${quoteLiteral(b[1])}`);
      if (a?.[2] !== b?.[2] && b) g.extensions.push(`ALTER EXTENSION ${quoteIdent(n.name)} SET SCHEMA ${quoteIdent(b[2])}`);
    }
  }
}

/** The object a comment is on: what it is (as COMMENT ON names it, lower case), the snapshot kinds it may be, its name. */
interface CommentTarget {
  what: string;
  kinds: readonly string[];
  name: string;
}

function commentTarget(c: SchemaObject): CommentTarget {
  const [what, kinds] = COMMENTED.find(([w]) => c.name.startsWith(`${w} `)) ?? ["", []];
  return { what, kinds, name: c.name.slice(what.length + 1) };
}

function commentOnTarget(t: CommentTarget, isDomain: (name: string) => boolean): string {
  if (t.what === "function" || t.what === "procedure") return `${t.what.toUpperCase()} ${qFunction(t.name)}`;
  if (t.what === "schema") return `SCHEMA ${quoteIdent(t.name)}`;
  if (["constraint", "trigger", "policy"].includes(t.what)) {
    const [owner, name] = split(t.name);
    return `${t.what.toUpperCase()} ${quoteIdent(name)} ON ${isDomain(owner) ? "DOMAIN " : ""}${q(owner)}`;
  }
  return `${t.what.toUpperCase()} ${q(t.name)}`;
}

/**
 * The COMMENT ON statement of a snapshot's `comment` object (the snapshot dumper writes them with this too).
 *
 * @example
 * ```ts
 * commentStatement({ kind: "comment", name: "function public.f(x integer)", definition: "'adds'" }, snapshot);
 * // COMMENT ON FUNCTION "public"."f"(x integer) IS 'adds'
 * ```
 */
export function commentStatement(comment: SchemaObject, snapshot: SchemaSnapshot): string {
  if (learnedFrom !== snapshot) learnNames(snapshot, snapshot, {});
  learnedFrom = snapshot;
  const domains = new Set(snapshot.objects.filter((o) => o.kind === "domain").map((o) => o.name));
  return `COMMENT ON ${commentOnTarget(commentTarget(comment), (owner) => domains.has(owner))} IS ${comment.definition}`;
}

function key(o: SchemaObject): string {
  return `${o.kind}\0${o.name}`;
}

/**
 * Views after the views they name (a view's text mentions the other's name); a circle is broken anywhere.
 *
 * @example
 * ```ts
 * orderViews(snapshot.objects.filter((o) => o.kind === "view")); // a view before the views that read it
 * ```
 */
export function orderViews(views: readonly SchemaObject[]): SchemaObject[] {
  const sorted = [...views].sort((a, b) => (a.name < b.name ? -1 : 1));
  const done = new Set<string>();
  const out: SchemaObject[] = [];
  const visit = (v: SchemaObject, path: Set<string>) => {
    if (done.has(v.name) || path.has(v.name)) return;
    path.add(v.name);
    for (const w of sorted) if (w !== v && mentions(v.definition, w.name)) visit(w, path);
    done.add(v.name);
    out.push(v);
  };
  for (const v of sorted) visit(v, new Set());
  return out;
}
