/**
 * verify: proves every down migration reverses its up. For each version in order: snapshot, up, snapshot,
 * down, snapshot (must equal the first), up again (must equal the second). By default on a fresh in-process PGlite.
 * @module
 */
import type { Database } from "../drivers/detect.ts";
import type { Driver } from "../drivers/driver.ts";
import { MigrationError } from "../core/errors.ts";
import { History } from "../engine/history.ts";
import type { Logger, MigrationEvent } from "../engine/events.ts";
import type { Migration } from "../core/migration.ts";
import { type ChangeWords, countOf, describeChanges, diffSnapshots, type SchemaChange, type SchemaSnapshot, snapshotSchema } from "./snapshot.ts";

/** Options of `verifyMigrations`. */
export interface VerifyOptions {
  /** Version table name (default `orchwf_migrations`). */
  table?: string;
  /** Schema of the version table and the migrations. */
  schema?: string;
  /** Wait for the migration lock at most this long. */
  lockTimeoutMs?: number;
  /** Where the runner's log lines go. */
  logger?: Logger;
  /** Every event of the runs. */
  onEvent?: (event: MigrationEvent) => void;
  /** A scratch database to verify on instead of a fresh in-process PGlite. It must have no tables unless `force`. */
  db?: Database;
  /** Verify on `db` even though it already has tables (it must still have no applied migrations). */
  force?: boolean;
  /** Schemas to compare; default every non-system schema. */
  schemas?: string[];
  /** Called after each version, for progress output. */
  onVersion?: (result: VerifiedMigration) => void;
  /** PGlite extensions to load besides those the migrations create (`CREATE EXTENSION`, detected). */
  extensions?: string[];
}

/** What verify drives: a Migrator, seen through the three members it uses. */
export interface VerifyRunner {
  readonly migrations: readonly Migration[];
  migrate(options: { to: string }): Promise<unknown>;
  rollback(): Promise<unknown>;
}

/** What verify found for one migration. */
export interface VerifiedMigration {
  version: string;
  description: string;
  /** `verified`: down reversed up exactly; `skipped`: no down script; `failed`: see `differences`. */
  status: "verified" | "skipped" | "failed";
  /** What the up script changed in the schema. */
  changes: SchemaChange[];
  /** How the schema after down differs from before up (or, with `stage: "reapply"`, after the second up from after the first). */
  differences: SchemaChange[];
  /** Which comparison failed. */
  stage?: "down" | "reapply";
  /** Why it was skipped. */
  reason?: string;
}

/** What `verifyMigrations` returns (and a `VerifyError` carries). */
export interface VerifyReport {
  /** True when no migration failed. */
  ok: boolean;
  /** Where it ran: "pglite (in memory)", or the driver's name. */
  database: string;
  /** One entry per version, in order, up to the failing one. */
  migrations: VerifiedMigration[];
}

/**
 * A down script did not reverse its up script. `message` names the version and the files and lists each difference;
 * `report` holds the results so far.
 *
 * @example
 * ```ts
 * try { await verifyMigrations(migrations); } catch (e) {
 *   if (e instanceof VerifyError) console.error(renderVerifyReport(e.report));
 * }
 * ```
 */
export class VerifyError extends MigrationError {
  /** Every result up to and including the failing migration. */
  readonly report: VerifyReport;
  /** The differences found. */
  readonly differences: SchemaChange[];

  constructor(message: string, report: VerifyReport, failed: VerifiedMigration, file?: string) {
    super("VERIFY_FAILED", message, { version: failed.version, file });
    this.report = report;
    this.differences = failed.differences;
  }
}

const DOWN_WORDS: ChangeWords = { added: "left behind by down", removed: "removed by down", changed: "changed by down" };
const REAPPLY_WORDS: ChangeWords = {
  added: "only after the second up",
  removed: "missing after the second up",
  changed: "different after the second up",
};

/**
 * The engine behind `verifyMigrations` and `Migrator.verify()`: verifies with `migrator` (a Migrator on `driver`),
 * whose database must be a scratch one. It takes the runner rather than making one, so that the Migrator can call it
 * without an import circle.
 *
 * @example
 * ```ts
 * const report = await verifyOn(toDriver(sql), new Migrator(sql, { migrations }), { force: true });
 * ```
 */
export async function verifyOn(
  driver: Driver,
  migrator: VerifyRunner,
  options: VerifyOptions = {},
  label?: string,
): Promise<VerifyReport> {
  const history = new History(options.schema, options.table ?? "orchwf_migrations");
  await refuseUsedDatabase(driver, history, options.force === true);
  // The version table is the tool's, not the migrations': create it first, then leave it out of every snapshot.
  await driver.transaction((tx) => history.ensure(tx));
  const versionTable = await resolveTable(driver, history);
  const snapshot = (): Promise<SchemaSnapshot> =>
    snapshotSchema(driver, { schemas: options.schemas, excludeTables: [versionTable] });

  const report: VerifyReport = { ok: true, database: label ?? driver.name, migrations: [] };
  for (const m of migrator.migrations) {
    const beforeUp = await snapshot();
    await migrator.migrate({ to: m.version });
    const afterUp = await snapshot();
    const result: VerifiedMigration = {
      version: m.version,
      description: m.description,
      status: "verified",
      changes: diffSnapshots(beforeUp, afterUp),
      differences: [],
    };
    report.migrations.push(result);
    if (m.down === undefined) {
      result.status = "skipped";
      result.reason = "no down script";
      options.onVersion?.(result);
      continue;
    }
    await migrator.rollback();
    result.differences = diffSnapshots(beforeUp, await snapshot());
    if (result.differences.length > 0) throw failure(report, result, m, "down");
    await migrator.migrate({ to: m.version });
    result.differences = diffSnapshots(afterUp, await snapshot());
    if (result.differences.length > 0) throw failure(report, result, m, "reapply");
    options.onVersion?.(result);
  }
  return report;
}

