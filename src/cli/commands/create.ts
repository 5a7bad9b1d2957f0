/**
 * `create NAME [--timestamp]`: the next pair of files in the migrations directory `up` reads.
 * @module
 */
import type { CommandContext, CommandResult } from "../context.ts";
import { createMigration } from "../create.ts";
import { usage } from "../options.ts";

/**
 * Runs `create`.
 *
 * @example
 * ```ts
 * const { json } = await run(ctx); // { version, up, down }
 * ```
 */
export async function run(ctx: CommandContext): Promise<CommandResult> {
  const name = ctx.positionals[0];
  if (name === undefined) throw usage("create needs a NAME, e.g. create add_users");
  const dir = ctx.string("dir");
  if (!dir) {
    throw usage(
      "create needs the migrations directory: --dir DIR or ORCHWF_MIGRATIONS_DIR (e.g. in ./.env), the same one up reads " +
        "(without it, up applies only the built-in OrchWF schema)",
    );
  }
  const reserved = ctx.flag("with-orchwf") ? (await import("../../builtin.ts")).orchwfMigrations.map((m) => m.version) : [];
  const created = createMigration(dir, name, new Date(), { timestamp: ctx.flag("timestamp"), reserved });
  return { json: created, text: `created ${created.up}\ncreated ${created.down}` };
}
