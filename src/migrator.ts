/**
 * The Migrator: plan + driver + lock + history. Returns result objects and emits events; prints nothing.
 * @module
 */
import { orchwfMigrations } from "./builtin.ts";
import { Deadline, type RunOptions } from "./core/deadline.ts";
import { type Database, toDriver } from "./drivers/detect.ts";
import type { Driver, Queryable } from "./drivers/driver.ts";
import { ConnectionError, locate, MigrationError, SqlError, type SqlErrorLocation } from "./core/errors.ts";
import { type AppliedRow, History } from "./engine/history.ts";
import { checksum, type Migration, REPEATABLE_PREFIX, validateMigrations, versionKey, withoutTransactionWrapper } from "./core/migration.ts";
import { pendingMigrations, rollbackTargets, type StatusEntry, statusEntries } from "./core/plan.ts";
import { splitStatements, splitStatementsIfLoaded } from "./core/split.ts";
import { checkPending } from "./sources/check.ts";
import { quoteIdent } from "./core/sql-text.ts";
import { type VerifyOptions, type VerifyReport, verifyOn } from "./schema/verify.ts";
import { adoptSquashed, foldSquashed, needsAdoption } from "./schema/squashed-history.ts";

/** Where progress goes; `console` fits. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

/** Progress of a run, for a CLI or a log. */
export type MigrationEvent =
  | { type: "start"; direction: "up" | "down"; version: string; description: string }
  | { type: "done"; direction: "up" | "down"; version: string; description: string; durationMs: number }
  | { type: "warning"; message: string };

/** Options of `new Migrator(db, options)`. */
export interface MigratorOptions {
  /** Migrations to manage; default the built-in OrchWF schema (`orchwfMigrations`). */
  migrations?: readonly Migration[];
  /** Version table name; default `orchwf_migrations`. */
  table?: string;
  /** Schema of the version table and of the migrations (it becomes their search_path); default: the search_path. */
  schema?: string;
  /** How long to wait for the migration lock and for table locks (Postgres `lock_timeout`); default 60 s. */
  lockTimeoutMs?: number;
  /** Receives one line per migration and warnings. */
  logger?: Logger;
  /** Receives structured progress events. */
  onEvent?: (event: MigrationEvent) => void;
}

/** Options of `migrate()`. */
export interface MigrateOptions extends RunOptions {
  /** Apply up to and including this version only. */
  to?: string;
  /** Apply even though applied migrations were modified since (their new text is not re-run). */
  allowDrift?: boolean;
}

/** Options of `rollback()`. */
export interface RollbackOptions extends RunOptions {
  /** How many applied migrations to roll back, newest first; default 1. */
  steps?: number;
  /** Roll back every applied migration above this version ("0" for all); wins over `steps`. */
  to?: string;
}

/** One migration that ran. */
export interface MigrationRun {
  version: string;
  description: string;
  durationMs: number;
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
  /** Highest applied version, or null. */
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

/** Between migrate() steps: since when this run waits for another run's no-transaction migration. */
interface WaitState {
  since?: number;
}

/** How often a run waiting for another run's no-transaction migration looks again. */
const WAIT_POLL_MS = 200;

/**
 * Makes the server notice a client that died (SIGKILL, lost network) within a second even in the middle of a
 * long statement, so it rolls back and releases the migration lock instead of finishing first (PostgreSQL 14+;
 * ignored where unsupported).
 */
const NOTICE_DEAD_CLIENT =
  "DO $orchwf$ BEGIN PERFORM set_config('client_connection_check_interval', '1000', true); EXCEPTION WHEN OTHERS THEN NULL; END $orchwf$";

/** A table or schema name PostgreSQL keeps as it is (quoted everywhere; longer names would be cut silently). */
function checkName(what: "table" | "schema", name: string): string {
  const bytes = typeof name === "string" ? new TextEncoder().encode(name).length : 0;
  if (typeof name !== "string" || bytes === 0 || bytes > 63 || name.includes("\0")) {
    throw new MigrationError(
      "USAGE",
      `invalid ${what} name ${JSON.stringify(name)}: it must be 1 to 63 bytes without NUL characters (any other character is fine: names are quoted)`,
    );
  }
  return name;
}

/** "001" and "1" are the same version (and a repeatable's `R__name` is itself). */
function sameVersion(a: string, b: string): boolean {
  return typeof a === "string" && typeof b === "string" && versionKey(a) === versionKey(b);
}

/** SQLSTATEs of "could not talk to the server at all", and driver codes of the same. */
const CONNECTION_CODES = /^(08|28|3D000|57P0[1-3]|E[A-Z]+|CONNECT_TIMEOUT|CONNECTION_)/;

/**
 * Applies, rolls back and reports migrations on one database. Every migration runs in its own transaction,
 * which takes a transaction-scoped advisory lock, re-reads the version table, applies the lowest pending
 * version and records it: many processes starting at once apply each migration exactly once, in order,
 * also behind PgBouncer in transaction pooling mode.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import { Migrator, orchwfMigrations } from "@orchwf/migrate";
 * const sql = postgres(process.env.DATABASE_URL!);
 * const migrator = new Migrator(sql, { migrations: [...orchwfMigrations, myMigration] });
 * const { applied } = await migrator.migrate();
 * console.log(await migrator.status());
 * await sql.end();
 * ```
 */
export class Migrator {
  /** The migrations this Migrator manages, sorted by version. */
  readonly migrations: readonly Migration[];
  private readonly driver: Driver;
  private readonly history: History;
  private readonly lockTimeoutMs: number;
  private readonly schema?: string;
  private readonly logger?: Logger;
  private readonly onEvent?: (event: MigrationEvent) => void;

