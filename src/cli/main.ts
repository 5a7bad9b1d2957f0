/**
 * The `orchwf-migrate` program: parses the command line against the command table (./commands.ts), runs the
 * command, prints its result once (JSON or text) and exits. Runs under Bun (`bun src/cli/main.ts`), Deno
 * (`deno run -A src/mod.ts`), Node (the npm bin, a bundle of this file) and as a single binary. Everything heavy
 * (the Migrator, postgres.js, PGlite, help text) is imported by the command that needs it, when it runs.
 * @module
 */
import process from "node:process";
import { MigrationError } from "../core/errors.ts";
import { COMMANDS, findCommand, GLOBAL_OPTIONS, optionsFor } from "./commands.ts";
import { type CommandContext, type CommandResult, EXIT } from "./context.ts";
import { goStyleFlags, optionValue, usage } from "./options.ts";
import { suggest } from "./suggest.ts";
import { type CliIo, Output, processIo, type StyleText, useColor } from "./output.ts";
import { VERSION } from "../core/version.ts";

export { EXIT } from "./context.ts";
export type { CliIo } from "./output.ts";

/**
 * Runs the CLI on `args` (without the runtime and script) and returns the exit code.
 *
 * @example
 * ```ts
 * const code = await main(["status", "--db", "pglite:memory"]);
 * ```
 */
export async function main(args: readonly string[], io: CliIo = processIo()): Promise<number> {
  const argv = goStyleFlags(args, LONG_NAMES);
  let out = new Output(io, { json: argv.includes("--json"), quiet: false, verbose: false });
  // The version alone needs no parser: answered before cac is even loaded.
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
    out.line(`orchwf-migrate ${VERSION}`);
    return EXIT.ok;
  }
  let command: string | undefined;
  try {
    const { parseArgs } = await import("./parse.ts");
    const parsed = parseArgs(argv, { commands: COMMANDS, globals: GLOBAL_OPTIONS });
    command = parsed.command;
    const { flags } = parsed;
    if (flags.version) {
      out.line(`orchwf-migrate ${VERSION}`);
      return EXIT.ok;
    }
    const interactive = io.interactive ?? io.isTTY;
    const globalValue = (name: string) => optionValue(GLOBAL_OPTIONS.find((o) => o.name === name)!, flags, io.env);
    const loaded = flags["no-env-file"] ? [] : await envFile(globalValue("env-file").value as string | undefined, io.env);
    const color = useColor({ isTTY: io.isTTY, env: io.env, flag: flags["no-color"] !== true });
    out = new Output(io, {
      json: flags.json === true,
      quiet: flags.quiet === true,
      verbose: flags.verbose === true,
      color: color ? (await import("node:util")).styleText as StyleText : undefined,
    });
    if (loaded.length > 0) out.debug(`read ${loaded.join(", ")} from ${globalValue("env-file").value ?? ".env"}`);
    const spec = findCommand(command);
    if (command !== undefined && !spec) {
      const hint = suggest(command, COMMANDS.flatMap((c) => [c.name, ...(c.aliases ?? [])]));
      throw usage(`unknown command ${JSON.stringify(command)}${hint ? `; did you mean ${hint}?` : ""}`);
    }
    if (!spec || flags.help) {
      // No command at all is a request for help, as for git, dbmate and goose: stdout, exit 0.
      const { renderHelp } = await import("./help.ts");
      out.line(renderHelp(COMMANDS, GLOBAL_OPTIONS, spec?.name));
      return EXIT.ok;
    }
    if (parsed.positionals.length > (spec.maxArgs ?? 0)) {
      throw usage(`${spec.name} takes ${spec.maxArgs ? `at most ${spec.maxArgs} argument` : "no arguments"}; got ${parsed.positionals.map((p) => JSON.stringify(p)).join(" ")}`);
    }
    const specs = optionsFor(command);
    const value = (name: string) => {
      const option = specs.find((o) => o.name === name);
      if (!option) throw new Error(`internal: ${spec.name} reads an option it does not declare: --${name}`);
      return optionValue(option, flags, io.env);
    };
    for (const option of specs) {
      const { value: v, from } = value(option.name);
      if (v !== undefined && v !== false && from !== `--${option.name}`) out.debug(`--${option.name}${v === true ? "" : ` ${v}`} from ${from}`);
    }
    const ctx: CommandContext = {
      spec,
      commands: COMMANDS,
      globalOptions: GLOBAL_OPTIONS,
      positionals: parsed.positionals,
      argv,
      strings: (name) => {
        value(name); // declared?
        return parsed.lists[name] ?? [];
      },
      string: (name) => {
        const v = value(name).value;
        return typeof v === "string" ? v : undefined;
      },
      flag: (name) => value(name).value === true,
      source: (name) => value(name).from,
      out,
      env: io.env,
      interactive,
    };
    const { run } = await spec.load();
    // A fleet run (--targets, --schemas) loads its module only then.
    const fleet = spec.options.some((o) => o.name === "targets") && (ctx.string("targets") !== undefined || ctx.string("schemas") !== undefined);
    if (fleet) return await (await import("./fleet.ts")).runFleetCommand(ctx, run);
    return print(out, await run(ctx));
  } catch (err) {
    return reportError(err, out, command);
  }
}

