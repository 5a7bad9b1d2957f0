/**
 * Resolves the placeholders of the migrations a run is about to send: the user's values plus the built-ins
 * (`${orchwf:schema}`, `${orchwf:user}`, `${orchwf:database}`; for Flyway files Flyway's `${flyway:…}`), read from
 * the database once, only when a file uses one. Every placeholder of every migration is resolved before the first
 * one runs, so a missing value applies nothing.
 * @module
 */
import type { Migration } from "../core/migration.ts";
import { placeholderNames, type PlaceholderValues, substitutePlaceholders } from "../core/placeholders.ts";
import type { Queryable } from "../drivers/driver.ts";
import type { ResolvedMigration } from "./step-context.ts";

/** What the built-in placeholders need to know of the run. */
export interface PlaceholderContext {
  /** The schema the run was given (else the database's current schema). */
  schema?: string;
  /** The version table's name. */
  table: string;
}

/**
 * The text to send for each migration of `migrations` that uses placeholders (the others are sent as written), in
 * the directions given; throws `MISSING_PLACEHOLDER` for the first placeholder without a value.
 *
 * @example
 * ```ts
 * const resolved = await resolvePlaceholders(driver, pending, { reader: "app_ro" }, { table: "orchwf_migrations" }, ["up"]);
 * ```
 */
export async function resolvePlaceholders(
  q: Queryable,
  migrations: readonly Migration[],
  values: PlaceholderValues,
  context: PlaceholderContext,
  directions: readonly ("up" | "down")[],
): Promise<Map<Migration, ResolvedMigration>> {
  const out = new Map<Migration, ResolvedMigration>();
  let session: Promise<Record<string, string>> | undefined;
  for (const m of migrations) {
    const syntax = m.placeholders;
    if (syntax === undefined) continue;
    const texts = [...directions.map((d) => (d === "up" ? m.up : m.down ?? "")), ...(m.checks ?? []).map((c) => c.sql)];
    const usesBuiltIn = texts.some((t) => placeholderNames(t, syntax).some((n) => /^(orchwf|flyway):/.test(n)));
    session ??= usesBuiltIn ? readSession(q, context.schema) : undefined;
    const builtIns = usesBuiltIn ? builtInValues(await session!, context, m) : {};
    const all = { ...values, ...builtIns };
    const upFile = m.source?.up ?? `migration ${m.version} (up)`;
    const resolved: ResolvedMigration = { up: m.up };
    if (directions.includes("up")) resolved.up = substitutePlaceholders(m.up, syntax, all, { file: upFile, version: m.version });
    if (directions.includes("down") && m.down !== undefined) {
      resolved.down = substitutePlaceholders(m.down, syntax, all, { file: m.source?.down ?? `migration ${m.version} (down)`, version: m.version });
    }
    if (m.checks && directions.includes("up")) {
      resolved.checks = m.checks.map((c) => ({ ...c, sql: substitutePlaceholders(c.sql, syntax, all, { file: upFile, version: m.version, line: c.line }) }));
    }
    out.set(m, resolved);
  }
  return out;
}

/** The session's user, database and schema: one query, only when a built-in is used. */
async function readSession(q: Queryable, schema: string | undefined): Promise<Record<string, string>> {
  const [row] = await q.query<{ u: string; d: string; s: string | null }>("SELECT current_user::text AS u, current_database()::text AS d, current_schema()::text AS s");
  return { user: row.u, database: row.d, schema: schema ?? row.s ?? "" };
}

function builtInValues(session: Record<string, string>, context: PlaceholderContext, m: Migration): Record<string, string> {
  const file = (m.source?.up ?? "").replace(/^.*[\\/]/, "");
  return {
    "orchwf:schema": session.schema,
    "orchwf:user": session.user,
    "orchwf:database": session.database,
    "flyway:defaultSchema": session.schema,
    "flyway:user": session.user,
    "flyway:database": session.database,
    "flyway:table": context.table,
    "flyway:filename": file,
  };
}
