/**
 * `drift [--scratch URL] [--ignore PATTERN]…`: the live schema against a replay of its applied migrations, plus the
 * checksum report.
 * @module
 */
import type { Migration } from "../../core/migration.ts";
import type { CommandContext, CommandResult } from "../context.ts";
import { createScratchPGlite } from "../pglite-assets.ts";
import { replayProgress, schemaOptions } from "../schema-options.ts";
import { withSession } from "../session.ts";

/**
 * Runs `drift`.
 *
 * @example
 * ```ts
 * const { json, exit } = await run(ctx); // the drift report; exit 1 on drift
 * ```
 */
export function run(ctx: CommandContext): Promise<CommandResult> {
  return withSession(ctx, async ({ migrator, db, label }) => {
    replayProgress(ctx);
    const { json, text, exit } = await driftCommand(db.db, migrator.migrations, { ...schemaOptions(ctx, migrator.migrations), label, ignore: ctx.strings("ignore") });
    return { json, text: text.trimEnd(), exit };
  }, { existing: true });
}

/** Options of `drift` as parsed from the command line. */
export interface DriftCommandOptions {
  /** Where `--db` points, password masked. */
  label: string;
  table?: string;
  schema?: string;
  /** `--scratch URL`: replay on a throwaway database made on this server instead of PGlite. */
  scratch?: string;
  /** `--ignore PATTERN`, repeatable. */
  ignore: string[];
  /** `--lock-timeout`, for the catalog reads (default 2 s). */
  lockTimeoutMs?: number;
  /** Placeholder values for the replay. */
  placeholders?: Record<string, string>;
}

/**
 * Runs drift on an open database.
 *
 * @example
 * ```ts
 * const { json, text, exit } = await driftCommand(db.db, migrations, { label: db.label, ignore: [] });
 * ```
 */
export async function driftCommand(db: object, migrations: readonly Migration[], options: DriftCommandOptions): Promise<Required<CommandResult>> {
  const { detectDrift, renderDriftReport } = await import("../../schema/drift.ts");
  const report = await detectDrift(db, migrations, {
    table: options.table,
    schema: options.schema,
    scratchUrl: options.scratch,
    ignore: options.ignore,
    lockTimeoutMs: options.lockTimeoutMs,
    createPGlite: createScratchPGlite,
    placeholders: options.placeholders,
  });
  return { json: { database: options.label, ...report }, text: renderDriftReport(report, options.label), exit: report.ok ? 0 : 1 };
}
