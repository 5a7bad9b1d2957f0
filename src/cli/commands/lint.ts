/**
 * `lint`: find operations that hurt a live database in the migrations.
 * @module
 */
import type { CommandContext, CommandResult } from "../context.ts";
import { lintCommand } from "../lint.ts";
import { chosenMigrations } from "../session.ts";

/**
 * Runs `lint`.
 *
 * @example
 * ```ts
 * const { json, exit } = await run(ctx); // { findings, errors, ... }; exit 1 on an error finding
 * ```
 */
export async function run(ctx: CommandContext): Promise<CommandResult> {
  const { json, text, exit } = await lintCommand(await chosenMigrations(ctx), ctx.string("dir"));
  return { json, text: text.trimEnd(), exit };
}
