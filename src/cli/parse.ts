/**
 * Command-line parsing with cac, from the command table: every command and option is declared to cac, which
 * splits the words; what cac cannot do for us is done around it, in one place:
 * - values stay as typed: cac (mri) turns any numeric-looking value into a number ("001" -> 1), so every word is
 *   marked as text before cac sees it and unmarked after;
 * - unknown options and commands are usage errors with "did you mean" (cac would accept or name them camelCased);
 * - an option's environment variable is read when the flag is absent (see ./options.ts `optionValue`).
 * @module
 */
import { cac } from "cac";
import type { OptionSpec } from "./context.ts";
import { usage } from "./options.ts";
import { suggest } from "./suggest.ts";

/** What the parser found. */
export interface ParsedArgs {
  /** The command name as typed (an alias stays an alias), or undefined. */
  command?: string;
  /** Positional arguments after the command. */
  positionals: string[];
  /** Option values by long name: string for value options (the last one given), true for flags given. */
  flags: Record<string, string | true>;
  /** Every value of each value option, in order (for repeatable ones such as `--ignore`). */
  lists: Record<string, string[]>;
}

/** The table as the parser needs it: each command's name, aliases and options; the global options. */
export interface CommandTable {
  commands: readonly { name: string; aliases?: readonly string[]; options: readonly OptionSpec[]; without?: readonly string[] }[];
  globals: readonly OptionSpec[];
}

// A private-use character: not whitespace, so `Number(MARK + "001")` is NaN and mri keeps the word a string.
const MARK = "\uE000";

/**
 * Splits `argv` into the command, its positionals and options, with cac. Unknown options and missing values are
 * usage errors that suggest the nearest valid name.
 *
 * @example
 * ```ts
 * parseArgs(["up", "--to", "001"], table); // { command: "up", positionals: [], flags: { to: "001" }, lists: { to: ["001"] } }
 * ```
 */
export function parseArgs(argv: readonly string[], table: CommandTable): ParsedArgs {
  const command = commandWord(argv, table.globals);
  const spec = command === undefined ? undefined : table.commands.find((c) => c.name === command || c.aliases?.includes(command));
  const options = [...(spec?.options ?? []), ...table.globals.filter((o) => !spec?.without?.includes(o.name))];
  checkOptions(argv, options, command, spec?.without ?? []);

  const cli = cac("orchwf-migrate");
  for (const option of table.globals) cli.option(cacFlag(option), option.help);
  for (const c of table.commands) {
    const declared = cli.command(c.name, "", { allowUnknownOptions: true });
    for (const alias of c.aliases ?? []) declared.alias(alias);
    for (const option of c.options) declared.option(cacFlag(option), option.help);
  }
  // A lone "-" is a value (stdin), never an option.
  const marked = argv.map((word) => (word.startsWith("-") && word !== "-" ? markInlineValue(word) : MARK + word));
  const parsed = cli.parse(["orchwf-migrate", "orchwf-migrate", ...marked], { run: false });

  const result: ParsedArgs = { positionals: [], flags: {}, lists: {} };
  const words = [...parsed.args.map(unmark), ...(parsed.options["--"] as string[]).map(unmark)];
  if (cli.matchedCommandName === undefined && command !== undefined) words.shift(); // an unknown command word
  result.command = command;
  result.positionals = words;
  for (const option of options) {
    const value = parsed.options[camelCase(option.name.replace(/^no-/, ""))];
    if (option.name.startsWith("no-")) {
      if (value === false) result.flags[option.name] = true;
      continue;
    }
    if (value === undefined || value === false) continue;
    if (option.value === undefined) {
      result.flags[option.name] = true;
      continue;
    }
    // A value option reads `true` only when cac filled it in (a negated twin's default, `--no-env-file`), except
    // for an optional value given bare (`--from`).
    if (value === true && !option.optionalValue) continue;
    const values = (Array.isArray(value) ? value : [value]).map((v) => (v === true ? "" : unmark(String(v))));
    result.lists[option.name] = values;
    result.flags[option.name] = values[values.length - 1];
  }
  return result;
}

/** The command is the first word that is not an option or the value of a global value option (`--db URL status`). */
function commandWord(argv: readonly string[], globals: readonly OptionSpec[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") return argv[i + 1];
    if (arg.startsWith("--") && !arg.includes("=")) {
      if (globals.find((s) => s.name === arg.slice(2))?.value !== undefined) i++;
      continue;
    }
    if (arg.startsWith("-") && arg !== "-") continue;
    return arg;
  }
  return undefined;
}

/** Refuses unknown options, values given to flags and value options without a value, before cac runs. */
function checkOptions(argv: readonly string[], options: readonly OptionSpec[], command: string | undefined, without: readonly string[]): void {
  const end = argv.indexOf("--") >= 0 ? argv.indexOf("--") : argv.length;
  for (let i = 0; i < end; i++) {
    const arg = argv[i];
    if (!arg.startsWith("-") || arg === "-") continue;
    const long = arg.startsWith("--");
    const eq = long ? arg.indexOf("=") : -1;
    const names = long ? [eq >= 0 ? arg.slice(2, eq) : arg.slice(2)] : [...arg.slice(1)].map((l) => `-${l}`);
    for (const name of names) {
      const spec = name.startsWith("-") ? options.find((s) => s.short === name.slice(1)) : options.find((s) => s.name === name);
      const shown = name.startsWith("-") ? name : `--${name}`;
      if (!spec && without.includes(name)) throw usage(`${command} does not use ${shown}: it works on the migration files alone`);
      if (!spec) throw unknownOption(shown, options, command);
      if (spec.value === undefined) {
        if (eq >= 0) throw usage(`${shown} takes no value; got ${JSON.stringify(arg)}`);
        continue;
      }
      if (eq >= 0) continue;
      const next = argv[i + 1];
      if (spec.optionalValue && (i + 1 >= end || next.startsWith("-"))) continue;
      if (i + 1 >= end) throw usage(`${shown} needs a value: ${shown} ${spec.value}`);
      i++;
    }
  }
}

function unknownOption(shown: string, options: readonly OptionSpec[], command: string | undefined) {
  const names = options.flatMap((s) => [`--${s.name}`, ...(s.short ? [`-${s.short}`] : [])]);
  const hint = suggest(shown, names);
  const where = command ? ` for ${command}` : "";
  return usage(`unknown option ${shown}${where}${hint ? `; did you mean ${hint}?` : ""}`);
}

/** cac's spelling of an option: `-q, --quiet`, `--db <URL>`, `--from [TOOL]`. */
function cacFlag(option: OptionSpec): string {
  const short = option.short ? `-${option.short}, ` : "";
  if (option.value === undefined) return `${short}--${option.name}`;
  return `${short}--${option.name} ${option.optionalValue ? `[${option.value}]` : `<${option.value}>`}`;
}

function markInlineValue(word: string): string {
  const eq = word.indexOf("=");
  return word.startsWith("--") && eq > 0 ? `${word.slice(0, eq + 1)}${MARK}${word.slice(eq + 1)}` : word;
}

function unmark(word: string): string {
  return word.startsWith(MARK) ? word.slice(MARK.length) : word;
}

function camelCase(name: string): string {
  return name.replace(/-([a-z])/g, (_all, letter: string) => letter.toUpperCase());
}