  constructor(db: Database, options: MigratorOptions = {}) {
    this.driver = toDriver(db);
    this.migrations = validateMigrations(options.migrations ?? orchwfMigrations);
    this.schema = options.schema === undefined ? undefined : checkName("schema", options.schema);
    this.history = new History(this.schema, checkName("table", options.table ?? "orchwf_migrations"));
    const lockTimeoutMs = options.lockTimeoutMs ?? 60_000;
    if (typeof lockTimeoutMs !== "number" || !(lockTimeoutMs > 0) || !Number.isFinite(lockTimeoutMs)) {
      throw new MigrationError("USAGE", `lockTimeoutMs must be a positive number of milliseconds, not ${String(lockTimeoutMs)}`);
    }
    this.lockTimeoutMs = lockTimeoutMs;
    this.logger = options.logger;
    this.onEvent = options.onEvent;
  }

  /**
   * Applies pending migrations in version order, each in its own transaction with its version-table row.
   * Refuses (code `CHECKSUM_MISMATCH`) while an applied migration's SQL was modified, unless `allowDrift`.
   *
   * @example
   * ```ts
   * const { applied } = await migrator.migrate({ to: "003", timeoutMs: 30_000 });
   * ```
   */
  async migrate(options: MigrateOptions = {}): Promise<MigrateResult> {
    const deadline = new Deadline(options);
    try {
      if (options.to !== undefined) pendingMigrations(this.migrations, [], options.to); // a bad `to` touches nothing
      const applied: MigrationRun[] = [];
      await this.prepare(deadline);
      await this.adoptSquashed(deadline); // squash hook: see schema/squashed-history.ts
      const plan = await this.plan({ to: options.to });
      if (plan.modified.length > 0 && !options.allowDrift) throw this.driftError(plan.modified);
      // parser: every pending migration is parsed and checked before the first one runs (src/sources/check.ts)
      const pendingVersions = new Set(plan.pending.map((p) => p.version));
      await checkPending(this.migrations.filter((m) => pendingVersions.has(m.version)), "up");
      for (const version of plan.missing) {
        this.warn(`version ${version} is recorded as applied in ${this.history.qualified} but has no migration file`);
      }
      const waiting: WaitState = {};
      for (;;) {
        deadline.check();
        const step = await this.applyNext(options.to, deadline, waiting);
        if (step === undefined) break;
        if (step !== "again") applied.push(step);
      }
      return { applied };
    } finally {
      deadline.dispose();
    }
  }

  /**
   * Rolls back applied migrations, newest first, each in its own transaction.
   * Checks first that every one of them can be rolled back, so it never stops half way for want of a down.
   *
   * @example
   * ```ts
   * await migrator.rollback();               // the newest one
   * await migrator.rollback({ steps: 3 });
   * await migrator.rollback({ to: "0" });    // all of them
   * ```
   */
  async rollback(options: RollbackOptions = {}): Promise<RollbackResult> {
    const deadline = new Deadline(options);
    try {
      rollbackTargets(this.migrations, [], options); // a bad `to` touches nothing
      await this.prepare(deadline);
      const rows = await this.history.readExisting(this.driver);
      this.refuseDirty(rows);
      const targets = rollbackTargets(this.migrations, rows, options);
      await checkPending(targets, "down"); // parser: every down script is checked before the first one runs
      const rolledBack: MigrationRun[] = [];
      for (const target of targets) {
        deadline.check();
        const run = await this.revert(target, deadline);
        if (run) rolledBack.push(run);
      }
      return { rolledBack };
    } finally {
      deadline.dispose();
    }
  }

