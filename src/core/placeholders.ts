/**
 * `${name}` placeholders: replaced in a migration's SQL once, before it is parsed, split or sent; never in the text
 * the checksum is taken of (so a new value is not drift). Pure: the values come from the caller.
 *
 * Two syntaxes, chosen per file:
 * - `orchwf` (a file that declares `-- orchwf:placeholders`): `${name}` with a name of letters, digits, `_`, `.`
 *   and `:` (starting with a letter or `_`) is replaced everywhere in the file, strings and dollar-quoted bodies
 *   included; `$${` is a literal `${`; a `${` not followed by such a name and `}` (a JavaScript template in a plv8
 *   body, `${ a + b }`) stays as it is.
 * - `flyway` (Flyway files, as Flyway reads them): every `${…}` on one line is a placeholder; there is no escape.
 * - `goose` (goose files with `-- +goose ENVSUB ON`, as goose reads them): between `ENVSUB ON` and `ENVSUB OFF` (or
 *   the end), `${NAME}`, `$NAME`, `${NAME:-default}` (unset or empty) and `${NAME-default}` (unset); `$$` is a
 *   literal `$` there, as in goose (so dollar-quoted bodies belong outside the region). Values are the run's, else the
 *   environment's (`env:NAME` in the values, which the CLI fills). Unlike goose, an unset NAME without a default
 *   refuses the run instead of becoming empty.
 *
 * A placeholder without a value refuses the run (`MISSING_PLACEHOLDER`), naming file, line and name.
 * @module
 */
import { MigrationError } from "./errors.ts";
import type { PlaceholderSyntax } from "./migration.ts";

/**
 * Placeholder values by name.
 *
 * @example
 * ```ts
 * const values: PlaceholderValues = { reader: "app_ro" };
 * ```
 */
export type PlaceholderValues = Readonly<Record<string, string>>;

/** What a name may look like in the `orchwf` syntax (also what `--var NAME=VALUE` accepts). */
export const PLACEHOLDER_NAME: RegExp = /^[A-Za-z_][A-Za-z0-9_.:]*$/;

const ORCHWF = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_.:]*)\}/g;
const FLYWAY = /\$\{([^\r\n]+?)\}/g;
/** goose's expansions: `$$`, `${NAME}`, `${NAME:-default}`, `${NAME-default}`, `$NAME`. */
const GOOSE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}\r\n]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;
const GOOSE_REGION = /^--\s*\+goose\s+envsub\s+(on|off)\s*$/i;

/**
 * The parts of a goose text between `-- +goose ENVSUB ON` and `OFF` (or the end): [start, end) offsets.
 */
function gooseRegions(text: string): [number, number][] {
  const regions: [number, number][] = [];
  let start: number | undefined;
  let offset = 0;
  for (const line of text.split(/(?<=\r\n|\n|\r(?!\n))/)) {
    const m = GOOSE_REGION.exec(line.replace(/[\r\n]+$/, ""));
    if (m && m[1].toLowerCase() === "on" && start === undefined) start = offset + line.length;
    if (m && m[1].toLowerCase() === "off" && start !== undefined) {
      regions.push([start, offset]);
      start = undefined;
    }
    offset += line.length;
  }
  if (start !== undefined) regions.push([start, text.length]);
  return regions;
}

/** `replace` on the goose regions of `text` only; offsets given to `fn` are the whole text's. */
function inGooseRegions(text: string, fn: (match: string, groups: (string | undefined)[], offset: number) => string): string {
  let out = "";
  let at = 0;
  for (const [start, end] of gooseRegions(text)) {
    out += text.slice(at, start);
    out += text.slice(start, end).replace(GOOSE, (match: string, ...rest: unknown[]) => {
      const groups = rest.slice(0, 4) as (string | undefined)[];
      return fn(match, groups, start + (rest[4] as number));
    });
    at = end;
  }
  return out + text.slice(at);
}

/** Where the text came from, for the error of a missing value. */
export interface PlaceholderSource {
  file: string;
  version?: string;
  /** Line of the text's first line in the file (default 1). */
  line?: number;
}

/**
 * `text` with its placeholders replaced by `values`; throws `MISSING_PLACEHOLDER` for the first one without a value.
 *
 * @example
 * ```ts
 * substitutePlaceholders("GRANT SELECT ON t TO ${reader};", "orchwf", { reader: "app_ro" }, { file: "003_x.up.sql" });
 * // "GRANT SELECT ON t TO app_ro;"
 * substitutePlaceholders("SELECT '$${literal}';", "orchwf", {}, { file: "003_x.up.sql" }); // "SELECT '${literal}';"
 * ```
 */
