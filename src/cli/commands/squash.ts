/**
 * `squash --to V [--out DIR]`: every migration up to V becomes one baseline made from their dump.
 * @module
 */
import type { CommandContext, CommandResult } from "../context.ts";
import { chosenMigrations } from "../session.ts";
import { squashCommand } from "../squash.ts";
import { schemaOptions } from "./schema-options.ts";

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
  const { json, text, exit } = await squashCommand(migrations, { ...schemaOptions(ctx), to: ctx.string("to"), out: ctx.string("out"), dir });
  return { json, text: text.trimEnd(), exit };
}
