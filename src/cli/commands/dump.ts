/**
 * `dump [--out FILE] [--from live|files]`: an executable schema file of the database or of a replay of the files.
 * @module
 */
import type { CommandContext, CommandResult } from "../context.ts";
import { dumpCommand } from "../dump.ts";
import { usage } from "../options.ts";
import { chosenMigrations, withSession } from "../session.ts";
import { schemaOptions } from "./schema-options.ts";

/**
 * Runs `dump`.
 *
 * @example
 * ```ts
 * const { json } = await run(ctx); // { from, dumper, out, ... }
 * ```
 */
export async function run(ctx: CommandContext): Promise<CommandResult> {
  const from = ctx.string("from") ?? (ctx.string("db") === undefined ? "files" : "live");
  if (from !== "live" && from !== "files") throw usage(`--from expects live or files; got ${JSON.stringify(from)}`);
  const options = { ...schemaOptions(ctx), from, out: ctx.string("out") } as const;
  const result = from === "files"
    ? await dumpCommand(undefined, await chosenMigrations(ctx), { ...options, label: null })
    : await withSession(ctx, ({ db, label, url }) => dumpCommand(db.db, undefined, { ...options, label, url }));
  return { json: result.json, text: result.text.trimEnd(), exit: result.exit };
}
