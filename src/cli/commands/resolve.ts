/**
 * `resolve VERSION --applied | --rolled-back`: settle a failed no-transaction migration.
 * @module
 */
import type { CommandContext, CommandResult } from "../context.ts";
import { usage } from "../options.ts";
import { withSession } from "../session.ts";

/**
 * Runs `resolve`.
 *
 * @example
 * ```ts
 * const { json } = await run(ctx); // { database, resolved, outcome }
 * ```
 */
export async function run(ctx: CommandContext): Promise<CommandResult> {
  const version = ctx.positionals[0];
  if (version === undefined) throw usage("resolve needs the VERSION of the failed migration, e.g. resolve 005 --rolled-back");
  const applied = ctx.flag("applied");
  if (applied === ctx.flag("rolled-back")) throw usage("resolve VERSION takes exactly one of --applied or --rolled-back");
  const outcome = applied ? "applied" : "rolled-back";
  return await withSession(ctx, async ({ migrator, label, run }) => {
    await migrator.resolve(version, outcome, run());
    return { json: { database: label, resolved: version, outcome }, text: `resolved ${version} as ${outcome}` };
  }, { existing: true });
}