function failure(report: VerifyReport, result: VerifiedMigration, m: Migration, stage: "down" | "reapply"): VerifyError {
  report.ok = false;
  result.status = "failed";
  result.stage = stage;
  const up = m.source?.up ?? `the up script of ${m.version}`;
  const down = m.source?.down ?? `the down script of ${m.version}`;
  const lines = describeChanges(result.differences, stage === "down" ? DOWN_WORDS : REAPPLY_WORDS).map((l) => indent(l, "  "));
  const message = stage === "down"
    ? `migration ${m.version} (${m.description}): ${down} does not reverse ${up}:\n${lines.join("\n")}`
    : `migration ${m.version} (${m.description}): applying ${up} again after ${down} gave a different schema:\n${lines.join("\n")}`;
  return new VerifyError(message, report, result, stage === "down" ? m.source?.down : m.source?.up);
}

/** Verify applies and rolls back everything: refuse a database that is in use, unless forced. */
async function refuseUsedDatabase(driver: Driver, history: History, force: boolean): Promise<void> {
  const applied = await history.read(driver);
  if (applied.length > 0) {
    throw new MigrationError(
      "USAGE",
      `verify needs a database without applied migrations, but ${history.qualified} records ${applied.length} (${
        applied.map((r) => r.version).join(", ")
      }); use a scratch database, or omit it to verify on an in-process PGlite`,
    );
  }
  if (force) return;
  const tables = await driver.query<{ name: string }>(
    `SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
        AND c.oid IS DISTINCT FROM to_regclass($1) ORDER BY 1`,
    [history.qualified],
  );
  if (tables.length > 0) {
    const shown = tables.slice(0, 5).map((t) => t.name).join(", ") + (tables.length > 5 ? ", …" : "");
    throw new MigrationError(
      "USAGE",
      `verify applies and rolls back every migration, so it wants an empty scratch database, but this one has ${tables.length} table${
        tables.length > 1 ? "s" : ""
      } (${shown}); use a scratch database, omit it to verify on an in-process PGlite, or pass force (--force)`,
    );
  }
}

async function resolveTable(driver: Driver, history: History): Promise<string> {
  const [row] = await driver.query<{ name: string }>(
    `SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.oid = to_regclass($1)`,
    [history.qualified],
  );
  return row.name;
}

/** Prefixes every line of a (possibly multi-line) text. */
function indent(text: string, prefix: string): string {
  return prefix + text.replace(/\n/g, `\n${prefix}`);
}

/** Counts of what an up changed, biggest things first, e.g. "3 tables, 40 columns, 18 indexes". */
function summarize(changes: readonly SchemaChange[]): string {
  const counts = new Map<string, number>();
  for (const c of changes) counts.set(c.kind, (counts.get(c.kind) ?? 0) + 1);
  if (counts.size === 0) return "no schema change";
  const rank = (kind: string) => (SUMMARY_ORDER.indexOf(kind) + 1 || SUMMARY_ORDER.length + 1);
  return [...counts].sort((a, b) => rank(a[0]) - rank(b[0])).map(([kind, n]) => countOf(n, kind)).join(", ");
}

const SUMMARY_ORDER = ["schema", "extension", "table", "partitioned table", "column", "constraint", "index", "trigger", "function"];

/**
 * The report as text, one line per migration (`ok`, `skip`, `FAIL` with each difference), ending with a summary line.
 *
 * @example
 * ```ts
 * try {
 *   console.log(renderVerifyReport(await verifyMigrations(migrations)));
 * } catch (e) {
 *   if (e instanceof VerifyError) console.error(renderVerifyReport(e.report));
 *   process.exitCode = 1;
 * }
 * ```
 */
export function renderVerifyReport(report: VerifyReport): string {
  const out = [`verify on ${report.database}:`];
  for (const m of report.migrations) {
    const name = `${m.version} ${m.description}`;
    if (m.status === "verified") out.push(`  ok    ${name}: down reverses up (${summarize(m.changes)})`);
    else if (m.status === "skipped") out.push(`  skip  ${name}: ${m.reason}, cannot be rolled back`);
    else {
      const words = m.stage === "reapply" ? REAPPLY_WORDS : DOWN_WORDS;
      out.push(`  FAIL  ${name}: ${m.stage === "reapply" ? "up applied again gives a different schema" : "down does not reverse up"}`);
      for (const line of describeChanges(m.differences, words)) out.push(indent(line, "          "));
    }
  }
  const verified = report.migrations.filter((m) => m.status === "verified").length;
  const skipped = report.migrations.filter((m) => m.status === "skipped").length;
  out.push(
    report.ok
      ? `${verified} verified${skipped > 0 ? `, ${skipped} skipped (no down script)` : ""}`
      : `verification FAILED at ${report.migrations[report.migrations.length - 1].version}`,
  );
  return out.join("\n");
}
