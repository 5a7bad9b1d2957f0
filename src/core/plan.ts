/**
 * Pure planning: (available migrations, version table rows) -> state of each version, what to run.
 * No I/O, so every rule here is tested without a database.
 * @module
 */
import { MigrationError } from "./errors.ts";
import { checksum, compareVersions, type Migration, REPEATABLE_PREFIX, versionKey } from "./migration.ts";

/** One row of the version table. */
export interface AppliedRow {
  version: string;
  description: string | null;
  /** Null for rows written by the Go package, which kept no checksum: accepted as they are. */
  checksum: string | null;
  appliedAt: Date | null;
  executionMs: number | null;
  /**
   * A no-transaction migration is running (`executionMs` null) or failed half way (`executionMs` set):
   * nobody may migrate on top of it until it finishes or a person resolves it.
   */
  dirty: boolean;
}

/** State of one version: in the table and unchanged, not yet run, changed since it ran, run but gone, failed half way. */
export type MigrationState = "applied" | "pending" | "modified" | "missing" | "failed";

/** One line of `status()`. JSON-stable: fields are only ever added. */
export interface StatusEntry {
  version: string;
  description: string;
  state: MigrationState;
  /** ISO 8601, or null when not applied. */
  appliedAt: string | null;
  executionMs: number | null;
}

/** A migration lined up with its version-table row, if any. */
interface Joined<Row extends { version: string } = AppliedRow> {
  version: string;
  migration?: Migration;
  row?: Row;
}

/** A repeatable migration, or a version-table row of one. */
const isRepeatable = (j: { migration?: Migration; version: string }): boolean =>
  j.migration ? j.migration.repeatable === true : j.version.startsWith(REPEATABLE_PREFIX);

/** A repeatable runs (again) when it has no row or its SQL changed since its row was written. */
function repeatableDue(m: Migration, row?: { checksum?: string | null }): boolean {
  return !row || (row.checksum !== undefined && row.checksum !== null && row.checksum !== checksum(m.up));
}

function join<Row extends { version: string }>(available: readonly Migration[], applied: readonly Row[]): Joined<Row>[] {
  const byKey = new Map<string, Joined<Row>>();
  for (const m of available) byKey.set(versionKey(m.version), { version: m.version, migration: m });
  for (const row of applied) {
    const k = versionKey(row.version);
    const j = byKey.get(k);
    if (j) j.row = row;
    else byKey.set(k, { version: row.version, row });
  }
  return [...byKey.values()].sort((a, b) => compareLoose(a.version, b.version));
}

/** Versions from the database may be anything; versions sort numerically, the rest (repeatables) after them. */
const compareLoose = compareVersions;

function stateOf(j: Joined): MigrationState {
  if (!j.row) return "pending";
  if (j.row.dirty) return "failed";
  if (!j.migration) return "missing";
  if (j.migration.repeatable) return repeatableDue(j.migration, j.row) ? "pending" : "applied";
  if (j.row.checksum !== null && j.row.checksum !== checksum(j.migration.up)) return "modified";
  return "applied";
}

/**
 * The state of every version known to the files or the table, in version order.
 *
 * @example
 * ```ts
 * statusEntries(orchwfMigrations, []); // [{ version: "001", state: "pending", ... }]
 * ```
 */
export function statusEntries(available: readonly Migration[], applied: readonly AppliedRow[]): StatusEntry[] {
  return join(available, applied).map((j) => ({
    version: j.version,
    description: j.migration?.description ?? j.row?.description ?? "",
    state: stateOf(j),
    appliedAt: j.row?.appliedAt?.toISOString() ?? null,
    executionMs: j.row?.executionMs ?? null,
  }));
}

/**
 * A `to` version as the user typed it, checked once against the migrations: the matching migration's own version
 * (`--to 1` names `001`), or UNKNOWN_VERSION before anything runs. Undefined stays undefined.
 *
 * @example
 * ```ts
 * resolveTarget(list, "5"); // "005"
 * ```
 */
export function resolveTarget(available: readonly Migration[], to: string | undefined): string | undefined {
  if (to === undefined) return undefined;
  const found = typeof to === "string" ? available.find((m) => versionKey(m.version) === versionKey(to)) : undefined;
  if (!found) throw new MigrationError("UNKNOWN_VERSION", `unknown version ${JSON.stringify(to)}: no migration has that version`, { version: to });
  return found.version;
}

