/**
 * `dump [--out FILE] [--from live|files] [--dumper pglite-tools|pg_dump|snapshot]`: an executable schema file of the database or of a replay of the files,
 * to `--out FILE` or stdout. Also what `up --dump-schema FILE` writes after a successful run.
 * @module
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Migration } from "../../core/migration.ts";
import type { Dumper } from "../../schema/dump.ts";
import type { CommandContext, CommandResult } from "../context.ts";
import { usage } from "../options.ts";
import { createScratchPGlite } from "../pglite-assets.ts";
import { replayProgress, schemaOptions } from "../schema-options.ts";
import { chosenMigrations, withSession } from "../session.ts";

/**
 * Runs `dump`.
 *
 * @example
 * ```ts
 * const { json } = await run(ctx); // { from, dumper, out, ... }
 * ```
 */
export async function run(ctx: CommandContext): Promise<CommandResult> {
  const from = ctx.string("from") ?? (ctx.string("db") === undefined ? "files" : "live");
  if (from !== "live" && from !== "files") throw usage(`--from expects live or files; got ${JSON.stringify(from)}`);
  const dumper = ctx.string("dumper");
  if (dumper !== undefined && !DUMPERS.includes(dumper as Dumper)) throw usage(`--dumper expects ${DUMPERS.join(", ")}; got ${JSON.stringify(dumper)}`);
  const files = from === "files" ? await chosenMigrations(ctx) : [];
  const options = { ...schemaOptions(ctx, files), from, out: ctx.string("out"), dumper: dumper as Dumper | undefined } as const;
  if (from === "files") replayProgress(ctx);
  const result = from === "files"
    ? await dumpCommand(undefined, files, { ...options, label: null })
    : await withSession(ctx, ({ db, label, url }) => dumpCommand(db.db, undefined, { ...options, label, url }), { existing: true });
  warnNotice(ctx, result);
  return { json: result.json, text: result.text.trimEnd(), exit: result.exit };
}

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
  /** `--dumper`: force one (default: chosen by the database, see dumpDatabase). */
  dumper?: Dumper;
  /** Placeholder values for a replay of the files. */
  placeholders?: Record<string, string>;
}

const DUMPERS: readonly Dumper[] = ["pglite-tools", "pg_dump", "snapshot"];

/**
 * Makes the dump and writes it to `out`, or returns it as the text to print.
 *
 * @example
 * ```ts
 * await dumpCommand(undefined, migrations, { from: "files", label: null, out: "schema.sql" });
 * ```
 */
export async function dumpCommand(db: object | undefined, migrations: readonly Migration[] | undefined, options: DumpCommandOptions): Promise<Required<CommandResult>> {
  const common = {
    table: options.table,
    schema: options.schema,
    scratchUrl: options.scratch,
    createPGlite: createScratchPGlite,
    dumper: options.dumper,
    placeholders: options.placeholders,
  };
  const { dumpDatabase, dumpMigrations } = await import("../../schema/dump.ts");
  const dump = options.from === "live" && db !== undefined
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
    ...(dump.notice ? { notice: dump.notice } : {}),
    ...(options.out === undefined ? { sql: dump.sql } : {}),
  };
  const text = options.out === undefined
    ? dump.sql
    : `wrote ${options.out} (${dump.versions.length} applied migration${dump.versions.length === 1 ? "" : "s"}, by ${dump.dumper}${dump.dumperVersion ? ` ${dump.dumperVersion}` : ""})\n`;
  return { json, text, exit: 0 };
}

/**
 * Prints why the dump was not made by the usual dumper (pglite-tools not installed), as a warning on stderr.
 *
 * @example
 * ```ts
 * warnNotice(ctx, await dumpCommand(db, undefined, options));
 * ```
 */
export function warnNotice(ctx: CommandContext, result: CommandResult): void {
  const notice = (result.json as { notice?: unknown } | undefined)?.notice;
  if (typeof notice === "string") ctx.out.warn(notice);
}

/** Writes a dump, making its directory. */
export function writeDump(out: string, sql: string): void {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, sql);
}
