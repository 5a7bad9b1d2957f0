/**
 * The values of `${name}` placeholders for a run: `--var NAME=VALUE` (repeatable), else `ORCHWF_VAR_NAME`, else,
 * for Flyway files, Flyway's own `FLYWAY_PLACEHOLDERS_NAME` (its name in lower case, as Flyway reads it), for goose
 * files (`-- +goose ENVSUB ON`) any environment variable, as goose reads it. The environment includes the `.env` file.
 * @module
 */
import { PLACEHOLDER_NAME } from "../core/placeholders.ts";
import type { Migration } from "../core/migration.ts";
import type { CommandContext } from "./context.ts";
import { usage } from "./options.ts";

const ORCHWF_PREFIX = "ORCHWF_VAR_";
const FLYWAY_PREFIX = "FLYWAY_PLACEHOLDERS_";

/**
 * Every placeholder value the command line and the environment give, by name.
 *
 * @example
 * ```ts
 * placeholderValues(ctx); // { reader: "app_ro" } for --var reader=app_ro
 * ```
 */
export function placeholderValues(ctx: Pick<CommandContext, "spec" | "strings" | "env">, migrations: readonly Migration[] = []): Record<string, string> {
  const values: Record<string, string> = {};
  // goose files (-- +goose ENVSUB ON) read the environment itself: under env:NAME, which no other syntax reads; only
  // when such a file is there (the values are part of replay cache keys).
  if (migrations.some((m) => m.placeholders === "goose")) {
    for (const [key, value] of Object.entries(ctx.env)) if (value !== undefined && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) values[`env:${key}`] = value;
  }
  for (const [key, value] of Object.entries(ctx.env)) {
    if (value !== undefined && key.startsWith(FLYWAY_PREFIX) && key.length > FLYWAY_PREFIX.length) {
      values[key.slice(FLYWAY_PREFIX.length).toLowerCase()] = value;
    }
  }
  for (const [key, value] of Object.entries(ctx.env)) {
    if (value !== undefined && key.startsWith(ORCHWF_PREFIX) && PLACEHOLDER_NAME.test(key.slice(ORCHWF_PREFIX.length))) {
      values[key.slice(ORCHWF_PREFIX.length)] = value;
    }
  }
  if (!ctx.spec.options.some((o) => o.name === "var")) return values;
  for (const given of ctx.strings("var")) {
    const eq = given.indexOf("=");
    const name = eq < 0 ? given : given.slice(0, eq);
    if (eq < 0 || !PLACEHOLDER_NAME.test(name) || /^(orchwf|flyway):/.test(name)) {
      throw usage(
        `--var ${JSON.stringify(given)}: expected NAME=VALUE, NAME of letters, digits, _, . and : starting with a letter or _ (the orchwf: and flyway: prefixes are the built-ins')`,
      );
    }
    values[name] = given.slice(eq + 1);
  }
  return values;
}