  /**
   * Settles a version left `failed` (dirty) by a no-transaction migration that stopped part way, after a person
   * repaired the database: `"applied"` when its change is now complete (the row stays, clean), `"rolled-back"`
   * when it was undone (the row goes, so `migrate()` runs it again).
   *
   * @example
   * ```ts
   * // DIRTY: migration 005 failed part way ... -> finish or undo it by hand, then:
   * await migrator.resolve("005", "rolled-back");
   * await migrator.migrate();
   * ```
   */
  async resolve(version: string, outcome: "applied" | "rolled-back", options: RunOptions = {}): Promise<void> {
    if (outcome !== "applied" && outcome !== "rolled-back") {
      throw new MigrationError("USAGE", `resolve(${JSON.stringify(version)}, ${JSON.stringify(outcome)}): the outcome must be "applied" or "rolled-back"`);
    }
    const deadline = new Deadline(options);
    try {
      await this.prepare(deadline);
      await this.locked(deadline, async (tx) => {
        const rows = await this.history.readExisting(tx);
        const row = rows.find((r) => sameVersion(r.version, version));
        if (!row) {
          throw new MigrationError("UNKNOWN_VERSION", `version ${JSON.stringify(version)} is not recorded in ${this.history.qualified}; nothing to resolve`, {
            version,
          });
        }
        if (!row.dirty) {
          throw new MigrationError("USAGE", `migration ${row.version} is not marked failed in ${this.history.qualified}; nothing to resolve`, {
            version: row.version,
          });
        }
        if (outcome === "rolled-back") await this.history.remove(tx, row.version);
        else await this.history.resolveApplied(tx, row.version, this.migrations.find((m) => sameVersion(m.version, version)));
      });
      this.logger?.info(`resolved ${version} as ${outcome}`);
    } finally {
      deadline.dispose();
    }
  }

  /**
   * The state of every migration. Read-only: it never creates the version table.
   *
   * @example
   * ```ts
   * const { migrations, pending } = await migrator.status();
   * ```
   */
  async status(): Promise<StatusReport> {
    const rows = foldSquashed(this.migrations, await this.connected(() => this.history.read(this.driver)));
    const migrations = statusEntries(this.migrations, rows);
    // The current version is the highest versioned one (repeatables have no place in the order).
    const done = migrations.filter((m) => m.state !== "pending" && !m.version.startsWith(REPEATABLE_PREFIX));
    return {
      table: this.history.qualified,
      migrations,
      current: done.length > 0 ? done[done.length - 1].version : null,
      pending: migrations.filter((m) => m.state === "pending").length,
    };
  }

  /**
   * Adopts an existing database whose schema another tool (or a person) already made: records every migration
   * up to and including `to` as applied, with its checksum, without running it, under the migration lock.
   * Versions already recorded stay as they are; `migrate()` then runs only what comes after.
   *
   * @example
   * ```ts
   * // The tables of 001..003 exist already (made by golang-migrate or dbmate):
   * const migrator = new Migrator(sql, { migrations: await loadMigrations("./db/migrations") });
   * await migrator.baseline({ to: "003" }); // { baselined: [{ version: "001", ... }, ...] }
   * await migrator.migrate();               // 004 onwards
   * ```
   */
  async baseline(options: BaselineOptions): Promise<BaselineResult> {
    const versions = options?.versions;
    if (typeof options?.to !== "string" && !Array.isArray(versions)) {
      throw new MigrationError("USAGE", "baseline({ to }): `to` is required, the last version the database already has");
    }
    const deadline = new Deadline(options);
    // An unknown `to` (or version) is refused before anything is written.
    const chosen = versions === undefined ? undefined : versions.map((v) => {
      const m = this.migrationOf(v);
      if (!m) throw new MigrationError("UNKNOWN_VERSION", `unknown version ${JSON.stringify(v)}: no migration has that version`, { version: v });
      return m;
    });
    if (chosen === undefined) pendingMigrations(this.migrations, [], options.to);
    let marked: Migration[];
    try {
      await this.prepare(deadline);
      // Under the migration lock every run takes, so a concurrent run never records or applies a version twice.
      marked = await this.locked(deadline, async (tx) => {
        const rows = await this.history.readExisting(tx);
        const pending = chosen === undefined
          ? pendingMigrations(this.migrations, rows, options.to)
          : chosen.filter((m) => !rows.some((r) => sameVersion(r.version, m.version) && (!m.repeatable || r.checksum === checksum(m.up))));
        for (const m of pending) await this.history.recordBaseline(tx, m);
        return pending;
      });
    } finally {
      deadline.dispose();
    }
    for (const m of marked) this.logger?.info(`baselined ${m.version} ${m.description} (recorded as applied, not run)`);
    return { baselined: marked.map((m) => ({ version: m.version, description: m.description })) };
  }

