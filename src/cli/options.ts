/**
 * Turning raw argument text into values: the Go tools' single-dash spelling, an option's value from its flag or
 * environment variable, durations, usage errors.
 * @module
 */
import { durationMs } from "../core/duration.ts";
import { MigrationError } from "../core/errors.ts";
import type { OptionSpec } from "./context.ts";

/**
 * Rewrites the Go tools' single-dash spelling of long options (`-db URL`, `-dir=./m`, goose's and golang-migrate's
 * style) into `--db`, `--dir=./m`, before parsing. Only words naming a known long option change: `-q` stays a short flag.
 *
 * @example
 * ```ts
 * goStyleFlags(["-db", "postgres://h/db", "-dir=./m", "up"], ["db", "dir"]); // ["--db", "postgres://h/db", "--dir=./m", "up"]
 * ```
 */
export function goStyleFlags(argv: readonly string[], longNames: readonly string[]): string[] {
  const end = argv.indexOf("--") >= 0 ? argv.indexOf("--") : argv.length;
  return argv.map((arg, i) => {
    if (i >= end || !/^-[^-]/.test(arg)) return arg;
    const name = arg.slice(1).split("=", 1)[0];
    return name.length > 1 && longNames.includes(name) ? `-${arg}` : arg;
  });
}

/**
 * Milliseconds from `500`, `500ms`, `10s`, `2m` (a bare number is milliseconds).
 *
 * @example
 * ```ts
 * parseDuration("10s", "--lock-timeout"); // 10000
 * ```
 */
export function parseDuration(text: string | number, flag: string): number {
  const ms = durationMs(text);
  if (ms === undefined) throw usage(`${flag} expects a duration such as 500, 500ms, 10s or 2m; got ${JSON.stringify(String(text))}`);
  return ms;
}

/**
 * A usage error (exit code 2).
 *
 * @example
 * ```ts
 * throw usage("down takes a number of steps, e.g. down 2");
 * ```
 */
export function usage(message: string): MigrationError {
  return new MigrationError("USAGE", message);
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
