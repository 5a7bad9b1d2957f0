/**
 * What every step needs, transactional or not: the lock's context, the migrations, where progress goes and the
 * session state to restore. Its own file so that step.ts and no-transaction.ts both depend on it, not on each other.
 * @module
 */
import type { Migration, MigrationCheck } from "../core/migration.ts";
import type { Reporter } from "./events.ts";
import type { LockContext } from "./lock.ts";
import type { LockRetryPolicy } from "./lock-retry.ts";
import type { SessionBaseline } from "./session-state.ts";

/** What every step needs: the lock's context, the migrations and where progress goes. */
export interface StepContext extends LockContext {
  migrations: readonly Migration[];
  reporter: Reporter;
  /** The session state every migration starts with (see session-state.ts). */
  baseline: SessionBaseline;
  /**
   * What is sent for a migration when it differs from what is written (placeholders replaced, see
   * core/placeholders.ts); checksums stay those of the text as written.
   */
  resolved?: ReadonlyMap<Migration, ResolvedMigration>;
  /** How the migrations' statements wait for table locks, and how often a timed-out wait is retried. */
  lockRetry: LockRetryPolicy;
}

/** A migration's SQL and checks as they are sent (placeholders replaced). */
export interface ResolvedMigration {
  up: string;
  down?: string;
  checks?: MigrationCheck[];
}

/**
 * The SQL sent for one direction of `m`: its resolved text, else the text as written.
 *
 * @example
 * ```ts
 * const script = scriptOf(ctx, migration, "up");
 * ```
 */
export function scriptOf(ctx: Pick<StepContext, "resolved">, m: Migration, direction: "up" | "down"): string {
  const resolved = ctx.resolved?.get(m);
  return direction === "up" ? resolved?.up ?? m.up : resolved?.down ?? m.down!;
}

/**
 * The pre-migration checks of `m` as they are sent (resolved, else as written).
 *
 * @example
 * ```ts
 * for (const check of checksOf(ctx, migration)) ...
 * ```
 */
export function checksOf(ctx: Pick<StepContext, "resolved">, m: Migration): MigrationCheck[] {
  return ctx.resolved?.get(m)?.checks ?? m.checks ?? [];
}
