/**
 * Command-line parsing from the command table: options as typed (never turned into numbers: "001" stays "001"),
 * each option's environment variable when the flag is absent, and "did you mean" for unknown names.
 * @module
 */
import { usage } from "./options.ts";

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

/** What the parser found. */
export interface ParsedArgs {
  /** The command name as typed (an alias stays an alias), or undefined. */
  command?: string;
  /** Positional arguments after the command. */
  positionals: string[];
  /** Option values by long name: string for value options, true for flags given. */
  flags: Record<string, string | true>;
}

/**
 * Splits `argv` into the command, its positionals and options. `optionsFor(command)` lists the options valid
 * for that command (global ones included). Unknown options and missing values are usage errors that suggest
 * the nearest valid name.
 *
 * @example
 * ```ts
 * parseArgs(["up", "--to", "001"], () => [{ name: "to", value: "V", help: "" }]);
 * // { command: "up", positionals: [], flags: { to: "001" } }
 * ```
 */
export function parseArgs(argv: readonly string[], optionsFor: (command: string | undefined) => readonly OptionSpec[]): ParsedArgs {
  const result: ParsedArgs = { positionals: [], flags: {} };
  const end = argv.indexOf("--") >= 0 ? argv.indexOf("--") : argv.length;
  // The command is the first word that is not the value of a global value option (`--db URL status`).
  const globals = optionsFor(undefined);
  let commandIndex = -1;
  for (let i = 0; i < end; i++) {
    const arg = argv[i];
    if (arg.startsWith("--") && !arg.includes("=")) {
      if (findSpec(globals, arg.slice(2))?.value !== undefined) i++;
      continue;
    }
    if (arg.startsWith("-") && arg !== "-") continue;
    commandIndex = i;
    break;
  }
  if (commandIndex < 0 && end < argv.length - 1) commandIndex = end + 1;
  result.command = commandIndex >= 0 ? argv[commandIndex] : undefined;
  const specs = optionsFor(result.command);
  for (let i = 0; i < end; i++) {
    const arg = argv[i];
    if (i === commandIndex) continue;
    if (!arg.startsWith("-") || arg === "-") {
      result.positionals.push(arg);
      continue;
    }
    const long = arg.startsWith("--");
    const eq = long ? arg.indexOf("=") : -1;
    const names = long ? [eq >= 0 ? arg.slice(2, eq) : arg.slice(2)] : [...arg.slice(1)].map((l) => `-${l}`);
    for (const name of names) {
      const spec = findSpec(specs, name);
      const shown = name.startsWith("-") ? name : `--${name}`;
      if (!spec) throw unknownOption(shown, specs, result.command);
      if (spec.value === undefined) {
        if (eq >= 0) throw usage(`${shown} takes no value; got ${JSON.stringify(arg)}`);
        result.flags[spec.name] = true;
        continue;
      }
      let value: string | undefined;
      if (eq >= 0) value = arg.slice(eq + 1);
      else if (spec.optionalValue && (i + 1 >= end || argv[i + 1].startsWith("-"))) value = "";
      else if (i + 1 < end) value = argv[++i];
      if (value === undefined) throw usage(`${shown} needs a value: ${shown} ${spec.value}`);
      result.flags[spec.name] = value;
    }
  }
  for (let i = end + 1; i < argv.length; i++) if (i !== commandIndex) result.positionals.push(argv[i]);
  return result;
}

function findSpec(specs: readonly OptionSpec[], name: string): OptionSpec | undefined {
  return name.startsWith("-") ? specs.find((s) => s.short === name.slice(1)) : specs.find((s) => s.name === name);
}

function unknownOption(shown: string, specs: readonly OptionSpec[], command: string | undefined) {
  const names = specs.flatMap((s) => [`--${s.name}`, ...(s.short ? [`-${s.short}`] : [])]);
  const hint = suggest(shown, names);
  const where = command ? ` for ${command}` : "";
  return usage(`unknown option ${shown}${where}${hint ? `; did you mean ${hint}?` : ""}`);
}

/**
 * The candidate nearest to `word` (edit distance at most a third of its length, at least 1; or a prefix), if any.
 *
 * @example
 * ```ts
 * suggest("stauts", ["status", "up"]); // "status"
 * ```
 */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  const limit = Math.max(1, Math.floor(word.replace(/^-+/, "").length / 3));
  for (const candidate of candidates) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best !== undefined && bestDistance <= limit) return best;
  const stem = word.replace(/^-+/, "");
  if (stem.length >= 2) return candidates.find((c) => c.replace(/^-+/, "").startsWith(stem));
  return undefined;
}

/** Damerau-Levenshtein distance (a swap of two neighbours counts one). */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * An option's value: the flag, else its first set environment variable (booleans from `1/true/yes/on` or
 * `0/false/no/off`). Returns the value and where it came from, for messages.
 *
 * @example
 * ```ts
 * optionValue({ name: "table", value: "NAME", env: ["ORCHWF_TABLE"], help: "" }, {}, { ORCHWF_TABLE: "t" }); // { value: "t", from: "ORCHWF_TABLE" }
 * ```
 */
export function optionValue(
  spec: OptionSpec,
  flags: Record<string, string | true>,
  env: Record<string, string | undefined>,
): { value: string | boolean | undefined; from: string } {
  const flag = flags[spec.name];
  if (flag !== undefined) return { value: flag, from: `--${spec.name}` };
  for (const name of spec.env ?? []) {
    const raw = env[name];
    if (raw === undefined || (raw === "" && spec.value !== undefined)) continue;
    if (spec.value !== undefined) return { value: raw, from: name };
    const text = raw.trim().toLowerCase();
    if (["1", "true", "yes", "on"].includes(text)) return { value: true, from: name };
    if (["", "0", "false", "no", "off"].includes(text)) return { value: false, from: name };
    throw usage(`${name} must be 1/true/yes/on or 0/false/no/off; got ${JSON.stringify(raw)}`);
  }
  return { value: spec.value === undefined ? false : undefined, from: "" };
}
