/**
 * The dirty row of a no-transaction migration (running elsewhere, or failed part way): refusing to run on top of
 * it, and the DIRTY error that says what happened and how to settle it.
 * @module
 */
import { MigrationError } from "../core/errors.ts";
import { type Migration, sameVersion } from "../core/migration.ts";
import type { AppliedRow } from "../core/plan.ts";
import type { StepContext } from "./step-context.ts";

/**
 * Refuses to run on top of a no-transaction migration that is running or failed part way.
 *
 * @example
 * ```ts
 * refuseDirty(ctx, await history.readExisting(tx));
 * ```
 */
export function refuseDirty(ctx: Pick<StepContext, "migrations" | "history">, rows: readonly AppliedRow[]): void {
  const row = rows.find((r) => r.dirty);
  if (row) throw dirtyError(ctx, row);
}

/**
 * The DIRTY error for `row`: says what happened and the library method that settles it; `version` and `file`
 * carry the data for a CLI to phrase its own command.
 *
 * @example
 * ```ts
 * throw dirtyError(ctx, row);
 * ```
 */
export function dirtyError(ctx: Pick<StepContext, "migrations" | "history">, row: AppliedRow): MigrationError {
  const v = row.version;
  const what = row.executionMs === null
    ? "is being applied or rolled back outside a transaction by another run (or its run died part way)"
    : "failed part way outside a transaction in an earlier run: the statements before the failing one took effect and " +
      "stay, those after it never ran (the failing one itself may have left something, e.g. the invalid index of a " +
      "failed CREATE INDEX CONCURRENTLY)";
  return new MigrationError(
    "DIRTY",
    `migration ${v} (${fileOf(ctx, v)}) ${what}. This run changed nothing: no migration runs on top of it until it is settled. Check the database, finish or undo that migration by hand, then call migrator.resolve("${v}", "applied") if its change is now complete, or migrator.resolve("${v}", "rolled-back") if it is undone (or update ${ctx.history.qualified} yourself: dirty = false, or delete the row)`,
    { version: v, file: migrationOf(ctx, v)?.source?.up },
  );
}

/** The migration with this version, if any. */
export function migrationOf(ctx: Pick<StepContext, "migrations">, version: string): Migration | undefined {
  return ctx.migrations.find((m) => sameVersion(m.version, version));
}

/** The file of a version, for messages. */
export function fileOf(ctx: Pick<StepContext, "migrations">, version: string): string {
  const m = migrationOf(ctx, version);
  return m?.source?.up ?? (m ? `"${m.description}"` : "no migration file has this version");
}