  /**
   * What `migrate()` would do now, without doing it (the CLI's `up --dry-run`).
   *
   * @example
   * ```ts
   * const { pending } = await migrator.plan();
   * ```
   */
  async plan(options: { to?: string } = {}): Promise<MigrationPlan> {
    const rows = foldSquashed(this.migrations, await this.connected(() => this.history.read(this.driver)));
    const entries = statusEntries(this.migrations, rows);
    return {
      pending: pendingMigrations(this.migrations, rows, options.to).map((m) => ({
        version: m.version,
        description: m.description,
        transaction: m.transaction !== false,
      })),
      modified: entries.filter((e) => e.state === "modified").map((e) => e.version),
      missing: entries.filter((e) => e.state === "missing").map((e) => e.version),
    };
  }

  /**
   * Proves every down reverses its up on this Migrator's database, which must be a scratch one: for each version,
   * snapshot, up, snapshot, down, compare, up again (see `verifyMigrations`, which does it on a fresh PGlite).
   * Throws `VerifyError` (code `VERIFY_FAILED`) naming the version, the down file and each difference.
   *
   * @example
   * ```ts
   * const report = await new Migrator(scratchSql, { migrations }).verify();
   * ```
   */
  verify(options: Pick<VerifyOptions, "force" | "schemas" | "onVersion"> = {}): Promise<VerifyReport> {
    return verifyOn(this.driver, this.migrations, {
      ...options,
      table: this.history.table,
      schema: this.schema,
      lockTimeoutMs: this.lockTimeoutMs,
      logger: this.logger,
      onEvent: this.onEvent,
    });
  }

  /**
   * Squash hook: a database that applied every version a squashed baseline replaces gets the baseline's row instead
   * of theirs (under the lock); one that applied only part of them is refused. Free when nothing is squashed.
   */
  private async adoptSquashed(deadline: Deadline): Promise<void> {
    if (!this.migrations.some((m) => m.replaces)) return;
    if (!needsAdoption(this.migrations, await this.history.read(this.driver))) return;
    const adopted = await this.locked(deadline, (tx) => adoptSquashed(tx, this.history, this.migrations));
    for (const v of adopted) this.logger?.info(`recorded the squashed migration ${v} as applied in place of the versions it replaces`);
  }

  /** Makes sure the version table exists with our columns; the first connection errors surface here. */
  private async prepare(deadline: Deadline): Promise<void> {
    deadline.check();
    if (await this.connected(() => deadline.race(this.history.isReady(this.driver)))) return;
    await this.locked(deadline, (tx) => this.history.ensure(tx));
  }

  /**
   * Runs `fn` in a transaction that holds the migration lock. READ COMMITTED, so that the history read after the
   * lock sees what the previous holder committed; limits are SET LOCAL, so they never leak into a pooled
   * connection (PgBouncer). When the run must stop, a server statement is cancelled and the transaction rolls back
   * before this returns.
   */
  private async locked<T>(deadline: Deadline, fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const cancels: Promise<unknown>[] = [];
    try {
      return await this.driver.transaction(async (tx) => {
        const remaining = deadline.remainingMs();
        const settings = [
          "SET TRANSACTION ISOLATION LEVEL READ COMMITTED",
          `SET LOCAL lock_timeout = ${Math.max(1, Math.round(this.lockTimeoutMs))}`,
        ];
        if (remaining !== undefined) settings.push(`SET LOCAL statement_timeout = ${remaining}`);
        if (this.schema !== undefined) settings.push(`SET LOCAL search_path TO ${quoteIdent(this.schema)}`);
        if (!this.driver.embedded) settings.push(NOTICE_DEAD_CLIENT);
        await deadline.race(tx.exec(settings.join(";\n")));
        const { stopCancelling, locked } = await this.cancelOnStop(tx, deadline, cancels);
        try {
          try {
            if (!locked) await deadline.race(tx.query("SELECT pg_advisory_xact_lock($1::bigint)", [this.history.lockKey]));
          } catch (err) {
            throw this.lockError(err, deadline);
          }
          return await fn(tx);
        } finally {
          stopCancelling();
        }
      });
    } finally {
      // Not inside the transaction: with a one-connection pool the cancel needs the connection it frees.
      await Promise.all(cancels);
    }
  }

