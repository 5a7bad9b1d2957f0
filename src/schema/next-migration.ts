/**
 * The next migration, written from a desired schema and proven before anyone sees it: the history is replayed on
 * one scratch database, the desired schema loaded into another, both snapshotted and diffed (`schema-diff.ts`);
 * then the up is applied after the history (its schema must equal the desired one) and the down after it (the
 * history's schema must come back). What differs is reported; nothing is proven that was not run.
 * @module
 */
import type { PGlite } from "@electric-sql/pglite";
import { MigrationError } from "../core/errors.ts";
import { type Migration, migrationFromFiles } from "../core/migration.ts";
import { quoteIdent, statementsToSql } from "../core/sql-text.ts";
import type { Driver } from "../drivers/driver.ts";
import { pgliteExtensions, requiredExtensions } from "../sources/extensions.ts";
import { type Replay, replayMigrations, type ReplayOptions } from "./replay.ts";
import { diffSchemas, type SchemaDiff } from "./schema-diff.ts";
import { diffSnapshots, type SchemaChange, type SchemaSnapshot, snapshotSchema } from "./snapshot.ts";

/** Options of `planNextMigration`. */
export interface NextMigrationOptions extends ReplayOptions {
  /** Where the desired schema came from, for messages (a file or directory). */
  desiredLabel?: string;
  /** Renames instead of drop and create, old name to new (see `SchemaDiffOptions.renames`). */
  renames?: Readonly<Record<string, string>>;
  /** Called before each slow step, for progress output. */
  onStep?: (step: string) => void;
}

/** The next migration and its proof. */
export interface NextMigration {
  /** The statements of the up and the down, each without its `;`. */
  up: SchemaDiff;
  down: SchemaDiff;
  /** Nothing to change: the history already gives the desired schema. */
  empty: boolean;
  /** Applied after the history, what the up left different from the desired schema (empty when proven). */
  upDiffers: SchemaChange[];
  /** Applied after the up, what the down left different from the history's schema (empty when proven). */
  downDiffers: SchemaChange[];
  /** An error the up or the down raised on the scratch database, as text. */
  failed?: string;
  /** Both directions applied and gave exactly the schemas they must. */
  proven: boolean;
  /** Where the proof ran: "pglite (in memory)" or the scratch server. */
  scratch: string;
}

/**
 * Writes and proves the migration from the schema `migrations` give to the one `desiredSql` creates.
 *
 * @example
 * ```ts
 * import { loadMigrations, planNextMigration, statementsToSql } from "@orchwf/migrate";
 * const next = await planNextMigration(await loadMigrations("db/migrations"), await Deno.readTextFile("schema.sql"));
 * if (next.proven && !next.empty) console.log(statementsToSql(next.up.statements));
 * ```
 */
export async function planNextMigration(migrations: readonly Migration[], desiredSql: string, options: NextMigrationOptions = {}): Promise<NextMigration> {
  const desiredLabel = options.desiredLabel ?? "the desired schema";
  const desiredMigration = migrationFromFiles({ version: "0", name: "desired", up: desiredSql, upFile: desiredLabel });
  const where = requiredExtensions([...migrations, desiredMigration]);
  const extensions = options.scratchUrl ? {} : await pgliteExtensions(where.keys(), where);
  // Both scratches load what either side creates (the desired one replays no migration of its own).
  const createPGlite = async (): Promise<PGlite> => {
    if (options.createPGlite) return await options.createPGlite({ extensions });
    const { scratchPGlite } = await import("./scratch-pglite.ts");
    return await scratchPGlite({ extensions });
  };
  const replayOptions: ReplayOptions = { table: options.table, schema: options.schema, scratchUrl: options.scratchUrl, placeholders: options.placeholders, createPGlite };
  options.onStep?.("replaying the migrations");
  const history = await replayMigrations(migrations, replayOptions);
  let desired: Replay | undefined;
  try {
    options.onStep?.(`loading ${desiredLabel}`);
    desired = await replayMigrations([], replayOptions);
    await loadDesired(desired.driver, desiredSql, desiredLabel);
    // Roles belong to the server, not the schema: those the desired schema's SQL made exist for the history too.
    if (!options.scratchUrl) await copyRoles(desired.driver, history.driver);
    const snapshotOptions = { excludeTables: [history.versionTable], privileges: true };
    const [from, to] = [await snapshotSchema(history.driver, snapshotOptions), await snapshotSchema(desired.driver, snapshotOptions)];
    const renames = options.renames ?? {};
    const up = diffSchemas(from, to, { renames });
    const down = diffSchemas(to, from, { renames: Object.fromEntries(Object.entries(renames).map(([a, b]) => [b, a])) });
    for (const line of notCompared(desiredSql)) up.warnings.push(line);
    const result: NextMigration = {
      up,
      down,
      empty: up.statements.length === 0 && up.unsupported.length === 0,
      upDiffers: [],
      downDiffers: [],
      proven: true,
      scratch: history.label,
    };
    if (result.empty) return result;
    options.onStep?.("proving the up and the down");
    await prove(history.driver, result, from, to, snapshotOptions);
    return result;
  } finally {
    await desired?.close().catch(() => {});
    await history.close();
  }
}

