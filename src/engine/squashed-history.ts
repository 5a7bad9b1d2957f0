/**
 * How the Migrator treats a squashed baseline (a migration with `-- orchwf:replaces V …`, written by `squash`) on a
 * database that applied the migrations it replaces:
 * - none of them recorded (a fresh database): the baseline is pending and runs like any migration;
 * - all of them recorded: the database already has that schema; `migrate()` swaps their rows for the baseline's
 *   (under the migration lock, nothing else runs), and `status()`/`plan()` show it applied before that;
 * - some, not all: the database stopped part way through the squashed range; the baseline would clash with what is
 *   there and the missing steps are gone, so `migrate()` refuses (`SQUASHED_PARTIAL`) with what to do.
 * @module
 */
import { MigrationError } from "../core/errors.ts";
import { checksum, type Migration, versionKey } from "../core/migration.ts";
import type { Queryable } from "../drivers/driver.ts";
import type { AppliedRow, History } from "./history.ts";

const key = versionKey;

/** Where a database stands with one squashed baseline. */
export interface SquashedState {
  migration: Migration;
  /** `fresh`: none replaced recorded; `replaced`: all recorded, rows to swap; `adopted`: the baseline's row is there; `partial`: some. */
  state: "fresh" | "replaced" | "adopted" | "partial";
  /** Rows of replaced versions the database has (as stored). */
  present: AppliedRow[];
  /** Replaced versions the database lacks. */
  absent: string[];
}

/**
 * The state of every squashed baseline among `migrations` for these version-table rows.
 *
 * @example
 * ```ts
 * squashedStates(migrations, rows).filter((s) => s.state === "replaced");
 * ```
 */
export function squashedStates(migrations: readonly Migration[], rows: readonly AppliedRow[]): SquashedState[] {
  const byKey = new Map(rows.map((r) => [key(r.version), r]));
  return migrations.filter((m) => m.replaces && m.replaces.length > 0).map((m) => {
    const own = byKey.get(key(m.version));
    const present = m.replaces!.map((v) => byKey.get(key(v))).filter((r): r is AppliedRow => r !== undefined);
    const absent = m.replaces!.filter((v) => !byKey.has(key(v)));
    const state = own && own.checksum === checksum(m.up)
      ? "adopted"
      : present.length === 0
      ? "fresh"
      : absent.length === 0 && present.every((r) => !r.dirty)
      ? "replaced"
      : "partial";
    return { migration: m, state, present, absent };
  });
}

/**
 * The rows as they will be once squashed baselines are adopted: for `status()` and `plan()`, which only read.
 *
 * @example
 * ```ts
 * statusEntries(migrations, foldSquashed(migrations, rows));
 * ```
 */
export function foldSquashed(migrations: readonly Migration[], rows: readonly AppliedRow[]): AppliedRow[] {
  let out = [...rows];
  for (const s of squashedStates(migrations, rows)) {
    if (s.state !== "replaced") continue;
    const gone = new Set(s.present.map((r) => r.version));
    const own = s.present.find((r) => key(r.version) === key(s.migration.version)) ?? s.present[s.present.length - 1];
    out = out.filter((r) => !gone.has(r.version));
    out.push({ version: s.migration.version, description: s.migration.description, checksum: checksum(s.migration.up), appliedAt: own.appliedAt, executionMs: null, dirty: false });
  }
  return out;
}

/**
 * True when `migrate()` must adopt (or refuse) a squashed baseline first: cheap to ask, so the lock is taken only then.
 *
 * @example
 * ```ts
 * if (needsAdoption(migrations, await history.read(driver))) { ... }
 * ```
 */
export function needsAdoption(migrations: readonly Migration[], rows: readonly AppliedRow[]): boolean {
  return squashedStates(migrations, rows).some((s) => s.state === "replaced" || s.state === "partial");
}

/**
 * Swaps the rows of fully applied squashed ranges for their baseline's row; refuses a range applied in part.
 * Call inside the transaction that holds the migration lock.
 *
 * @example
 * ```ts
 * const adopted = await adoptSquashed(tx, history, migrations); // ["030"]
 * ```
 */
export async function adoptSquashed(tx: Queryable, history: History, migrations: readonly Migration[]): Promise<string[]> {
  const adopted: string[] = [];
  for (const s of squashedStates(migrations, await history.readExisting(tx))) {
    if (s.state === "partial") throw partial(s, history);
    if (s.state !== "replaced") continue;
    for (const row of s.present) await history.remove(tx, row.version);
    await history.recordBaseline(tx, s.migration);
    adopted.push(s.migration.version);
  }
  return adopted;
}

function partial(s: SquashedState, history: History): MigrationError {
  const m = s.migration;
  const list = (vs: string[]) => (vs.length > 6 ? `${vs.slice(0, 3).join(", ")}, …, ${vs.slice(-2).join(", ")}` : vs.join(", "));
  const dirty = s.present.filter((r) => r.dirty).map((r) => r.version);
  return new MigrationError(
    "SQUASHED_PARTIAL",
    `migration ${m.version} (${m.source?.up ?? m.description}) squashes ${m.replaces!.length} versions, but ${history.qualified} records only part of them: ${
      list(s.present.map((r) => r.version))
    }${dirty.length ? ` (failed: ${dirty.join(", ")})` : ""}; missing ${list(s.absent)}. Its SQL would clash with what is there, and the missing steps are gone from this directory: first bring this database up to ${m.version} with the migrations from before the squash (e.g. check out the commit before it and run orchwf-migrate up --to ${m.version}), then run again.`,
    { version: m.version, file: m.source?.up },
  );
}