  /**
   * On a server, cancels this transaction's running statement when the run must stop (signal or timeout). The
   * cancel names the backend *and* its transaction start, so arriving late it cannot hit the next user of that
   * pooled connection.
   */
  private async cancelOnStop(
    tx: Queryable,
    deadline: Deadline,
    cancels: Promise<unknown>[],
  ): Promise<{ stopCancelling: () => void; locked: boolean }> {
    if (this.driver.embedded) return { stopCancelling: () => {}, locked: false }; // PGlite: one statement at a time, nothing to cancel
    // The same round trip tries the migration lock: uncontended (the usual case), the blocking wait is skipped.
    const [{ pid, started, locked }] = await deadline.race(
      tx.query<{ pid: number; started: string; locked: boolean }>(
        "SELECT pg_backend_pid() AS pid, (extract(epoch FROM now()) * 1000000)::bigint::text AS started, pg_try_advisory_xact_lock($1::bigint) AS locked",
        [this.history.lockKey],
      ),
    );
    const stopCancelling = deadline.onStop(() => {
      cancels.push(
        this.driver.query(
          "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE pid = $1 AND (extract(epoch FROM xact_start) * 1000000)::bigint = $2::bigint",
          [pid, started],
        ).catch(() => {}),
      );
    });
    return { stopCancelling, locked: locked === true };
  }

  /** One locked transaction: re-read the table, apply the lowest pending version, record it. */
  private async applyNext(
    to: string | undefined,
    deadline: Deadline,
    waiting: WaitState,
  ): Promise<MigrationRun | "again" | undefined> {
    const outcome = await this.locked(deadline, async (tx) => {
      let rows: { version: string; dirty: boolean }[] = await this.history.readVersions(tx); // fresh, only what the plan needs
      if (rows.some((r) => r.dirty)) { // rare: read the whole rows, again, for the wait's details
        const full = await this.history.readExisting(tx);
        const busy = full.find((r) => r.dirty);
        if (busy) return { busy };
        rows = full;
      }
      const pending = pendingMigrations(this.migrations, rows, to);
      const next = pending[0];
      if (!next) return {};
      if (next.transaction === false) {
        await this.history.claim(tx, next); // committed now: others wait for this row, on any connection
        return { next, claimed: true };
      }
      // Only the run's last commit waits for the WAL flush; it flushes the earlier ones too (see README, Benchmarks).
      const flush = pending.length > 1 ? ";\nSET LOCAL synchronous_commit = off" : "";
      const durationMs = await this.run(tx, next, "up", deadline, this.history.recordStatement(next) + flush);
      return { next, durationMs };
    });
    if (outcome.busy) {
      await this.waitForRunning(outcome.busy, deadline, waiting);
      return "again";
    }
    waiting.since = undefined;
    if (!outcome.next) return undefined;
    if (outcome.claimed) return this.applyWithoutTransaction(outcome.next, deadline);
    return this.done("up", outcome.next, outcome.durationMs!);
  }

  /**
   * Another run is applying a no-transaction migration (a dirty row without an execution time): wait for it,
   * polling, at most `lockTimeoutMs`. A row that failed part way (it has an execution time) is refused at once.
   */
  private async waitForRunning(row: AppliedRow, deadline: Deadline, waiting: WaitState): Promise<void> {
    if (row.executionMs !== null) throw this.dirtyError(row);
    waiting.since ??= Date.now();
    if (Date.now() - waiting.since >= this.lockTimeoutMs) {
      const since = row.appliedAt ? ` since ${row.appliedAt.toISOString()}` : "";
      throw new MigrationError(
        "DIRTY",
        `migration ${row.version} has been running outside a transaction${since} and did not finish within ${this.lockTimeoutMs} ms (lockTimeoutMs). If no other run is applying it, its run died part way: check the database, finish or undo ${this.fileOf(row.version)} by hand, then call migrator.resolve("${row.version}", "applied") or migrator.resolve("${row.version}", "rolled-back")`,
        { version: row.version, file: this.migrationOf(row.version)?.source?.up },
      );
    }
    await deadline.sleep(WAIT_POLL_MS);
  }