/**
 * Migrations not yet applied, lowest first, up to and including `to` (resolved by `resolveTarget`) when given;
 * then the repeatable ones that are new or changed since they ran (they sort after every version, so `to` a
 * version leaves them out).
 *
 * @example
 * ```ts
 * pendingMigrations(list, rows, "005").map((m) => m.version);
 * ```
 */
export function pendingMigrations(
  available: readonly Migration[],
  applied: readonly { version: string; checksum?: string | null }[], // presence; the checksum for repeatables
  to?: string,
): Migration[] {
  return join(available, applied)
    .filter((j) =>
      j.migration && (j.migration.repeatable ? repeatableDue(j.migration, j.row) : !j.row) &&
      (to === undefined || compareVersions(j.version, to) <= 0)
    )
    .map((j) => j.migration!);
}

/**
 * Applied versions to roll back, highest first: every one with `all` (version 0 included), else all above `to`
 * (`to: "0"` keeps a version 0; without one it means all), else the newest `steps` (default 1).
 * Refuses up front (nothing is run) when one of them has no down script or no file, or (`CHECKSUM_MISMATCH`, unless
 * `allowDrift`) when its up script changed since it was applied: its down script was written for the new text, not
 * for what the database ran.
 *
 * @example
 * ```ts
 * rollbackTargets(list, rows, { steps: 2 }).map((m) => m.version); // ["003", "002"]
 * ```
 */
export function rollbackTargets(
  available: readonly Migration[],
  applied: readonly AppliedRow[],
  options: { steps?: number; to?: string; all?: boolean; allowDrift?: boolean },
): Migration[] {
  if (options.to !== undefined && !options.all && !/^0+$/.test(options.to)) resolveTarget(available, options.to);
  if (options.steps !== undefined && (!Number.isInteger(options.steps) || options.steps < 1)) {
    throw new MigrationError("USAGE", `rollback steps must be a whole number of at least 1, not ${String(options.steps)}`);
  }
  // Repeatables are never rolled back (as in Flyway): their rows stay.
  const done = join(available, applied).filter((j) => j.row && !isRepeatable(j)).reverse();
  const chosen = options.all
    ? done
    : options.to !== undefined
    ? done.filter((j) => compareLoose(j.version, options.to!) > 0)
    : done.slice(0, options.steps ?? 1);
  const targets = chosen.map((j) => {
    if (!j.migration) {
      throw new MigrationError(
        "UNKNOWN_VERSION",
        `version ${j.version} is recorded as applied but no migration has that version, so it cannot be rolled back; restore its files or pass the directory that has them`,
        { version: j.version },
      );
    }
    if (j.migration.down === undefined) {
      const file = j.migration.source?.up?.replace(/\.up\.sql$/, ".down.sql");
      throw new MigrationError(
        "MISSING_DOWN",
        `migration ${j.version} (${j.migration.description}) has no down script${file ? ` (${file} does not exist)` : ""}; nothing was rolled back`,
        { version: j.version, file },
      );
    }
    return j.migration;
  });
  if (!options.allowDrift) refuseDrifted(chosen);
  return targets;
}

/** Refuses to roll back a version whose up script is not the one that was applied (status: `modified`). */
function refuseDrifted(chosen: readonly Joined[]): void {
  const drifted = chosen.filter((j) => j.migration && !j.migration.repeatable && stateOf(j) === "modified");
  if (drifted.length === 0) return;
  const names = drifted.map((j) => `${j.version}${j.migration!.source?.up ? ` (${j.migration!.source.up})` : ""}`);
  const many = drifted.length > 1;
  throw new MigrationError(
    "CHECKSUM_MISMATCH",
    `cannot roll back migration${many ? "s" : ""} ${names.join(", ")}: ${many ? "their up scripts" : "its up script"} changed since ${many ? "they were" : "it was"} applied, ` +
      `so the down script may not undo what the database ran; nothing was rolled back. Restore the applied SQL, or pass --allow-drift to roll back anyway (library: allowDrift)`,
    { version: drifted[0].version, file: drifted[0].migration!.source?.up },
  );
}

