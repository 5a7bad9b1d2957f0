/**
 * `baseline --to V`: record versions as applied without running them.
 * @module
 */
import type { CommandContext, CommandResult } from "../context.ts";
import { usage } from "../options.ts";
import { withSession } from "../session.ts";

/**
 * Runs `baseline`.
 *
 * @example
 * ```ts
 * const { json } = await run(ctx); // { database, baselined }
 * ```
 */
export async function run(ctx: CommandContext): Promise<CommandResult> {
  const to = ctx.string("to");
  if (to === undefined) throw usage("baseline needs --to VERSION: the last version the database already has");
  return await withSession(ctx, async ({ migrator, label, run }) => {
    const { baselined } = await migrator.baseline({ to, ...run() });
    return {
      json: { database: label, baselined },
      text: baselined.length === 0
        ? `nothing to baseline: every version up to ${to} is recorded already`
        : baselined.map((b) => `baselined ${b.version} ${b.description} (recorded as applied, not run)`).join("\n"),
    };
  });
}
