/**
 * What every step needs, transactional or not: the lock's context, the migrations, where progress goes and the
 * session state to restore. Its own file so that step.ts and no-transaction.ts both depend on it, not on each other.
 * @module
 */
import type { Migration } from "../core/migration.ts";
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
  /** How the migrations' statements wait for table locks, and how often a timed-out wait is retried. */
  lockRetry: LockRetryPolicy;
}