  /** Rolls back one version in a locked transaction, if it is still applied. */
  private async revert(target: Migration, deadline: Deadline): Promise<MigrationRun | undefined> {
    if (target.transaction === false) return this.revertWithoutTransaction(target, deadline);
    const durationMs = await this.locked(deadline, async (tx) => {
      const rows = await this.history.readExisting(tx);
      this.refuseDirty(rows);
      const row = rows.find((r) => sameVersion(r.version, target.version));
      if (!row) return undefined; // another runner did it
      const ms = await this.run(tx, target, "down", deadline);
      await this.history.remove(tx, row.version);
      return ms;
    });
    return durationMs === undefined ? undefined : this.done("down", target, durationMs);
  }

  /**
   * A claimed `-- orchwf:no-transaction` migration: each statement alone. On success the row becomes clean; if
   * the first statement fails (nothing changed) the claim is withdrawn; if a later one fails (or the run stops
   * while a statement runs) the row stays dirty with an execution time: `failed`, refused until resolved.
   */
  private async applyWithoutTransaction(m: Migration, deadline: Deadline): Promise<MigrationRun> {
    const started = performance.now();
    const failure = await this.runStatements(m, "up", deadline);
    const ms = performance.now() - started;
    const bookkeeping = new Deadline(); // the outcome is recorded even when the run was stopped
    if (!failure) {
      await this.locked(bookkeeping, (tx) => this.history.settle(tx, m.version, ms));
      return this.done("up", m, ms);
    }
    await this.locked(bookkeeping, (tx) =>
      failure.partial ? this.history.settle(tx, m.version, ms, true) : this.history.remove(tx, m.version)
    );
    throw failure.error;
  }

  private async revertWithoutTransaction(m: Migration, deadline: Deadline): Promise<MigrationRun | undefined> {
    const row = await this.locked(deadline, async (tx) => {
      const rows = await this.history.readExisting(tx);
      this.refuseDirty(rows);
      const found = rows.find((r) => sameVersion(r.version, m.version));
      if (found) await this.history.claimForRollback(tx, found.version);
      return found;
    });
    if (!row) return undefined;
    const started = performance.now();
    const failure = await this.runStatements(m, "down", deadline);
    const ms = performance.now() - started;
    const bookkeeping = new Deadline();
    if (!failure) {
      await this.locked(bookkeeping, (tx) => this.history.remove(tx, row.version));
      return this.done("down", m, ms);
    }
    await this.locked(bookkeeping, (tx) =>
      this.history.settle(tx, row.version, failure.partial ? ms : row.executionMs ?? 0, failure.partial)
    );
    throw failure.error;
  }

  /** Runs one direction of a migration in the current transaction; returns its duration. */
  private async run(tx: Queryable, m: Migration, direction: "up" | "down", deadline: Deadline, then?: string): Promise<number> {
    this.onEvent?.({ type: "start", direction, version: m.version, description: m.description });
    const script = direction === "up" ? m.up : m.down!;
    const started = performance.now();
    try {
      // `then` (the history row) goes in the same round trip, after the script: error positions are unchanged.
      const body = await withoutTransactionWrapper(script);
      if (then !== undefined && await endsOutsideQuotes(body)) await deadline.race(tx.exec(`${body}\n;\n${then}`));
      else {
        await deadline.race(tx.exec(body)); // an unterminated quote or comment: Postgres reports it on the script alone
        if (then !== undefined) await deadline.race(tx.exec(then));
      }
      // PGlite ignores statement_timeout and cannot be interrupted: a step that ends late (or during which the
      // signal aborted) is rolled back here.
      if (this.driver.embedded) await deadline.catchUp();
      deadline.check();
    } catch (err) {
      throw this.sqlError(err, m, direction, script, undefined, deadline);
    }
    return performance.now() - started;
  }

