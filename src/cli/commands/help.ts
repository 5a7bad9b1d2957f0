/**
 * `help [COMMAND]`.
 * @module
 */
import type { CommandContext, CommandResult } from "../context.ts";
import { renderHelp } from "../help.ts";
import { usage } from "../options.ts";
import { suggest } from "../suggest.ts";

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
  const names = ctx.commands.flatMap((c) => [c.name, ...(c.aliases ?? [])]);
  if (name !== undefined && !names.includes(name)) {
    const hint = suggest(name, names);
    throw usage(`no command ${JSON.stringify(name)}${hint ? `; did you mean orchwf-migrate help ${hint}?` : "; run orchwf-migrate help for the list of commands"}`);
  }
  const text = renderHelp(ctx.commands, ctx.globalOptions, name);
  return Promise.resolve({ json: { help: text }, text });
}
