/**
 * Is the table at the version table's name ours? Checked from the catalog before anything writes to it, so a table
 * that another tool (or a person) made under that name is refused, never ALTERed; and the rows it holds are checked
 * before any decision is made on them (a NULL, non-digit or twice-recorded version would make us report or roll
 * back the wrong thing).
 * @module
 */
import type { Queryable } from "../drivers/driver.ts";
import { MigrationError } from "../core/errors.ts";
import { quoteLiteral } from "../core/sql-text.ts";
import { isVersion, REPEATABLE_PREFIX, versionKey } from "../core/migration.ts";

/** What is at the version table's name. */
export type VersionTableShape =
  /** Nothing: the table is created. */
  | { kind: "absent" }
  /** Ours, with every column we use. */
  | { kind: "ready"; columns: ReadonlySet<string> }
  /** The Go `orchwf/migrate` package's table (or ours from before a column was added): upgraded in place. */
  | { kind: "upgradable"; columns: ReadonlySet<string>; missing: string[] };

/** One column as the catalog describes it. */
interface CatalogColumn {
  name: string;
  /** `format_type()` text, e.g. `character varying(255)`. */
  type: string;
  /** NOT NULL and no default: an INSERT that leaves it out fails. */
  required: boolean;
}

/** The Go package's columns: a table with them (and nothing unknown) is adopted. */
const GO_COLUMNS = ["version", "description", "applied_at"];
/** The columns this tool adds to the Go package's table. */
const OUR_COLUMNS = ["checksum", "execution_ms", "dirty"];

/** The types each known column may have (anything else: not our table). */
const ACCEPTED_TYPES: Record<string, RegExp> = {
  version: /^(character varying|text)\b/,
  description: /^(character varying|text)\b/,
  applied_at: /^timestamp\b/,
  checksum: /^(character varying|text)\b/,
  execution_ms: /^(smallint|integer|bigint|numeric)\b/,
  dirty: /^boolean$/,
};

/**
 * Reads the shape of `qualified` from the catalog (one query) and says whether we may use it; refuses with code
 * `VERSION_TABLE`, changing nothing, when it is not a version table of ours.
 *
 * @example
 * ```ts
 * const shape = await inspectVersionTable(driver, '"orchwf_migrations"');
 * if (shape.kind !== "ready") // create it, or add our columns, under the migration lock
 * ```
 */
export async function inspectVersionTable(q: Queryable, qualified: string): Promise<VersionTableShape> {
  const rows = await q.query<{ relkind: string; name: string | null; type: string | null; required: boolean | null }>(
    `SELECT c.relkind::text AS relkind, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
            (a.attnotnull AND NOT a.atthasdef) AS required
       FROM pg_class c
       LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE c.oid = to_regclass($1)
      ORDER BY a.attnum`,
    [qualified],
  );
  if (rows.length === 0) return { kind: "absent" };
  const columns = rows.filter((r) => r.name !== null).map((r) => ({ name: r.name!, type: r.type!, required: r.required === true }));
  return judgeShape(qualified, rows[0].relkind, columns);
}

/**
 * The pure part of `inspectVersionTable`: ours, the Go package's (upgradable), or refused.
 *
 * @example
 * ```ts
 * judgeShape('"t"', "r", [{ name: "version", type: "bigint", required: true }]); // throws VERSION_TABLE
 * ```
 */
export function judgeShape(qualified: string, relkind: string, columns: readonly CatalogColumn[]): VersionTableShape {
  const names = new Set(columns.map((c) => c.name));
  const refuse = (why: string) => {
    throw new MigrationError("VERSION_TABLE", notOurs(qualified, why, columns));
  };
  if (relkind !== "r" && relkind !== "p") refuse(`it is a ${RELKINDS[relkind] ?? `relation of kind ${relkind}`}, not a table`);
  const wrongType = columns.find((c) => ACCEPTED_TYPES[c.name] !== undefined && !ACCEPTED_TYPES[c.name].test(c.type));
  if (wrongType) refuse(`its column ${wrongType.name} is ${wrongType.type}`);
  const absentGo = GO_COLUMNS.filter((c) => !names.has(c));
  if (absentGo.length > 0) refuse(`it has no ${absentGo.join(", ")} column${absentGo.length > 1 ? "s" : ""}`);
  const unknown = columns.filter((c) => ACCEPTED_TYPES[c.name] === undefined);
  const missing = OUR_COLUMNS.filter((c) => !names.has(c));
  // A column of the user's own on a complete table of ours is tolerated as long as our INSERTs still work; on a
  // table we would have to ALTER, an unknown column means the table is someone else's.
  if (missing.length > 0 && unknown.length > 0) refuse(`it has column${unknown.length > 1 ? "s" : ""} ${unknown.map((c) => c.name).join(", ")}`);
  const blocking = columns.find((c) => c.required && (ACCEPTED_TYPES[c.name] === undefined || c.name === "applied_at"));
  if (blocking) refuse(`its column ${blocking.name} is NOT NULL without a default, so recording a version would fail`);
  return missing.length === 0 ? { kind: "ready", columns: names } : { kind: "upgradable", columns: names, missing };
}

