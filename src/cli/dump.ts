/**
 * `orchwf-migrate dump`: the schema file, from the live database or from a replay of the migration files, to
 * `--out FILE` or stdout. Also what `up --dump-schema FILE` writes after a successful run.
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Migration } from "../core/migration.ts";
import { dumpDatabase, dumpMigrations, type SchemaDump } from "../schema/dump.ts";
import { type CommandOutput, createPGlite } from "./drift.ts";

/** Options of `dump` as parsed from the command line. */
export interface DumpCommandOptions {
  /** `live`: the database; `files`: a replay of the migrations on PGlite (or `--scratch`). */
  from: "live" | "files";
  /** The database label (live) or null. */
  label: string | null;
  /** The live database's URL (for the server's pg_dump). */
  url?: string;
  out?: string;
  table?: string;
  schema?: string;
  scratch?: string;
}

/**
 * Makes the dump and writes it to `out`, or returns it as the text to print.
 *
 * @example
 * ```ts
 * await dumpCommand(undefined, migrations, { from: "files", label: null, out: "schema.sql" });
 * ```
 */
export async function dumpCommand(db: object | undefined, migrations: readonly Migration[] | undefined, options: DumpCommandOptions): Promise<CommandOutput> {
  const common = { table: options.table, schema: options.schema, scratchUrl: options.scratch, createPGlite };
  const dump: SchemaDump = options.from === "live" && db !== undefined
    ? await dumpDatabase(db, { ...common, url: options.url })
    : await dumpMigrations(migrations, common);
  if (options.out !== undefined) writeDump(options.out, dump.sql);
  const json = {
    database: options.label,
    from: options.from,
    out: options.out ?? null,
    dumper: dump.dumper,
    dumperVersion: dump.dumperVersion,
    versions: dump.versions,
    bytes: new TextEncoder().encode(dump.sql).length,
    ...(options.out === undefined ? { sql: dump.sql } : {}),
  };
  const text = options.out === undefined
    ? dump.sql
    : `wrote ${options.out} (${dump.versions.length} applied migration${dump.versions.length === 1 ? "" : "s"}, by ${dump.dumper}${dump.dumperVersion ? ` ${dump.dumperVersion}` : ""})\n`;
  return { json, text, exit: 0 };
}

/** Writes a dump, making its directory. */
export function writeDump(out: string, sql: string): void {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, sql);
}
