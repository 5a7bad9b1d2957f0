/**
 * What a command receives and returns. Types only: importing this file costs nothing at start-up.
 * @module
 */
import type { Output } from "./output.ts";

/** Exit codes of the CLI. */
export const EXIT = { ok: 0, failure: 1, usage: 2, pending: 3, interrupted: 130 } as const;

/** One option: a flag, optionally with a value, optionally read from environment variables too. */
export interface OptionSpec {
  /** Long name without dashes: `lock-timeout`. */
  name: string;
  /** One-letter alias: `v` for `-v`. */
  short?: string;
  /** Placeholder of its value (`URL`, `DURATION`); absent for a boolean flag. */
  value?: string;
  /** The value may be left out (`baseline --from` alone): then it is the empty string. */
  optionalValue?: boolean;
  /** Environment variables read when the flag is absent, first set one wins. */
  env?: readonly string[];
  /** One line for --help. */
  help: string;
}

/** What a command gives back: main prints `json` with --json, else `text`, then exits with `exit` (default 0). */
export interface CommandResult {
  /** The --json document (stdout). */
  json?: unknown;
  /** The text result (stdout), one or more lines. */
  text?: string;
  /** Exit code; default 0. */
  exit?: number;
}

/** One command of the table. Adding a command is adding one of these (and the file `load` imports). */
export interface CommandSpec {
  name: string;
  aliases?: readonly string[];
  /** Positional arguments for the usage line: `[N]`, `<name>`. */
  args?: string;
  /** Most positionals it takes. */
  maxArgs?: number;
  /** One line for the command list. */
  summary: string;
  /** A paragraph for `help CMD`. */
  description: string;
  /** Global options this command does not use: given, they are refused instead of silently ignored. */
  without?: readonly string[];
  /** The command's own options (the global ones apply to every command). */
  options: readonly OptionSpec[];
  /** At least one example command line. */
  examples: readonly string[];
  /** Loads the implementation only when the command runs. */
  load: () => Promise<{ run(ctx: CommandContext): Promise<CommandResult> }>;
}

/** Everything a command needs. */
export interface CommandContext {
  spec: CommandSpec;
  /** The whole command table, for help and completion (passed down, so that they need not import it). */
  commands: readonly CommandSpec[];
  /** Options of every command. */
  globalOptions: readonly OptionSpec[];
  /** Positional arguments as typed. */
  positionals: readonly string[];
  /** The whole command line (after Go-style flags were normalised), for options given more than once. */
  argv: readonly string[];
  /** A value option's text (flag, else its environment variable), or undefined. */
  string(name: string): string | undefined;
  /** Every value of a repeatable value option (`--ignore a --ignore b`), as typed; no environment fallback. */
  strings(name: string): string[];
  /** A boolean option (flag, else its environment variable). */
  flag(name: string): boolean;
  /** Where the value of an option came from (`--db`, `ORCHWF_DB_URL`), for messages. */
  source(name: string): string;
  out: Output;
  env: Record<string, string | undefined>;
  /** A person is at a terminal (stdin and stderr are terminals). */
  interactive: boolean;
}
