/**
 * `drift [--scratch URL] [--ignore PATTERN]…`: the live schema against a replay of its applied migrations.
 * @module
 */
import type { CommandContext, CommandResult } from "../context.ts";
import { driftCommand, repeatedOption } from "../drift.ts";
import { withSession } from "../session.ts";
import { schemaOptions } from "./schema-options.ts";

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
    const { json, text, exit } = await driftCommand(db.db, migrator.migrations, {
      ...schemaOptions(ctx),
      label,
      ignore: repeatedOption(ctx.argv, "ignore"),
    });
    return { json, text: text.trimEnd(), exit };
  });
}
