/**
 * The Migrator's options and result objects (re-exported by migrator.ts and mod.ts).
 * @module
 */
import type { RunOptions } from "../core/deadline.ts";
import type { Migration } from "../core/migration.ts";
import type { StatusEntry } from "../core/plan.ts";
import type { Logger, MigrationEvent, MigrationRun } from "./events.ts";

/** Options of `new Migrator(db, options)`. */
export interface MigratorOptions {
  /** Migrations to manage; default the built-in OrchWF schema (`orchwfMigrations`). */
  migrations?: readonly Migration[];
  /** Version table name; default `orchwf_migrations`. */
  table?: string;
  /** Schema of the version table and of the migrations (it becomes their search_path); default: the search_path. */
  schema?: string;
  /** How long to wait for the migration lock (another run applying); default 60 s. */
  lockTimeoutMs?: number;
  /**
   * How long a migration's statement may wait for a table lock (Postgres `lock_timeout`, set for each migration;
   * a migration's own `SET lock_timeout` wins for what follows it); default 2 s. While DDL waits, every new query on
   * its table waits behind it: keep it short. 0: no separate limit (statements wait as long as `lockTimeoutMs`).
   */
  ddlLockTimeoutMs?: number;
  /**
   * After a statement's lock wait timed out (SQLSTATE 55P03), roll the migration's transaction back and try again
   * this many more times, with exponential backoff and jitter (never past `timeoutMs`); default 10. A
   * no-transaction migration retries the statement that timed out. Each retry is a `retry` event.
   */
  lockRetries?: number;
  /** Receives one line per migration and warnings. */
  logger?: Logger;
  /** Receives structured progress events. */
  onEvent?: (event: MigrationEvent) => void;
  /**
   * Values of `${name}` placeholders, for migrations that use them (a file with `-- orchwf:placeholders`, Flyway
   * files, or `placeholders: "orchwf"` on a Migration). Checksums stay those of the text as written.
   */
  placeholders?: Readonly<Record<string, string>>;
}

/** Short lock waits, retried: per call, these win over the Migrator's options of the same names. */
export interface LockRetryOptions {
  /** See `MigratorOptions.ddlLockTimeoutMs`. */
  ddlLockTimeoutMs?: number;
  /** See `MigratorOptions.lockRetries`. */
  lockRetries?: number;
}

/** Options of `migrate()`. */
export interface MigrateOptions extends RunOptions, LockRetryOptions {
  /** Apply up to and including this version only. */
  to?: string;
  /** Apply even though applied migrations were modified since (their new text is not re-run). */
  allowDrift?: boolean;
}

/** Options of `rollback()`. */
export interface RollbackOptions extends RunOptions, LockRetryOptions {
  /** How many applied migrations to roll back, newest first; default 1. */
  steps?: number;
  /**
   * Roll back every applied migration above this version; wins over `steps`. `"0"` rolls back all of them when no
   * migration has version 0; a version 0 (diesel's `00000000000000_…`, `0_initial`) is a version like any other
   * and stays: use `all` to roll it back too.
   */
  to?: string;
  /** Roll back every applied migration, version 0 included (the CLI's `down --all`); wins over `to` and `steps`. */
  all?: boolean;
  /**
   * Roll back even a migration whose up script changed since it was applied (status `modified`); without it such a
   * rollback is refused with `CHECKSUM_MISMATCH` and nothing runs.
   */
  allowDrift?: boolean;
}

/** Options of `redo()`. */
export interface RedoOptions extends RunOptions, LockRetryOptions {
  /** Redo even a migration whose up script changed since it was applied (see `RollbackOptions.allowDrift`). */
  allowDrift?: boolean;
}

/** What `redo()` did. */
export interface RedoResult {
  /** The migration rolled back (empty when none was applied). */
  rolledBack: MigrationRun[];
  /** The same migration applied again (and nothing else). */
  applied: MigrationRun[];
}

/** What `migrate()` did. */
export interface MigrateResult {
  /** Migrations applied by this call, in order (empty when the database was up to date). */
  applied: MigrationRun[];
}

/** What `rollback()` did. */
export interface RollbackResult {
  /** Migrations rolled back by this call, in order. */
  rolledBack: MigrationRun[];
}

/** Options of `baseline()`. */
export interface BaselineOptions extends RunOptions {
  /** Record every migration up to and including this version as applied. */
  to?: string;
  /** Instead of `to`: record exactly these versions (and repeatables, by `R__name`) as applied (see `adoptHistory`). */
  versions?: readonly string[];
}

/** What `baseline()` did. */
export interface BaselineResult {
  /** Versions recorded as applied by this call (not run), in order; already recorded ones are not listed. */
  baselined: { version: string; description: string }[];
}

/** What `status()` returns; the CLI's `status --json` prints exactly this. */
export interface StatusReport {
  /** The version table, as it is addressed in SQL. */
  table: string;
  /** Every version known to the files or the table, in order. */
  migrations: StatusEntry[];
  /** Highest applied version (`applied`, `modified` or `missing`; never a `failed` one), or null. */
  current: string | null;
  /** Number of pending migrations. */
  pending: number;
}

/** What `migrate()` would do now. */
export interface MigrationPlan {
  /** Migrations `migrate()` would apply, in order. */
  pending: { version: string; description: string; transaction: boolean }[];
  /** Applied versions whose up SQL changed since (they block `migrate()`). */
  modified: string[];
  /** Applied versions with no migration any more. */
  missing: string[];
}