export function substitutePlaceholders(text: string, syntax: PlaceholderSyntax, values: PlaceholderValues, source: PlaceholderSource): string {
  if (syntax === "goose") {
    return inGooseRegions(text, (match, [braced, operator, fallback, bare], offset) => {
      if (match === "$$") return "$";
      const name = (braced ?? bare)!;
      const value = valueOf(values, name, syntax);
      if (value !== undefined && !(operator === ":-" && value === "")) return value;
      if (operator !== undefined) return fallback ?? "";
      const line = (source.line ?? 1) + (text.slice(0, offset).match(/\r\n|\r|\n/g)?.length ?? 0);
      throw missingPlaceholder(match, source.file, line, source.version, syntax);
    });
  }
  const pattern = syntax === "flyway" ? FLYWAY : ORCHWF;
  return text.replace(pattern, (match: string, name: string | undefined, offset: number) => {
    if (name === undefined) return "${"; // the orchwf escape `$${`
    const value = valueOf(values, name, syntax);
    if (value !== undefined) return value;
    const line = (source.line ?? 1) + (text.slice(0, offset).match(/\r\n|\r|\n/g)?.length ?? 0);
    throw missingPlaceholder(match, source.file, line, source.version, syntax);
  });
}

/**
 * The names of the placeholders `text` uses (escapes left out), in order of first use.
 *
 * @example
 * ```ts
 * placeholderNames("${a} ${orchwf:user} $${b}", "orchwf"); // ["a", "orchwf:user"]
 * ```
 */
export function placeholderNames(text: string, syntax: PlaceholderSyntax): string[] {
  const names = new Set<string>();
  if (syntax === "goose") {
    inGooseRegions(text, (match, [braced, , , bare]) => {
      if (match !== "$$") names.add((braced ?? bare)!);
      return match;
    });
    return [...names];
  }
  for (const m of text.matchAll(syntax === "flyway" ? FLYWAY : ORCHWF)) if (m[1] !== undefined) names.add(m[1]);
  return [...names];
}

/**
 * `text` with each placeholder replaced by an identifier of the same length (`${name}` -> `__name_`), for the
 * checks that parse files without values (validate, lint): the syntax stays checkable and every position, line and
 * column stays that of the file.
 *
 * @example
 * ```ts
 * placeholderStandIns("CREATE TABLE ${t} (id int);", "orchwf"); // "CREATE TABLE __t_ (id int);"
 * ```
 */
export function placeholderStandIns(text: string, syntax: PlaceholderSyntax): string {
  if (syntax === "goose") {
    return inGooseRegions(text, (match) => (match === "$$" ? " $" : "_".repeat(match.length)));
  }
  return text.replace(syntax === "flyway" ? FLYWAY : ORCHWF, (match: string, name: string | undefined) => {
    if (name === undefined) return " ${"; // the escape, one character shorter once replaced: a space keeps the length
    return `__${name.replace(/[^A-Za-z0-9_]/g, "_")}_`;
  });
}

/** Flyway matches names as configured, and its environment variables arrive in lower case: both are tried. */
function valueOf(values: PlaceholderValues, name: string, syntax: PlaceholderSyntax): string | undefined {
  if (Object.hasOwn(values, name)) return values[name];
  if (syntax === "goose" && Object.hasOwn(values, `env:${name}`)) return values[`env:${name}`]; // goose reads the environment
  if (syntax === "flyway" && Object.hasOwn(values, name.toLowerCase())) return values[name.toLowerCase()];
  return undefined;
}

function missingPlaceholder(placeholder: string, file: string, line: number, version: string | undefined, syntax: PlaceholderSyntax): MigrationError {
  const name = placeholder.startsWith("${") ? placeholder.slice(2, -1) : placeholder.slice(1);
  const builtIn = /^(orchwf|flyway):/.test(name);
  const how = builtIn
    ? `it is not a built-in placeholder (${syntax === "flyway" ? BUILT_IN_FLYWAY : BUILT_IN_ORCHWF})`
    : `give it a value: --var ${name}=VALUE, or the environment variable ${syntax === "goose" ? `${name} (as goose reads it) or ` : ""}ORCHWF_VAR_${name}${syntax === "flyway" ? ` (or FLYWAY_PLACEHOLDERS_${name.toUpperCase()})` : ""}${syntax === "goose" ? `, or a default: \${${name}:-VALUE}` : ""} (library: the placeholders option)`;
  const escape = syntax === "orchwf" ? `; for a literal \${ write $\${` : "";
  return new MigrationError(
    "MISSING_PLACEHOLDER",
    `${file}:${line}: placeholder ${placeholder} has no value; nothing was applied. To fix it, ${how}${escape}`,
    { file, version },
  );
}

const BUILT_IN_ORCHWF = "${orchwf:schema}, ${orchwf:user}, ${orchwf:database}";
const BUILT_IN_FLYWAY = "${flyway:defaultSchema}, ${flyway:user}, ${flyway:database}, ${flyway:table}, ${flyway:filename}";
