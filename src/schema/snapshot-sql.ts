/**
 * The fallback dumper: SQL written from a schema snapshot, for a server whose major version has no `pg_dump`
 * installed here. Objects go in an order that satisfies the usual dependencies: schemas, extensions, types,
 * sequences, functions (bodies unchecked), tables, constraints (foreign keys last), indexes, views (each after the
 * views it names), triggers, policies, comments. Aggregates and other rare objects are listed as comments, not written.
 * @module
 */
import { quoteIdent } from "../core/sql-text.ts";
import { commentStatement, orderViews } from "./schema-diff.ts";
import type { SchemaObject, SchemaSnapshot } from "./snapshot.ts";

/** `public.users` -> `"public"."users"`. */
function q(name: string): string {
  return name.split(".").map(quoteIdent).join(".");
}

/** `public.users.email` -> [`public.users`, `email`]. */
function split(name: string): [string, string] {
  const i = name.lastIndexOf(".");
  return [name.slice(0, i), name.slice(i + 1)];
}

const COMMENT = / COMMENT ((?:E?'(?:[^']|'')*'))$/;

/**
 * Executable SQL for a snapshot (see the module notes for the order).
 *
 * @example
 * ```ts
 * const sql = snapshotToSql(await snapshotSchema(db));
 * ```
 */