const RELKINDS: Record<string, string> = {
  v: "view",
  m: "materialized view",
  f: "foreign table",
  S: "sequence",
  i: "index",
  c: "composite type",
};

/** The refusal: what was found, whose it looks like, and what to do instead. */
function notOurs(qualified: string, why: string, columns: readonly CatalogColumn[]): string {
  const found = columns.map((c) => `${c.name} ${c.type}`).join(", ");
  const owner = guessTool(new Set(columns.map((c) => c.name)));
  return `${qualified} is not a version table this tool can use: ${why} (found ${found ? `columns ${found}` : "no columns"}` +
    `${owner ? `; this looks like ${owner}'s table` : ""}). Nothing was changed. ` +
    `Keep your versions in a table of our own: use the default table orchwf_migrations or name a new one ` +
    `(--table, or the table option), then record the versions that are already applied with baseline ` +
    `(orchwf-migrate baseline --to VERSION; library: migrator.baseline({ to })); see "Moving from golang-migrate, dbmate or the Go package" in the README`;
}

/** Other tools' version tables, recognised by their columns, to make the message concrete. */
function guessTool(names: ReadonlySet<string>): string | undefined {
  const has = (...c: string[]) => c.every((n) => names.has(n));
  if (names.size === 2 && has("version", "dirty")) return "golang-migrate";
  if (has("version_id", "is_applied")) return "goose";
  if (has("installed_rank", "script", "success")) return "Flyway";
  if (has("version", "installed_on", "success", "checksum")) return "sqlx";
  if (names.size === 2 && has("version", "run_on")) return "diesel";
  if (names.size === 1 && has("version")) return "dbmate's (or Rails')";
  return undefined;
}

/**
 * Refuses (code `VERSION_TABLE`) rows no decision can be made on: a NULL or non-digit version, or one version
 * recorded twice under two spellings (`1` and `001`), which would make status and rollback pick the wrong row.
 *
 * @example
 * ```ts
 * checkVersionRows('"orchwf_migrations"', [{ version: "1" }, { version: "001" }]); // throws VERSION_TABLE
 * ```
 */
export function checkVersionRows(qualified: string, rows: readonly { version: string | null }[]): void {
  const seen = new Map<string, string>();
  for (const { version } of rows) {
    const repeatable = version !== null && version.startsWith(REPEATABLE_PREFIX) && version.length > REPEATABLE_PREFIX.length;
    if (version === null || !(isVersion(version) || repeatable)) {
      const shown = version === null ? "NULL" : JSON.stringify(version);
      const where = version === null ? "version IS NULL" : `version = ${quoteLiteral(version)}`;
      throw new MigrationError(
        "VERSION_TABLE",
        `${qualified} has a row with version ${shown}, which is not a version; stopped before acting on it. ` +
          `Versions are digits, optionally dot-separated (the file name's prefix), or ${REPEATABLE_PREFIX}name for a repeatable migration: correct or delete that row (SELECT * FROM ${qualified} WHERE ${where}), then run again`,
        { version: version ?? undefined },
      );
    }
    const key = versionKey(version);
    const twin = seen.get(key);
    if (twin !== undefined) {
      throw new MigrationError(
        "VERSION_TABLE",
        `${qualified} records version ${key} twice, as ${JSON.stringify(twin)} and ${JSON.stringify(version)} (the same version: ` +
          `leading zeros do not count); stopped before acting on it. Delete the row that is wrong ` +
          `(DELETE FROM ${qualified} WHERE version = ${quoteLiteral(version)}, or the other one), then run again`,
        { version },
      );
    }
    seen.set(key, version);
  }
}
