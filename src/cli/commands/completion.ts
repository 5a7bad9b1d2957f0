/**
 * `completion bash|zsh|fish`: a completion script generated from the command table, so it never lags behind.
 * @module
 */
import type { CommandContext, CommandResult, CommandSpec, OptionSpec } from "../context.ts";
import { usage } from "../options.ts";
import { suggest } from "../suggest.ts";

const SHELLS = ["bash", "zsh", "fish"] as const;

/**
 * Runs `completion`.
 *
 * @example
 * ```ts
 * const { text } = await run(ctx); // a bash script when ctx.positionals[0] is "bash"
 * ```
 */
export function run(ctx: CommandContext): Promise<CommandResult> {
  const shell = ctx.positionals[0];
  if (!SHELLS.includes(shell as (typeof SHELLS)[number])) {
    const hint = shell ? suggest(shell, SHELLS) : undefined;
    throw usage(`completion needs a shell: ${SHELLS.join(", ")}${shell ? `; got ${JSON.stringify(shell)}` : ""}${hint ? `; did you mean ${hint}?` : ""}`);
  }
  const text = completionScript(shell as (typeof SHELLS)[number], ctx.commands, ctx.globalOptions);
  return Promise.resolve({ json: { shell, script: text }, text });
}

/**
 * The completion script for one shell.
 *
 * @example
 * ```ts
 * completionScript("fish", COMMANDS, GLOBAL_OPTIONS).includes("complete -c orchwf-migrate"); // true
 * ```
 */
export function completionScript(shell: "bash" | "zsh" | "fish", COMMANDS: readonly CommandSpec[], GLOBAL_OPTIONS: readonly OptionSpec[]): string {
  // One entry per name: a command with its summary, an alias with "alias of NAME" (never "alias: itself").
  const entries = COMMANDS.flatMap((c) => [
    { name: c.name, command: c, text: c.summary.replace(/\s*\(alias(es)?: [^)]*\)$/, "") },
    ...(c.aliases ?? []).map((a) => ({ name: a, command: c, text: `alias of ${c.name}` })),
  ]);
  const names = COMMANDS.flatMap((c) => [c.name, ...(c.aliases ?? [])]);
  const globals = GLOBAL_OPTIONS.map((o) => `--${o.name}`);
  const perCommand = COMMANDS.flatMap((c) => [c.name, ...(c.aliases ?? [])].map((n) => [n, c.options.map((o) => `--${o.name}`)] as const));
  if (shell === "bash") {
    return [
      "# orchwf-migrate completion for bash: eval \"$(orchwf-migrate completion bash)\"",
      "_orchwf_migrate() {",
      "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" cmd=\"\" w",
      "  for w in \"${COMP_WORDS[@]:1:COMP_CWORD-1}\"; do case \"$w\" in -*) ;; *) cmd=\"$w\"; break ;; esac; done",
      "  local opts=\"" + globals.join(" ") + "\"",
      "  case \"$cmd\" in",
      ...perCommand.map(([n, o]) => `    ${n}) opts="${[...o, ...globals].join(" ")}" ;;`),
      "  esac",
      "  if [[ -z \"$cmd\" && \"$cur\" != -* ]]; then",
      `    COMPREPLY=($(compgen -W "${names.join(" ")}" -- "$cur"))`,
      "  elif [[ \"$cmd\" == completion && \"$cur\" != -* ]]; then",
      `    COMPREPLY=($(compgen -W "${SHELLS.join(" ")}" -- "$cur"))`,
      "  elif [[ \"$cmd\" == help && \"$cur\" != -* ]]; then",
      `    COMPREPLY=($(compgen -W "${COMMANDS.map((c) => c.name).join(" ")}" -- "$cur"))`,
      "  else",
      "    COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))",
      "  fi",
      "}",
      "complete -o default -F _orchwf_migrate orchwf-migrate",
    ].join("\n");
  }
  if (shell === "zsh") {
    // Inside zsh single quotes only ' needs escaping ('\''); in an _arguments spec [ ] end the description, so they
    // are escaped; in a _describe entry only the first : separates, and the name has none.
    const squote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
    const describe = (s: string) => s.replace(/\\/g, "\\\\").replace(/[[\]]/g, (b) => `\\${b}`);
    return [
      "#compdef orchwf-migrate",
      "# orchwf-migrate completion for zsh: orchwf-migrate completion zsh > \"${fpath[1]}/_orchwf-migrate\"",
      "_orchwf_migrate() {",
      "  local -a commands options",
      "  commands=(",
      ...entries.map((e) => `    ${squote(`${e.name}:${e.text}`)}`),
      "  )",
      "  options=(",
      ...GLOBAL_OPTIONS.map((o) => `    ${squote(`--${o.name}[${describe(o.help)}]${o.value ? `:${o.value.toLowerCase()}:` : ""}`)}`),
      "  )",
      "  if (( CURRENT == 2 )); then _describe 'command' commands; return; fi",
      "  case \"${words[2]}\" in",
      ...COMMANDS.flatMap((c) => [c.name, ...(c.aliases ?? [])].map((n) =>
        `    ${n}) _arguments -s ${c.options.map((o) => squote(`--${o.name}[${describe(o.help)}]${o.value ? ":value:" : ""}`)).join(" ")} $options ${c.name === "completion" ? `':shell:(${SHELLS.join(" ")})'` : c.name === "help" ? `':command:(${COMMANDS.map((x) => x.name).join(" ")})'` : ""} ;;`
      )),
      "  esac",
      "}",
      "compdef _orchwf_migrate orchwf-migrate",
    ].join("\n");
  }
  // fish single quotes: \\ and \' are the only escapes.
  const quote = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  return [
    "# orchwf-migrate completion for fish: orchwf-migrate completion fish > ~/.config/fish/completions/orchwf-migrate.fish",
    "complete -c orchwf-migrate -f",
    ...entries.map((e) => `complete -c orchwf-migrate -n '__fish_use_subcommand' -a ${e.name} -d ${quote(e.text)}`),
    ...GLOBAL_OPTIONS.map((o) => `complete -c orchwf-migrate -l ${o.name}${o.short ? ` -s ${o.short}` : ""}${o.value ? " -r" : ""} -d ${quote(o.help)}`),
    ...COMMANDS.flatMap((c) => c.options.map((o) =>
      `complete -c orchwf-migrate -n '__fish_seen_subcommand_from ${[c.name, ...(c.aliases ?? [])].join(" ")}' -l ${o.name}${o.value ? " -r" : ""} -d ${quote(o.help)}`
    )),
    `complete -c orchwf-migrate -n '__fish_seen_subcommand_from completion' -a '${SHELLS.join(" ")}'`,
    `complete -c orchwf-migrate -n '__fish_seen_subcommand_from help' -a '${COMMANDS.map((c) => c.name).join(" ")}'`,
  ].join("\n");
}