  /**
   * Runs statements one by one outside a transaction, on one connection. Returns the failure, if any, and
   * whether it left the migration part way (an earlier statement ran, or a stopped statement may still finish).
   */
  private async runStatements(
    m: Migration,
    direction: "up" | "down",
    deadline: Deadline,
  ): Promise<{ error: unknown; partial: boolean } | undefined> {
    this.onEvent?.({ type: "start", direction, version: m.version, description: m.description });
    const script = direction === "up" ? m.up : m.down!;
    const statements = await splitStatements(script);
    // Errors before the first statement (no connection, SET failed) leave the migration untouched.
    return await this.driver.session(async (conn) => {
      if (this.schema !== undefined) await conn.exec(`SET search_path TO ${quoteIdent(this.schema)}`);
      try {
        for (let i = 0; i < statements.length; i++) {
          if (deadline.stopped) return { error: deadline.stopError(), partial: i > 0 };
          try {
            await deadline.race(conn.exec(statements[i].text));
          } catch (err) {
            const stopped = err instanceof MigrationError && (err.code === "TIMEOUT" || err.code === "ABORTED");
            // A failed CONCURRENTLY statement leaves an invalid index behind: the database did change.
            const partial = i > 0 || stopped || /\bCONCURRENTLY\b/i.test(statements[i].text);
            const error = this.sqlError(err, m, direction, script, statements[i].offset, deadline, partial);
            return { error, partial };
          }
        }
        return undefined;
      } finally {
        if (this.schema !== undefined) await conn.exec("RESET search_path").catch(() => {});
      }
    }).catch((err: unknown) => ({ error: toConnectionError(err) ?? err, partial: false }));
  }

  private done(direction: "up" | "down", m: Migration, durationMs: number): MigrationRun {
    const run = { version: m.version, description: m.description, durationMs: Math.round(durationMs * 10) / 10 };
    this.onEvent?.({ type: "done", direction, ...run });
    this.logger?.info(`${direction === "up" ? "applied" : "rolled back"} ${m.version} ${m.description} (${run.durationMs} ms)`);
    return run;
  }

  private warn(message: string): void {
    this.onEvent?.({ type: "warning", message });
    this.logger?.warn(message);
  }

  /** Refuses to run on top of a no-transaction migration that is running or failed part way. */
  private refuseDirty(rows: readonly AppliedRow[]): void {
    const row = rows.find((r) => r.dirty);
    if (row) throw this.dirtyError(row);
  }

  private dirtyError(row: AppliedRow): MigrationError {
    const v = row.version;
    const what = row.executionMs === null
      ? "is being applied or rolled back outside a transaction by another run (or its run died part way)"
      : "failed part way outside a transaction: some of its statements ran, the others did not";
    return new MigrationError(
      "DIRTY",
      `migration ${v} (${this.fileOf(v)}) ${what}; nothing was run. Check the database, finish or undo that migration by hand, then call migrator.resolve("${v}", "applied") if its change is now complete, or migrator.resolve("${v}", "rolled-back") if it is undone (or update ${this.history.qualified} yourself: dirty = false, or delete the row)`,
      { version: v, file: this.migrationOf(v)?.source?.up },
    );
  }

  private migrationOf(version: string): Migration | undefined {
    return this.migrations.find((m) => sameVersion(m.version, version));
  }

  private fileOf(version: string): string {
    const m = this.migrationOf(version);
    return m?.source?.up ?? (m ? `"${m.description}"` : "no migration file has this version");
  }

  private driftError(versions: string[]): MigrationError {
    const files = versions.map((v) => {
      const m = this.migrationOf(v);
      return m?.source?.up ? `${v} (${m.source.up})` : v;
    });
    return new MigrationError(
      "CHECKSUM_MISMATCH",
      `applied migration${versions.length > 1 ? "s" : ""} ${files.join(", ")} changed since ${versions.length > 1 ? "they were" : "it was"} applied; restore the original SQL and put the change into a new migration (or pass allowDrift / --allow-drift to accept it)`,
      { version: versions[0], file: this.migrationOf(versions[0])?.source?.up },
    );
  }

