/**
 * Turning raw argument text into values: the Go tool's `-db` spelling, durations, and options whose
 * text must stay as typed (cac turns "001" into the number 1).
 * @module
 */
import { MigrationError } from "../core/errors.ts";

/**
 * Rewrites the Go tool's single-dash `-db URL` / `-db=URL` into `--db`, before cac parses.
 *
 * @example
 * ```ts
 * goStyleFlags(["-db", "postgres://h/db", "up"]); // ["--db", "postgres://h/db", "up"]
 * ```
 */
export function goStyleFlags(argv: readonly string[]): string[] {
  return argv.map((arg) => (arg === "-db" ? "--db" : arg.startsWith("-db=") ? `-${arg}` : arg));
}

/**
 * The text given to `--name` exactly as typed (`--name value` or `--name=value`), the last one winning.
 *
 * @example
 * ```ts
 * rawOption(["up", "--to", "001"], "to"); // "001"
 * ```
 */
export function rawOption(argv: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--") break;
    if (argv[i] === `--${name}` && i + 1 < argv.length) value = argv[++i];
    else if (argv[i].startsWith(`--${name}=`)) value = argv[i].slice(name.length + 3);
  }
  return value;
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
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(String(text));
  if (!match) throw usage(`${flag} expects a duration such as 500, 500ms, 10s or 2m; got ${JSON.stringify(String(text))}`);
  const unit = (match[2] ?? "ms").toLowerCase();
  const factor = unit === "ms" ? 1 : unit === "s" ? 1000 : unit === "m" ? 60_000 : 3_600_000;
  return Math.round(Number(match[1]) * factor);
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
