/**
 * drift: does the live schema match what its applied migrations produce? Reads the live catalog (one READ ONLY
 * transaction, short lock_timeout), replays the versions recorded in its version table into a throwaway database,
 * snapshots both and reports every object that is extra, missing or changed, plus the checksum drift (applied
 * files edited since, recorded versions without a file).
 * @module
 */
import { orchwfMigrations } from "../builtin.ts";
import { MigrationError, SqlError } from "../core/errors.ts";
import { checksum, type Migration, versionKey } from "../core/migration.ts";
import { statusEntries } from "../core/plan.ts";
import { type Database, toDriver } from "../drivers/detect.ts";
import type { Queryable } from "../drivers/driver.ts";
import { type AppliedRow, History } from "../engine/history.ts";
import { TOOL_TABLES } from "../sources/adopt.ts";
import { pgliteVersion, readCachedJson, writeCachedJson } from "./disk-cache.ts";
import { PGLITE_LABEL, replayMigrations, type ReplayOptions } from "./replay.ts";
import { foldSquashed } from "../engine/squashed-history.ts";
import { type ChangeWords, describeChanges, diffSnapshots, type SchemaChange, type SchemaSnapshot, SNAPSHOT_FORMAT, snapshotSchema } from "./snapshot.ts";

/** Options of `detectDrift`. */
export interface DriftOptions extends ReplayOptions {
  /** Schemas to compare; default every non-system schema. */
  schemas?: string[];
  /** Objects to leave out (owned by others): globs on the name, `*` matching anything; `kind:glob` for one kind. */
  ignore?: string[];
  /** lock_timeout of the catalog reads on the live database (default 2000 ms): never queue behind DDL for long. */
  lockTimeoutMs?: number;
  /** statement_timeout of the catalog reads (default 60000 ms). */
  statementTimeoutMs?: number;
}

/** One object that differs between the live database and the replay of its migrations. */
export interface DriftDifference {
  /** `extra`: only in the live database; `missing`: the migrations make it, the database lacks it; `changed`: both, different. */
  drift: "extra" | "missing" | "changed";
  kind: string;
  name: string;
  /** What the migrations produce (missing, changed). */
  expected?: string;
  /** What the live database has (extra, changed). */
  actual?: string;
}

/** What `detectDrift` found. JSON-stable: fields are only ever added. */
export interface DriftReport {
  /** True when nothing differs and no applied migration was edited or lost. */
  ok: boolean;
  /**
   * Other tools' history tables found live (dbmate's `schema_migrations`, goose's `goose_db_version`, ...): their
   * bookkeeping, kept after `baseline --from`, not schema; left out on both sides.
   */
  otherHistoryTables: string[];
  /** The version table, `schema.table` (null when the database has none). */
  table: string | null;
  /** Versions recorded in the version table and replayed (those with a migration file), in order. */
  applied: string[];
  /** Where the migrations were replayed: "pglite (in memory)" or the scratch database. */
  replayedOn: string;
  /** Checksum drift: applied versions whose file changed since (`modified`) or is gone (`missing`, not replayed). */
  checksum: { modified: string[]; missing: string[] };
  /** Schema drift, sorted by kind and name. */
  differences: DriftDifference[];
  /** How many differences `ignore` patterns left out. */
  ignored: number;
  /** Server major versions, live and replay (view text is compared loosely when they differ across 16). */
  serverVersions: { live: number; replay: number };
}

/**
 * Compares the live schema of `db` with what its applied migrations produce. Read-only on `db`: catalog queries in
 * one READ ONLY transaction with a short lock_timeout, on one connection. The versions recorded in its version
 * table are replayed from `migrations` into a fresh PGlite (or a scratch database on `scratchUrl`).
 *
 * @example
 * ```ts
 * import { detectDrift, loadMigrations, renderDriftReport } from "@orchwf/migrate";
 * const report = await detectDrift(sql, await loadMigrations("./migrations"), { ignore: ["audit.*"] });
 * console.log(renderDriftReport(report));
 * if (!report.ok) process.exitCode = 1;
 * ```
 */
export async function detectDrift(
  db: Database,
  migrations: readonly Migration[] = orchwfMigrations,
  options: DriftOptions = {},
): Promise<DriftReport> {
  const live = await readLive(db, options);
  // As the Migrator sees it: a squashed range the database applied in full counts as its baseline.
  const entries = statusEntries(migrations, foldSquashed(migrations, live.rows));
  const applied = migrations.filter((m) => entries.some((e) => e.version === m.version && e.state !== "pending"));
  const { expected, replayVersion, replayedOn } = await expectedSchema(applied, options, live.otherHistoryTables);
  const loose = (live.version < 16) !== (replayVersion < 16);
  const changes = diffSnapshots(loose ? loosen(expected) : expected, loose ? loosen(live.snapshot) : live.snapshot);
  const ignore = (options.ignore ?? []).map(ignoreMatcher);
  const kept = changes.filter((c) => !ignore.some((matches) => matches(c)));
  const modified = entries.filter((e) => e.state === "modified").map((e) => e.version);
  const missing = entries.filter((e) => e.state === "missing").map((e) => e.version);
  const differences = kept.map(toDifference);
  return {
    ok: differences.length === 0 && modified.length === 0 && missing.length === 0,
    table: live.table,
    applied: applied.map((m) => m.version),
    replayedOn,
    checksum: { modified, missing },
    differences,
    ignored: changes.length - kept.length,
    otherHistoryTables: live.otherHistoryTables,
    serverVersions: { live: live.version, replay: replayVersion },
  };
}

