/**
 * `orchwf-migrate drift`: the live schema against a replay of its applied migrations, plus the checksum report.
 * Returns data and text; main.ts prints one of them and exits with `exit`.
 * @module
 */
import type { PGlite } from "@electric-sql/pglite";
import type { Migration } from "../core/migration.ts";
import { detectDrift, type DriftReport, renderDriftReport } from "../schema/drift.ts";
import { pgliteAssets } from "./pglite-assets.ts";

/** What a command hands back to main.ts: `--json` prints `json`, otherwise `text`; the process exits with `exit`. */
export interface CommandOutput {
  json: unknown;
  text: string;
  exit: number;
}

/** Options of `drift` as parsed from the command line. */
export interface DriftCommandOptions {
  /** Where `--db` points, password masked. */
  label: string;
  table?: string;
  schema?: string;
  /** `--scratch URL`: replay on a throwaway database made on this server instead of PGlite. */
  scratch?: string;
  /** `--ignore PATTERN`, repeatable. */
  ignore: string[];
  /** `--lock-timeout`, for the catalog reads (default 2 s). */
  lockTimeoutMs?: number;
}

/**
 * Runs drift on an open database.
 *
 * @example
 * ```ts
 * const { json, text, exit } = await driftCommand(db.db, migrations, { label: db.label, ignore: [] });
 * ```
 */
export async function driftCommand(db: object, migrations: readonly Migration[], options: DriftCommandOptions): Promise<CommandOutput> {
  const report: DriftReport = await detectDrift(db, migrations, {
    table: options.table,
    schema: options.schema,
    scratchUrl: options.scratch,
    ignore: options.ignore,
    lockTimeoutMs: options.lockTimeoutMs,
    createPGlite: createPGlite,
  });
  return { json: { database: options.label, ...report }, text: renderDriftReport(report, options.label), exit: report.ok ? 0 : 1 };
}

/** A PGlite for replays; the single binary supplies its embedded engine files. */
export async function createPGlite(): Promise<PGlite> {
  const { PGlite } = await import("@electric-sql/pglite");
  return await PGlite.create({ ...(await pgliteAssets()) });
}

/**
 * Every value of a repeatable option (`--ignore a --ignore=b`), as typed.
 *
 * @example
 * ```ts
 * repeatedOption(["drift", "--ignore", "audit.*", "--ignore=x"], "ignore"); // ["audit.*", "x"]
 * ```
 */
export function repeatedOption(argv: readonly string[], name: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--") break;
    if (argv[i] === `--${name}` && i + 1 < argv.length) values.push(argv[++i]);
    else if (argv[i].startsWith(`--${name}=`)) values.push(argv[i].slice(name.length + 3));
  }
  return values;
}
