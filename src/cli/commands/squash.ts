/**
 * `squash --to V [--out DIR]`: the migrations up to V become one baseline made from their dump, in place in `--dir`
 * or into a new directory.
 * @module
 */
import type { Migration } from "../../core/migration.ts";
import type { CommandContext, CommandResult } from "../context.ts";
import { usage } from "../options.ts";
import { createScratchPGlite } from "../pglite-assets.ts";
import { replayProgress, schemaOptions } from "../schema-options.ts";
import { chosenMigrations } from "../session.ts";

/**
 * Runs `squash`.
 *
 * @example
 * ```ts
 * const { json } = await run(ctx); // { baseline, replaces, dataStatements, ... }
 * ```
 */
export async function run(ctx: CommandContext): Promise<CommandResult> {
  const dir = ctx.string("dir");
  const migrations = dir === undefined ? undefined : await chosenMigrations(ctx);
  replayProgress(ctx);
  const { json, text, exit } = await squashCommand(migrations, { ...schemaOptions(ctx, migrations ?? []), to: ctx.string("to"), out: ctx.string("out"), dir });
  return { json, text: text.trimEnd(), exit };
}

/** Options of `squash` as parsed from the command line. */
export interface SquashCommandOptions {
  to?: string;
  /** A new directory to write the squashed set to. */
  out?: string;
  /** The migrations directory; without `out`, it is squashed in place. */
  dir?: string;
  table?: string;
  schema?: string;
  scratch?: string;
}

/**
 * Squashes and writes.
 *
 * @example
 * ```ts
 * await squashCommand(await loadMigrations("migrations"), { to: "030", dir: "migrations" });
 * ```
 */
export async function squashCommand(migrations: readonly Migration[] | undefined, options: SquashCommandOptions): Promise<Required<CommandResult>> {
  if (options.to === undefined) throw usage("squash needs --to VERSION: the last version to squash into the baseline");
  if (options.out === undefined && options.dir === undefined) {
    throw usage("squash needs --dir D (squash that directory in place) or --out DIR (write the squashed set to a new directory)");
  }
  const { squashMigrations, writeSquashed } = await import("../../schema/squash.ts");
  const result = await squashMigrations(migrations ?? (await import("../../builtin.ts")).orchwfMigrations, {
    to: options.to,
    table: options.table,
    schema: options.schema,
    scratchUrl: options.scratch,
    createPGlite: createScratchPGlite,
  });
  const written = writeSquashed(result, options.out !== undefined ? { out: options.out } : { dir: options.dir! });
  const json = {
    to: result.to,
    baseline: written.baseline,
    replaced: result.replaced,
    kept: result.kept.map((m) => m.version),
    removed: written.removed,
    copied: written.copied,
    dataStatements: result.dataStatements,
    dumper: result.dumper,
    dumperVersion: result.dumperVersion,
  };
  const first = result.replaced[0];
  const lines = [
    `squashed ${result.replaced.length} migration${result.replaced.length === 1 ? "" : "s"} (${first} to ${result.to}) into ${written.baseline} (${result.dumper}${
      result.dumperVersion ? ` ${result.dumperVersion}` : ""
    })`,
  ];
  if (result.dataStatements.length > 0) {
    lines.push(`  ${result.dataStatements.length} data statement${result.dataStatements.length === 1 ? "" : "s"} in them: the rows they left are in the baseline (review):`);
    for (const d of result.dataStatements) lines.push(`    ${d.file ?? d.version}:${d.line}: ${d.statement}`);
  }
  if (written.removed.length > 0) lines.push(`  deleted ${written.removed.length} files of the squashed migrations`);
  if (options.out !== undefined) lines.push(`  copied ${written.copied.length} files of the ${result.kept.length} later migrations`);
  lines.push(
    `a database that applied ${first} to ${result.to} records ${result.to} in their place on its next up; one that applied only part of them is refused (SQUASHED_PARTIAL)`,
  );
  return { json, text: `${lines.join("\n")}\n`, exit: 0 };
}
