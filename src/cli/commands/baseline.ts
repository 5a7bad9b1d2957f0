/**
 * `baseline --to V` or `baseline --from [TOOL]`: record versions as applied without running them.
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
  const from = ctx.string("from");
  if (to === undefined && from === undefined) {
    throw usage("baseline needs --to VERSION (the last version the database already has) or --from [TOOL] (adopt another tool's history)");
  }
  if (to !== undefined && from !== undefined) throw usage("baseline takes --to or --from, not both");
  return await withSession(ctx, async ({ migrator, label, run, db }) => {
    if (to === undefined) {
      const { adoptForCli } = await import("../baseline.ts");
      const adopted = await adoptForCli(migrator, db.db, ctx.argv, run().timeoutMs);
      return { json: { database: label, ...adopted.json }, text: adopted.text.trimEnd() };
    }
    const { baselined } = await migrator.baseline({ to, ...run() });
    return {
      json: { database: label, baselined },
      text: baselined.length === 0
        ? `nothing to baseline: every version up to ${to} is recorded already`
        : baselined.map((b) => `baselined ${b.version} ${b.description} (recorded as applied, not run)`).join("\n"),
    };
  });
}