  /** Runs `fn`, turning "cannot reach the database" into a ConnectionError. */
  private async connected<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw toConnectionError(err) ?? err;
    }
  }

  private lockError(err: unknown, deadline: Deadline): unknown {
    const code = (err as { code?: string }).code;
    if (code === "55P03") {
      return new MigrationError(
        "LOCK_TIMEOUT",
        `could not take the migration lock on ${this.history.qualified} within ${this.lockTimeoutMs} ms: another migration run holds it`,
        { cause: err },
      );
    }
    if (code === "57014" && deadline.expired) return deadline.timeoutError(err);
    return toConnectionError(err) ?? err;
  }

  private sqlError(
    err: unknown,
    m: Migration,
    direction: "up" | "down",
    script: string,
    offset: number | undefined, // of the failing statement; undefined when the whole script ran at once
    deadline: Deadline,
    partial = false,
  ): unknown {
    if (err instanceof MigrationError) return err;
    const e = err as { code?: string; message?: string; position?: string | number; where?: string };
    if (e.code === "57014" && deadline.expired) return deadline.timeoutError(err);
    const connection = toConnectionError(err);
    if (connection) return connection;
    if (typeof e.code !== "string" || !/^[0-9A-Z]{5}$/.test(e.code)) return err;
    const file = (direction === "up" ? m.source?.up : m.source?.down) ?? `migration ${m.version} (${direction})`;
    const position = Number(e.position);
    const prefix = Array.from(script.slice(0, offset ?? 0)).length; // statement offset, in characters
    const location = position > 0 ? locate(script, prefix + position) : locateRuntime(script, offset, e.where);
    const hint = e.code === "25001" && m.transaction !== false
      ? `; put "-- orchwf:no-transaction" at the top of ${file} to run it outside a transaction`
      : "";
    const note = partial
      ? " (outside a transaction this cannot be undone: the version is marked failed; see DIRTY in the README)"
      : "";
    return new SqlError({
      version: m.version,
      file,
      detail: `${e.message ?? String(err)}${hint}${note}`,
      sqlState: e.code,
      location,
      cause: err,
    });
  }
}

/**
 * Where a runtime error without a position happened. In a no-transaction run the statement is known; in a whole
 * script only an error inside a DO block can be placed: Postgres names the line inside the block
 * ("PL/pgSQL function inline_code_block line 3 at RAISE"), and the block is the one that line fits.
 */
function locateRuntime(script: string, statementOffset: number | undefined, where?: string): SqlErrorLocation | undefined {
  const bodyLine = /inline_code_block line (\d+)(?: at ([A-Za-z]+))?/.exec(where ?? "");
  const offset = statementOffset ?? (bodyLine ? failingDoBlock(script, Number(bodyLine[1]), bodyLine[2]) : undefined);
  if (offset === undefined) return undefined;
  const start = offset + leadingNoise(script.slice(offset));
  if (!bodyLine || !/^DO\b/i.test(script.slice(start))) return locate(script, Array.from(script.slice(0, start)).length + 1);
  const quote = script.indexOf("$", start);
  const lines = script.split("\n");
  const target = script.slice(0, quote === -1 ? start : quote).split("\n").length + Number(bodyLine[1]) - 1;
  const text = lines[target - 1] ?? "";
  const column = text.length - text.trimStart().length + 1;
  return locate(script, Array.from(lines.slice(0, target - 1).join("\n")).length + (target > 1 ? 1 : 0) + column);
}

/** Length of the white space and comments before a statement's first word. */
function leadingNoise(text: string): number {
  return /^(\s+|--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/)*/.exec(text)![0].length;
}

/**
 * The offset of the DO block a whole-script runtime error came from: the only one, or the only one whose body
 * line `line` exists and starts with the construct Postgres named (RAISE, PERFORM, ...). Undefined when unsure.
 */
function failingDoBlock(script: string, line: number, construct?: string): number | undefined {
  const blocks = splitStatementsIfLoaded(script).filter((st) => /^DO\b/i.test(st.text.slice(leadingNoise(st.text))));
  if (blocks.length === 1) return blocks[0].offset;
  const fits = blocks.filter((st) => {
    const body = st.text.slice(st.text.indexOf("$")).split("\n");
    const text = (body[line - 1] ?? "").trim();
    if (text === "") return false;
    const keyword = construct?.toUpperCase();
    return !keyword || keyword === "SQL" || keyword === "ASSIGNMENT" || text.toUpperCase().startsWith(keyword);
  });
  return fits.length === 1 ? fits[0].offset : undefined;
}

/** True when `script` ends outside any quote, dollar quote or block comment, so "\n;" after it ends its last statement:
 * a script PostgreSQL's parser accepts does. */
async function endsOutsideQuotes(script: string): Promise<boolean> {
  return await splitStatements(script).then(() => true, () => false);
}

/**
 * A ConnectionError for errors that mean "the server could not be reached or refused us", else undefined.
 *
 * @example
 * ```ts
 * throw toConnectionError(err) ?? err;
 * ```
 */
export function toConnectionError(err: unknown): ConnectionError | undefined {
  if (err instanceof MigrationError) return undefined;
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== "string" || !CONNECTION_CODES.test(code)) return undefined;
  const message = (err as Error).message || code;
  return new ConnectionError(`cannot connect to the database: ${message}${message.includes(code) ? "" : ` (${code})`}`, err);
}