/** Loads the env file: the one named, else ./.env when it exists. */
async function envFile(named: string | undefined, env: Record<string, string | undefined>): Promise<string[]> {
  const { loadEnvFile } = await import("./env-file.ts");
  return await loadEnvFile(named ?? ".env", env, { required: named !== undefined });
}

/** Prints a command's result once: JSON with --json, else its text. */
function print(out: Output, result: CommandResult): number {
  if (out.options.json) {
    if (result.json !== undefined) out.json(result.json);
  } else if (result.text !== undefined && result.text !== "") out.line(result.text);
  return result.exit ?? EXIT.ok;
}

/** Prints an error (passwords masked, control characters escaped) and returns its exit code. */
function reportError(err: unknown, out: Output, command: string | undefined): number {
  const isUsage = err instanceof MigrationError && err.code === "USAGE";
  const code = err instanceof MigrationError ? err.code : "ERROR";
  let message = err instanceof Error ? err.message : String(err);
  message = forCliUsers(message, code === "DIRTY" ? (err as MigrationError).version : undefined, code === "DIRTY");
  out.error(message);
  const spec = findCommand(command);
  if (isUsage && spec?.name !== "help") out.info(`run orchwf-migrate help${spec ? ` ${spec.name}` : ""} for usage`);
  if (out.options.json) out.json({ error: { code, message, ...(err instanceof MigrationError && err.version ? { version: err.version } : {}) } });
  const exit = (err as { exitCode?: number }).exitCode;
  return typeof exit === "number" ? exit : isUsage ? EXIT.usage : EXIT.failure;
}

/**
 * The library's messages name its options and methods beside the CLI's (`--allow-drift (library: allowDrift)`,
 * `migrator.resolve(...)`); a CLI user gets only the CLI's words.
 */
function forCliUsers(message: string, version: string | undefined, dirty: boolean): string {
  message = message.replace(/;? ?\(?library: [^()]*(\([^()]*\)[^()]*)*\)/g, (all) => (all.startsWith(";") ? ")" : "")).replace(/ \)/g, ")");
  if (!dirty) return message;
  const rewritten = message.replace(
    /migrator\.resolve\("([^"]*)", "(applied|rolled-back)"\)/g,
    (_all, v: string, outcome: string) => `orchwf-migrate resolve ${v} --${outcome}`,
  ).replace(/\bcall orchwf-migrate/g, "run orchwf-migrate");
  if (rewritten !== message || version === undefined) return rewritten;
  return `${message}\nonce repaired, run: orchwf-migrate resolve ${version} --applied (its change is complete) or orchwf-migrate resolve ${version} --rolled-back (it is undone)`;
}

/** Every long option name, for the Go tools' single-dash spelling (`-dir`, `-db`). */
const LONG_NAMES = [...new Set([...GLOBAL_OPTIONS, ...COMMANDS.flatMap((c) => c.options)].map((o) => o.name))];

let started = false;

/**
 * Runs the CLI on this process's arguments and ends the process with its code once everything printed has been
 * written: a pipe reader gets the whole output. `process.exit()` would drop what a pipe has not taken yet (Bun cuts
 * at 64 KiB even after a write callback or `writableLength` say it is flushed), so the process ends by itself, with
 * `process.exitCode`; only a handle left open by a driver would keep it, and then an unref'd timer exits anyway.
 * Runs once, however many entry points import it.
 *
 * @example
 * ```ts
 * import { runCli } from "./main.ts";
 * await runCli();
 * ```
 */
export async function runCli(): Promise<void> {
  if (started) return;
  started = true;
  const io = processIo();
  const code = await main(process.argv.slice(2), io);
  process.exitCode = code;
  await io.flush?.();
  const fallback = setTimeout(() => process.exit(code), LINGER_MS);
  (fallback as { unref?: () => void }).unref?.();
}

/** How long the process may stay for output still draining or a driver's handle, before it is ended. */
const LINGER_MS = 5_000;

if ((import.meta as { main?: boolean }).main) await runCli();
