/**
 * Help text, generated from the command table it is given (loaded only when help is shown). README's CLI section quotes
 * `orchwf-migrate --help` exactly; a test keeps them equal.
 * @module
 */
import type { CommandSpec, OptionSpec } from "./context.ts";
import { VERSION } from "../core/version.ts";

const EXIT_CODES = [
  "  0    ok",
  "  1    failure (connection, SQL, drift, lock, timeout, ...)",
  "  2    usage: unknown command or option, bad value, no database given",
  "  3    migrations pending (status --exit-code)",
  "  130  stopped by Ctrl-C or SIGTERM (the running migration rolled back)",
];

/**
 * The help for one command, or for the whole program.
 *
 * @example
 * ```ts
 * console.log(renderHelp(COMMANDS, GLOBAL_OPTIONS, "up"));
 * ```
 */
export function renderHelp(commands: readonly CommandSpec[], globals: readonly OptionSpec[], command?: string): string {
  const spec = command === undefined ? undefined : commands.find((c) => c.name === command || c.aliases?.includes(command));
  if (!spec) return programHelp(commands, globals);
  const lines = [
    `Usage: orchwf-migrate ${spec.name}${spec.args ? ` ${spec.args}` : ""} [options]`,
    "",
    wrap(spec.description, 100).join("\n"),
  ];
  if (spec.aliases?.length) lines.push("", `Alias: ${spec.aliases.join(", ")}`);
  if (spec.options.length > 0) lines.push("", "Options:", ...optionLines(spec.options));
  lines.push("", "Examples:", ...spec.examples.map((e) => `  ${e}`));
  lines.push("", "Every command also takes the global options: orchwf-migrate --help");
  return lines.join("\n");
}

function programHelp(COMMANDS: readonly CommandSpec[], GLOBAL_OPTIONS: readonly OptionSpec[]): string {
  const usageOf = (c: CommandSpec) => `${c.name}${c.args ? ` ${c.args}` : ""}`;
  const width = Math.max(...COMMANDS.map((c) => usageOf(c).length));
  return [
    `orchwf-migrate ${VERSION}: PostgreSQL schema migrations (the OrchWF schema or your SQL files)`,
    "",
    "Usage: orchwf-migrate COMMAND [options]",
    "",
    "Commands:",
    ...COMMANDS.map((c) => `  ${usageOf(c).padEnd(width)}  ${c.summary}`),
    "",
    "Options (every command; a flag wins over its environment variable):",
    ...optionLines(GLOBAL_OPTIONS),
    "",
    "Database: --db, else ORCHWF_DB_URL, else DATABASE_URL (./.env is read; set variables win); with none, only an",
    "interactive terminal gets the embedded pglite:./.orchwf/pgdata. DURATION: 500, 500ms, 10s, 2m, 1h.",
    "",
    "Exit codes:",
    ...EXIT_CODES,
    "",
    "Run orchwf-migrate help COMMAND for a command's options and examples.",
  ].join("\n");
}

function optionLines(options: readonly OptionSpec[]): string[] {
  const flag = (o: OptionSpec) => `${o.short ? `-${o.short}, ` : "    "}--${o.name}${o.value ? ` ${o.value}` : ""}`;
  const width = Math.max(...options.map((o) => flag(o).length));
  return options.map((o) => {
    const env = o.env?.length ? ` [${o.env.join(", ")}]` : "";
    return `  ${flag(o).padEnd(width)}  ${o.help}${env}`;
  });
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}
