/**
 * `validate`: parse and check every migration with PostgreSQL's grammar, without a database.
 * @module
 */
import type { CommandContext, CommandResult } from "../context.ts";
import { chosenMigrations } from "../session.ts";
import { validateCommand } from "../validate.ts";

/**
 * Runs `validate`.
 *
 * @example
 * ```ts
 * const { json, exit } = await run(ctx); // { problems }; exit 1 when there is one
 * ```
 */
export async function run(ctx: CommandContext): Promise<CommandResult> {
  const { json, text, exit } = await validateCommand(await chosenMigrations(ctx));
  return { json, text: text.trimEnd(), exit };
}