/** What the applied migrations produce: the replay's schema, from the on-disk cache when PGlite made it before. */
async function expectedSchema(
  applied: Migration[],
  options: DriftOptions,
  otherHistoryTables: string[],
): Promise<{ expected: SchemaSnapshot; replayVersion: number; replayedOn: string }> {
  const version = options.scratchUrl ? undefined : await pgliteVersion();
  const key = version && [
    "drift-replay",
    SNAPSHOT_FORMAT,
    version,
    options.table ?? null,
    options.schema ?? null,
    options.schemas ?? null,
    otherHistoryTables,
    applied.map((m) => [versionKey(m.version), checksum(m.up), m.transaction !== false]),
    options.placeholders ?? null, // the same files replay differently with other values
  ];
  const cached = key ? await readCachedJson<{ expected: SchemaSnapshot; replayVersion: number }>(key) : undefined;
  if (cached) return { ...cached, replayedOn: PGLITE_LABEL };
  const replay = await replayMigrations(applied, options).catch((err) => {
    if (err instanceof SqlError && !options.scratchUrl) {
      throw new MigrationError(
        "SQL_ERROR",
        `${err.message}\n(while replaying the applied migrations on PGlite to compare with the live schema; if PGlite cannot run this SQL, replay on a server: --scratch postgres://…)`,
        { version: err.version, file: err.file, cause: err },
      );
    }
    throw err;
  });
  try {
    const excludeTables = [replay.versionTable, ...otherHistoryTables];
    const expected = await snapshotSchema(replay.driver, { schemas: options.schemas, excludeTables });
    const replayVersion = await majorVersion(replay.driver);
    if (key) await writeCachedJson(key, { expected, replayVersion });
    return { expected, replayVersion, replayedOn: replay.label };
  } finally {
    await replay.close();
  }
}

interface LiveState {
  rows: AppliedRow[];
  table: string | null;
  otherHistoryTables: string[];
  snapshot: SchemaSnapshot;
  version: number;
}

/** Everything read from the live database, in one READ ONLY transaction that gives up quickly on a lock. */
async function readLive(db: Database, options: DriftOptions): Promise<LiveState> {
  const driver = toDriver(db);
  const history = new History(options.schema, options.table ?? "orchwf_migrations");
  const lockTimeout = Math.max(1, Math.round(options.lockTimeoutMs ?? 2_000));
  const statementTimeout = Math.max(1, Math.round(options.statementTimeoutMs ?? 60_000));
  return await driver.transaction(async (tx) => {
    await tx.exec(
      `SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY;
SET LOCAL lock_timeout = ${lockTimeout};
SET LOCAL statement_timeout = ${statementTimeout}`,
    );
    const [found] = await tx.query<{ name: string | null }>(
      `SELECT (SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.oid = to_regclass($1)) AS name`,
      [history.qualified],
    );
    const table = found?.name ?? null;
    const rows = table === null ? [] : await history.read(tx);
    const names = [...new Set(Object.values(TOOL_TABLES))].map((n) => `'${n}'`).join(", ");
    const others = await tx.query<{ name: string }>(
      `SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND c.relname IN (${names}) AND n.nspname NOT IN ('pg_catalog', 'information_schema')
        ORDER BY 1`,
    );
    const otherHistoryTables = others.map((r) => r.name).filter((name) => name !== table);
    const excludeTables = [...(table === null ? [] : [table]), ...otherHistoryTables];
    const snapshot = await snapshotSchema(tx, { schemas: options.schemas, excludeTables });
    return { rows, table, otherHistoryTables, snapshot, version: await majorVersion(tx) };
  });
}

async function majorVersion(q: Queryable): Promise<number> {
  const [row] = await q.query<{ v: number | string }>("SELECT current_setting('server_version_num')::int / 10000 AS v");
  return Number(row.v);
}

/**
 * PostgreSQL 16 stopped qualifying column names in views over a single relation (`people.id` became `id`);
 * when the live server and the replay straddle that change, such qualifiers are dropped on both sides.
 */
function loosen(snapshot: SchemaSnapshot): SchemaSnapshot {
  return {
    ...snapshot,
    objects: snapshot.objects.map((o) =>
      o.kind === "view" || o.kind === "materialized view" ? { ...o, definition: unqualifySingleRelation(o.definition) } : o
    ),
  };
}