/** Applies the up after the history and the down after it, and compares each outcome with what it must be. */
async function prove(
  db: Driver,
  result: NextMigration,
  from: SchemaSnapshot,
  to: SchemaSnapshot,
  snapshotOptions: { excludeTables: string[]; privileges: boolean },
): Promise<void> {
  for (const [direction, diff, must] of [["up", result.up, to], ["down", result.down, from]] as const) {
    try {
      await db.transaction((tx) => tx.exec(statementsToSql(diff.statements)));
    } catch (err) {
      result.failed = `the ${direction} failed on the scratch database: ${(err as Error).message}`;
      result.proven = false;
      return;
    }
    const differs = diffSnapshots(await snapshotSchema(db, snapshotOptions), must);
    if (direction === "up") result.upDiffers = differs;
    else result.downDiffers = differs;
    if (differs.length > 0 || diff.unsupported.length > 0) result.proven = false;
    if (differs.length > 0) return; // the down would start from the wrong schema
  }
}

/** Makes in `to` the roles `from` has and it lacks (without login, privileges or members: names to grant to). */
async function copyRoles(from: Driver, to: Driver): Promise<void> {
  const roles = `SELECT rolname AS name FROM pg_roles WHERE rolname NOT LIKE 'pg\\_%' ESCAPE '\\'`;
  const have = new Set((await to.query<{ name: string }>(roles)).map((r) => r.name));
  for (const { name } of await from.query<{ name: string }>(roles)) {
    if (!have.has(name)) await to.exec(`CREATE ROLE ${quoteIdent(name)}`);
  }
}

/** Statements of kinds no snapshot holds (default privileges, roles, publications): said, since diff cannot carry them. */
function notCompared(sql: string): string[] {
  const out: string[] = [];
  const bare = sql.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, " ")).replace(/--[^\n]*/g, "");
  const kinds = new Map<string, number>();
  bare.split("\n").forEach((line, i) => {
    const m = /^\s*(ALTER DEFAULT PRIVILEGES|CREATE ROLE|CREATE USER|ALTER ROLE|CREATE PUBLICATION|ALTER PUBLICATION|SECURITY LABEL)\b/i.exec(line);
    if (m && !kinds.has(m[1].toUpperCase())) kinds.set(m[1].toUpperCase(), i + 1);
  });
  for (const [kind, line] of kinds) out.push(`the desired schema has ${kind} (first at line ${line}), which diff neither compares nor writes: carry it over by hand`);
  return out;
}

/** Runs the desired schema's SQL on its scratch database; an error names the file and line. */
async function loadDesired(db: Driver, sql: string, label: string): Promise<void> {
  // pg_dump's psql-only lines (\restrict, \connect) are not SQL.
  const text = sql.replace(/^\\\S.*$/gm, "");
  try {
    await db.exec(text);
  } catch (err) {
    const e = err as { message?: string; position?: string | number };
    const position = Number(e.position);
    const line = position > 0 ? Array.from(text).slice(0, position - 1).join("").split("\n").length : undefined;
    throw new MigrationError(
      "INVALID_MIGRATION",
      `${label}${line ? `:${line}` : ""}: the desired schema does not load: ${e.message ?? String(err)}`,
      { file: label, cause: err },
    );
  }
  // A dump empties search_path for its session (set_config(..., false)): back to the defaults for the snapshot.
  await db.exec("RESET ALL");
}