export function snapshotToSql(snapshot: SchemaSnapshot, versionTableDdl?: string): string {
  const by = (kind: string) => snapshot.objects.filter((o) => o.kind === kind);
  const out: string[] = ["SET check_function_bodies = false;", "SET client_min_messages = warning;", ""];
  const emit = (sql: string) => out.push(sql.trimEnd().replace(/;?$/, ";"));

  for (const s of by("schema")) if (s.name !== "public") emit(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(s.name)}`);
  for (const x of by("extension")) {
    const m = /^version (\S+) in schema (\S+)$/.exec(x.definition);
    emit(`CREATE EXTENSION IF NOT EXISTS ${quoteIdent(x.name)}${m ? ` WITH SCHEMA ${quoteIdent(m[2])}` : ""}`);
  }
  for (const e of by("enum")) emit(`CREATE TYPE ${q(e.name)} AS ENUM (${e.definition})`);
  for (const t of by("composite type")) emit(`CREATE TYPE ${q(t.name)} AS (${t.definition})`);
  for (const r of by("range type")) emit(`CREATE TYPE ${q(r.name)} AS RANGE (${r.definition.replace(/^SUBTYPE /, "SUBTYPE = ")})`);
  const domains = new Set(by("domain").map((d) => d.name));
  for (const d of by("domain")) emit(`CREATE DOMAIN ${q(d.name)} AS ${d.definition}`);
  const constraints = by("constraint");
  for (const c of constraints) {
    const [owner, name] = split(c.name);
    if (domains.has(owner)) emit(`ALTER DOMAIN ${q(owner)} ADD CONSTRAINT ${quoteIdent(name)} ${c.definition}`);
  }

  // Sequences made by identity columns come with their tables.
  const columns = by("column").sort((a, b) => (a.name < b.name ? -1 : 1));
  const identity = new Set(
    columns.filter((c) => / AS IDENTITY/.test(c.definition)).map((c) => split(c.name)).map(([t, col]) => `${split(t)[1]}.${col}`),
  );
  const owned: string[] = [];
  for (const s of by("sequence")) {
    const ownedBy = / OWNED BY (\S+)$/.exec(s.definition)?.[1];
    if (ownedBy && identity.has(ownedBy)) continue;
    emit(`CREATE SEQUENCE ${q(s.name)} ${s.definition.replace(/ OWNED BY \S+$/, "")}`);
    if (ownedBy) owned.push(`ALTER SEQUENCE ${q(s.name)} OWNED BY ${q(`${split(s.name)[0]}.${ownedBy}`)}`);
  }

  const functions = ["function", "procedure"].flatMap(by);
  const atomic = (f: SchemaObject) => /\bBEGIN ATOMIC\b/i.test(f.definition);
  for (const f of functions.filter((f) => !atomic(f))) emit(f.definition);

  const tableKinds = ["table", "partitioned table"];
  const tables = snapshot.objects.filter((o) => tableKinds.includes(o.kind));
  const comments: string[] = [];
  const tableOptions: string[] = [];
  // Parents before their partitions.
  tables.sort((a, b) => Number(/PARTITION OF/.test(a.definition)) - Number(/PARTITION OF/.test(b.definition)));
  for (const t of tables) {
    const def = t.definition;
    const comment = COMMENT.exec(def)?.[1];
    if (comment) comments.push(`COMMENT ON TABLE ${q(t.name)} IS ${comment}`);
    const partitionOf = /PARTITION OF (\S+) (FOR VALUES .*?|DEFAULT)(?= COMMENT |$)/.exec(def);
    const partitionBy = /PARTITION BY (.*?)(?= PARTITION OF | COMMENT |$)/.exec(def)?.[1];
    const cols = columns.filter((c) => split(c.name)[0] === t.name).sort((a, b) => (a.position ?? 0) - (b.position ?? 0));
    const colSql = cols.map((c) => {
      const colComment = COMMENT.exec(c.definition)?.[1];
      if (colComment) comments.push(`COMMENT ON COLUMN ${q(c.name)} IS ${colComment}`);
      return `    ${quoteIdent(split(c.name)[1])} ${c.definition.replace(COMMENT, "")}`;
    });
    const unlogged = /^UNLOGGED\b/.test(def) ? "UNLOGGED " : "";
    if (partitionOf) emit(`CREATE TABLE ${q(t.name)} PARTITION OF ${partitionOf[1]} ${partitionOf[2]}`);
    else emit(`CREATE ${unlogged}TABLE ${q(t.name)} (\n${colSql.join(",\n")}\n)${partitionBy ? ` PARTITION BY ${partitionBy}` : ""}`);
    if (/ROW LEVEL SECURITY/.test(def)) tableOptions.push(`ALTER TABLE ${q(t.name)} ENABLE ROW LEVEL SECURITY`);
    if (/\bFORCE\b/.test(def)) tableOptions.push(`ALTER TABLE ${q(t.name)} FORCE ROW LEVEL SECURITY`);
  }
  for (const o of owned) emit(o);

  const tableNames = new Set(tables.map((t) => t.name));
  const tableConstraints = constraints.filter((c) => tableNames.has(split(c.name)[0]));
  const isForeign = (c: SchemaObject) => /^FOREIGN KEY/.test(c.definition);
  for (const c of [...tableConstraints.filter((c) => !isForeign(c)), ...tableConstraints.filter(isForeign)]) {
    const [table, name] = split(c.name);
    emit(`ALTER TABLE ONLY ${q(table)} ADD CONSTRAINT ${quoteIdent(name)} ${c.definition}`);
  }
  // Indexes that back a constraint came with it.
  const constraintIndexes = new Set(tableConstraints.map((c) => `${split(split(c.name)[0])[0]}.${split(c.name)[1]}`));
  for (const i of by("index")) if (!constraintIndexes.has(i.name)) emit(i.definition);

  for (const v of orderViews(snapshot.objects.filter((o) => o.kind === "view" || o.kind === "materialized view"))) {
    const body = v.definition.replace(/;\s*$/, "");
    emit(v.kind === "view" ? `CREATE VIEW ${q(v.name)} AS\n${body}` : `CREATE MATERIALIZED VIEW ${q(v.name)} AS\n${body}\n  WITH NO DATA`);
  }
  for (const f of functions.filter(atomic)) emit(f.definition);
  for (const t of by("trigger")) {
    const disabled = / \((DISABLED|REPLICA|ALWAYS)\)$/.exec(t.definition)?.[1];
    emit(t.definition.replace(/ \((DISABLED|REPLICA|ALWAYS)\)$/, ""));
    if (disabled) {
      const [table, name] = split(t.name);
      const mode = disabled === "DISABLED" ? "DISABLE" : `ENABLE ${disabled}`;
      emit(`ALTER TABLE ${q(table)} ${mode} TRIGGER ${quoteIdent(name)}`);
    }
  }
  for (const o of tableOptions) emit(o);
  for (const p of by("policy")) {
    const [table, name] = split(p.name);
    const m = /^(PERMISSIVE|RESTRICTIVE) (.*)$/s.exec(p.definition);
    emit(`CREATE POLICY ${quoteIdent(name)} ON ${q(table)} AS ${m?.[1] ?? "PERMISSIVE"} ${m?.[2] ?? p.definition}`);
  }
  for (const c of comments) emit(c);
  for (const c of by("comment")) emit(commentStatement(c, snapshot));
  const written = new Set([
    "comment",
    "schema", "extension", "enum", "composite type", "range type", "domain", "constraint", "sequence", "function", "procedure",
    "table", "partitioned table", "column", "index", "view", "materialized view", "trigger", "policy",
  ]);
  for (const o of snapshot.objects) if (!written.has(o.kind)) out.push(`-- not written by the snapshot dumper: ${o.kind} ${o.name}`);
  if (versionTableDdl) out.push("", versionTableDdl);
  return out.join("\n\n") + "\n";
}