function unqualifySingleRelation(definition: string): string {
  if (/\bJOIN\b/i.test(definition) || (definition.match(/\bFROM\b/gi) ?? []).length !== 1) return definition;
  const from = /\bFROM\s+((?:"[^"]+"|\w+)(?:\.(?:"[^"]+"|\w+))?)(?:\s+(?:AS\s+)?(?!WHERE|GROUP|ORDER|LIMIT|HAVING|WINDOW|OFFSET)(\w+))?\s*(?:$|;|\n|WHERE|GROUP|ORDER|LIMIT|HAVING|WINDOW|OFFSET)/i
    .exec(definition);
  if (!from || from[1].includes(",")) return definition;
  const names = new Set([from[1].split(".").pop()!, from[2]].filter((n): n is string => Boolean(n)));
  let out = definition;
  for (const name of names) {
    const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    out = out.replace(new RegExp(`(?<![\\w."])${escaped}\\.(?=["\\w])`, "g"), "");
  }
  return out;
}

/** `glob` or `kind:glob`; `*` matches anything (dots too), `?` one character. Matches the object or the table it belongs to. */
function ignoreMatcher(pattern: string): (c: SchemaChange) => boolean {
  const colon = /^([a-z ]+):(.+)$/.exec(pattern);
  const kind = colon?.[1];
  const glob = colon ? colon[2] : pattern;
  const re = new RegExp(`^${glob.split("").map((ch) => (ch === "*" ? ".*" : ch === "?" ? "." : ch.replace(/[.+^${}()|[\]\\]/g, "\\$&"))).join("")}$`);
  return (c) => {
    if (kind !== undefined && kind !== c.kind) return false;
    return [c.name, ownerTable(c)].some((name) => name !== undefined && re.test(name));
  };
}

/** The table a column, constraint, trigger, policy or index belongs to. */
function ownerTable(c: SchemaChange): string | undefined {
  if (c.kind === "index") return / ON (?:ONLY )?(\S+) USING /.exec(c.after ?? c.before ?? "")?.[1];
  if (["column", "constraint", "trigger", "policy"].includes(c.kind)) return c.name.slice(0, c.name.lastIndexOf("."));
  return undefined;
}

function toDifference(c: SchemaChange): DriftDifference {
  const drift = c.change === "added" ? "extra" : c.change === "removed" ? "missing" : "changed";
  const d: DriftDifference = { drift, kind: c.kind, name: c.name };
  if (c.before !== undefined) d.expected = c.before;
  if (c.after !== undefined) d.actual = c.after;
  return d;
}

const DRIFT_WORDS: ChangeWords = {
  added: "extra in the database",
  removed: "missing from the database",
  changed: "changed in the database",
  was: "migrations",
  now: "database",
};

/** Says which major versions were compared, when they differ, and that what differs between them by design is set aside. */
function versionsNote(v: { live: number; replay: number } | undefined): string {
  if (!v || v.live === v.replay) return "";
  return `, PostgreSQL ${v.replay}, against PostgreSQL ${v.live}: what differs between the versions by design is set aside (identity shown on partitions, names of cloned constraints${
    (v.live < 16) !== (v.replay < 16) ? ", table names qualifying columns in views" : ""
  })`;
}

/**
 * The report as text: one line per checksum problem and per difference, then a summary line.
 *
 * @example
 * ```ts
 * console.log(renderDriftReport(await detectDrift(sql, migrations)));
 * ```
 */
export function renderDriftReport(report: DriftReport, database = "the database"): string {
  const out = [
    `drift of ${database} against its ${report.applied.length} applied migration${report.applied.length === 1 ? "" : "s"} (replayed on ${report.replayedOn}${versionsNote(report.serverVersions)}; version table ${
      report.table ?? "not found"
    }):`,
  ];
  for (const v of report.checksum.modified) out.push(`  modified: ${v} was applied from a file that has changed since (checksum)`);
  for (const v of report.checksum.missing) out.push(`  missing file: ${v} is recorded as applied but no migration has that version (not replayed)`);
  const changes: SchemaChange[] = report.differences.map((d) => ({
    change: d.drift === "extra" ? "added" : d.drift === "missing" ? "removed" : "changed",
    kind: d.kind,
    name: d.name,
    before: d.expected,
    after: d.actual,
  }));
  for (const line of describeChanges(changes, DRIFT_WORDS)) out.push(`  ${line.replace(/\n/g, "\n  ")}`);
  for (const t of report.otherHistoryTables) out.push(`  not compared: ${t}, another tool's history table (bookkeeping, not schema)`);
  const ignored = report.ignored > 0 ? ` (${report.ignored} ignored)` : "";
  if (report.ok) out.push(`no drift: the schema is what the applied migrations make${ignored}`);
  else {
    const n = report.differences.length + report.checksum.modified.length + report.checksum.missing.length;
    out.push(`DRIFT: ${n} difference${n === 1 ? "" : "s"}${ignored}`);
  }
  return out.join("\n");
}
