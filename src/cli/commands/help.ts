/**
 * `help [COMMAND]`.
 * @module
 */
import { suggest } from "../args.ts";
import { COMMANDS, findCommand } from "../commands.ts";
import type { CommandContext, CommandResult } from "../context.ts";
import { renderHelp } from "../help.ts";
import { usage } from "../options.ts";

/**
 * Runs `help`.
 *
 * @example
 * ```ts
 * const { text } = await run(ctx); // the help of ctx.positionals[0], or of everything
 * ```
 */
export function run(ctx: CommandContext): Promise<CommandResult> {
  const name = ctx.positionals[0];
  if (name !== undefined && !findCommand(name)) {
    const hint = suggest(name, COMMANDS.map((c) => c.name));
    throw usage(`no command ${JSON.stringify(name)}${hint ? `; did you mean ${hint}?` : ""}`);
  }
  const text = renderHelp(name);
  return Promise.resolve({ json: { help: text }, text });
}
