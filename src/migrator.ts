/**
 * The Migrator: plan + driver + lock + history. Returns result objects and emits events; prints nothing.
 * @module
 */
import { orchwfMigrations } from "./builtin.ts";
import { Deadline, type RunOptions } from "./core/deadline.ts";
import { MigrationError } from "./core/errors.ts";
import { checksum, type Migration, REPEATABLE_PREFIX, sameVersion, validateMigrations } from "./core/migration.ts";
import { type AppliedRow, pendingMigrations, resolveTarget, rollbackTargets, statusEntries } from "./core/plan.ts";
import { type Database, toDriver } from "./drivers/detect.ts";
import type { Driver } from "./drivers/driver.ts";
import { type Logger, type MigrationEvent, type MigrationRun, Reporter } from "./engine/events.ts";
import { History } from "./engine/history.ts";
import { withMigrationLock } from "./engine/lock.ts";
import { migrationOf, refuseDirty } from "./engine/dirty.ts";
import { applyWithoutTransaction, revertWithoutTransaction, waitForRunning, type WaitState } from "./engine/no-transaction.ts";
import { resumeCandidate } from "./engine/batch-resume.ts";
import { readBaseline } from "./engine/session-state.ts";
import { type LockRetryPolicy, lockRetryPolicy, withLockRetries } from "./engine/lock-retry.ts";
import { serverFailure } from "./engine/sql-error.ts";
import { applyStep, revertStep, type StepContext, type StepMemory } from "./engine/step.ts";
import { scriptOf } from "./engine/step-context.ts";
import { resolvePlaceholders } from "./engine/placeholders.ts";
import { PLACEHOLDER_NAME } from "./core/placeholders.ts";
import type { VerifyOptions, VerifyReport } from "./schema/verify.ts";
import { adoptSquashed, foldSquashed, needsAdoption } from "./engine/squashed-history.ts";
import { checkPending } from "./sources/check.ts";
import type {
  BaselineOptions,
  BaselineResult,
  MigrateOptions,
  MigrateResult,
  MigrationPlan,
  MigratorOptions,
  RedoOptions,
  RedoResult,
  RollbackOptions,
  RollbackResult,
  StatusReport,
} from "./engine/api.ts";

export type { BatchEvent, Logger, MigrationEvent, MigrationRun, RetryEvent } from "./engine/events.ts";
/** Kept here too: the CLI and users imported it from the Migrator before it moved to core/errors.ts. */
export { toConnectionError } from "./core/errors.ts";

export type {
  BaselineOptions,
  BaselineResult,
  LockRetryOptions,
  MigrateOptions,
  MigrateResult,
  MigrationPlan,
  MigratorOptions,
  RedoOptions,
  RedoResult,
  RollbackOptions,
  RollbackResult,
  StatusReport,
} from "./engine/api.ts";

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

/** The placeholders option, checked: names as `${name}` can use them, values strings. */
function checkPlaceholders(values: Readonly<Record<string, string>> | undefined): Readonly<Record<string, string>> {
  for (const [name, value] of Object.entries(values ?? {})) {
    if (!PLACEHOLDER_NAME.test(name) || /^(orchwf|flyway):/.test(name)) {
      throw new MigrationError("USAGE", `invalid placeholder name ${JSON.stringify(name)}: letters, digits, _, . and : starting with a letter or _ (the orchwf: and flyway: prefixes are the built-ins')`);
    }
    if (typeof value !== "string") throw new MigrationError("USAGE", `the value of placeholder ${name} must be a string, not ${typeof value}`);
  }
  return { ...values };
}

/** `m` as it will be sent in `direction` (placeholders replaced), for the checks before the run. */
function asSent(ctx: StepContext, m: Migration, direction: "up" | "down"): Migration {
  if (!ctx.resolved?.has(m)) return m;
  const sent = { ...m, placeholders: undefined }; // replaced already
  return direction === "up" ? { ...sent, up: scriptOf(ctx, m, "up") } : { ...sent, down: scriptOf(ctx, m, "down") };
}

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
  private readonly lockRetry: LockRetryPolicy;
  private readonly schema?: string;
  private readonly reporter: Reporter;
  private readonly logger?: Logger;
  private readonly onEvent?: (event: MigrationEvent) => void;
  private readonly placeholders: Readonly<Record<string, string>>;

  constructor(db: Database, options: MigratorOptions = {}) {
    // A migration's own NOTICEs (RAISE NOTICE) go to the logger, where the client lets us listen.
    this.driver = toDriver(db, (notice) => this.reporter?.info(`${notice.severity ?? "NOTICE"} from the database: ${notice.message}`));
    this.migrations = validateMigrations(options.migrations ?? orchwfMigrations);
    this.schema = options.schema === undefined ? undefined : checkName("schema", options.schema);
    this.history = new History(this.schema, checkName("table", options.table ?? "orchwf_migrations"));
    const lockTimeoutMs = options.lockTimeoutMs ?? 60_000;
    if (typeof lockTimeoutMs !== "number" || !(lockTimeoutMs > 0) || !Number.isFinite(lockTimeoutMs)) {
      throw new MigrationError("USAGE", `lockTimeoutMs must be a positive number of milliseconds, not ${String(lockTimeoutMs)}`);
    }
    this.lockTimeoutMs = lockTimeoutMs;
    this.lockRetry = lockRetryPolicy(options);
    this.logger = options.logger;
    this.onEvent = options.onEvent;
    this.reporter = new Reporter(options.logger, options.onEvent);
    this.placeholders = checkPlaceholders(options.placeholders);
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
      const to = resolveTarget(this.migrations, options.to); // a bad `to` touches nothing
      const ctx = await this.prepare(deadline, lockRetryPolicy(options, this.lockRetry));
      await this.adoptSquashed(ctx, deadline);
      const rows = await this.connected(`reading ${ctx.history.qualified}`, () => ctx.history.read(this.driver));
      const plan = this.planOf(rows, to);
      if (plan.modified.length > 0 && !options.allowDrift) throw this.driftError(plan.modified);
      // Every pending migration is parsed and checked before the first one runs (sources/check.ts).
      // Placeholders are replaced first (a missing value applies nothing), then what will be sent is checked.
      const pendingVersions = new Set(plan.pending.map((p) => p.version));
      const pending = this.migrations.filter((m) => pendingVersions.has(m.version));
      await this.resolvePlaceholders(ctx, pending, "up");
      await checkPending(pending.map((m) => asSent(ctx, m, "up")), "up");
      for (const version of plan.missing) {
        this.reporter.warn(`version ${version} is recorded as applied in ${ctx.history.qualified} but has no migration file`);
      }
      // The first step reads the version list again, under the lock, with the table's digest; each later step only
      // checks the table still holds what the run last saw (count + digest, on the server).
      return { applied: await this.applyLoop(ctx, deadline, { to }) };
    } finally {
      deadline.dispose();
    }
  }

  /** plan -> lock -> step -> record, one migration per transaction, until nothing (of `only`) is pending. */
  private async applyLoop(
    ctx: StepContext,
    deadline: Deadline,
    options: { to?: string; only?: string },
  ): Promise<MigrationRun[]> {
    const applied: MigrationRun[] = [];
    const waiting: WaitState = {};
    const memory: StepMemory = {};
    for (;;) {
      deadline.check();
      // A statement that waited too long for its lock: the step rolled back; it is tried again after a backoff.
      const outcome = await withLockRetries(ctx.lockRetry, deadline, ctx.reporter, (err) => this.failedMigration(err), "up", () => applyStep(ctx, deadline, options, memory));
      if (outcome.kind === "done") return applied;
      if (outcome.kind === "busy") {
        // The claim of a batched migration whose run is gone is resumed (engine/batch-resume.ts); others are waited for.
        const resumed = await resumeCandidate(ctx, outcome.row);
        const run = resumed && await applyWithoutTransaction(ctx, deadline, resumed, true);
        if (run) applied.push(run);
        else await waitForRunning(ctx, deadline, outcome.row, waiting, resumed !== undefined);
        continue;
      }
      waiting.since = undefined;
      if (outcome.kind === "claimed") {
        const run = await applyWithoutTransaction(ctx, deadline, outcome.migration);
        if (run) applied.push(run); // else a run that took over our claim applies it: the next step waits for it
      } else applied.push(this.reporter.done("up", outcome.migration, outcome.durationMs));
    }
  }

  /**
   * Rolls back applied migrations, newest first, each in its own transaction.
   * Checks first that every one of them can be rolled back, so it never stops half way for want of a down, and
   * refuses (code `CHECKSUM_MISMATCH`, nothing run) one whose up script changed since it was applied, unless
   * `allowDrift`.
   *
   * @example
   * ```ts
   * await migrator.rollback();               // the newest one
   * await migrator.rollback({ steps: 3 });
   * await migrator.rollback({ all: true });  // all of them, version 0 included
   * ```
   */
  async rollback(options: RollbackOptions = {}): Promise<RollbackResult> {
    const deadline = new Deadline(options);
    try {
      rollbackTargets(this.migrations, [], options); // a bad `to` touches nothing
      const ctx = await this.prepare(deadline, lockRetryPolicy(options, this.lockRetry));
      const rows = await this.connected(`reading ${ctx.history.qualified}`, () => ctx.history.readExisting(this.driver));
      refuseDirty(ctx, rows);
      const targets = rollbackTargets(this.migrations, rows, options);
      await this.resolvePlaceholders(ctx, targets, "down");
      await checkPending(targets.map((m) => asSent(ctx, m, "down")), "down"); // every down script is checked before the first one runs
      const rolledBack: MigrationRun[] = [];
      for (const target of targets) {
        deadline.check();
        if (target.transaction === false) {
          const run = await revertWithoutTransaction(ctx, deadline, target);
          if (run) rolledBack.push(run);
          continue;
        }
        const ms = await withLockRetries(ctx.lockRetry, deadline, ctx.reporter, () => target, "down", () => revertStep(ctx, deadline, target));
        if (ms !== undefined) rolledBack.push(this.reporter.done("down", target, ms));
      }
      return { rolledBack };
    } finally {
      deadline.dispose();
    }
  }

  /**
   * Rolls back the newest applied migration and applies that same migration again, and nothing else: a lower
   * version that is still pending stays pending (the CLI's `redo`).
   *
   * @example
   * ```ts
   * const { rolledBack, applied } = await migrator.redo({ timeoutMs: 30_000 });
   * ```
   */
  async redo(options: RedoOptions = {}): Promise<RedoResult> {
    const deadline = new Deadline(options);
    try {
      const { rolledBack } = await this.rollback({
        steps: 1,
        allowDrift: options.allowDrift,
        signal: options.signal,
        timeoutMs: deadline.remainingMs(),
        ddlLockTimeoutMs: options.ddlLockTimeoutMs,
        lockRetries: options.lockRetries,
      });
      if (rolledBack.length === 0) return { rolledBack, applied: [] };
      const ctx = await this.prepare(deadline, lockRetryPolicy(options, this.lockRetry));
      await this.resolvePlaceholders(ctx, this.migrations.filter((m) => sameVersion(m.version, rolledBack[0].version)), "up");
      const applied = await this.applyLoop(ctx, deadline, { only: rolledBack[0].version });
      return { rolledBack, applied };
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
      const ctx = await this.prepare(deadline);
      const history = ctx.history;
      await withMigrationLock(ctx, deadline, async (tx) => {
        const rows = await history.readExisting(tx);
        const row = rows.find((r) => sameVersion(r.version, version));
        if (!row) {
          throw new MigrationError("UNKNOWN_VERSION", `version ${JSON.stringify(version)} is not recorded in ${history.qualified}; nothing to resolve`, {
            version,
          });
        }
        if (!row.dirty) {
          throw new MigrationError("USAGE", `migration ${row.version} is not marked failed in ${history.qualified}; nothing to resolve`, {
            version: row.version,
          });
        }
        if (outcome === "rolled-back") await history.remove(tx, row.version);
        else await history.resolveApplied(tx, row.version, migrationOf(ctx, version));
      });
      this.reporter.info(`resolved ${version} as ${outcome}`);
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
    const rows = foldSquashed(this.migrations, await this.connected(`reading ${this.history.qualified}`, () => this.history.read(this.driver)));
    const migrations = statusEntries(this.migrations, rows);
    // The current version is the highest applied one (repeatables have no place in the order); a `failed` version
    // was never completed, so it is not the current one.
    const done = migrations.filter((m) => m.state !== "pending" && m.state !== "failed" && !m.version.startsWith(REPEATABLE_PREFIX));
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
    const chosen = versions?.map((v) => {
      const m = migrationOf(this, v);
      if (!m) throw new MigrationError("UNKNOWN_VERSION", `unknown version ${JSON.stringify(v)}: no migration has that version`, { version: v });
      return m;
    });
    const to = chosen === undefined ? resolveTarget(this.migrations, options.to) : undefined;
    let marked: Migration[];
    try {
      const ctx = await this.prepare(deadline);
      // Under the migration lock every run takes, so a concurrent run never records or applies a version twice.
      marked = await withMigrationLock(ctx, deadline, async (tx) => {
        const rows = await ctx.history.readExisting(tx);
        const pending = chosen === undefined
          ? pendingMigrations(this.migrations, rows, to)
          : chosen.filter((m) => !rows.some((r) => sameVersion(r.version, m.version) && (!m.repeatable || r.checksum === checksum(m.up))));
        for (const m of pending) await ctx.history.recordBaseline(tx, m);
        return pending;
      });
    } finally {
      deadline.dispose();
    }
    for (const m of marked) this.reporter.info(`baselined ${m.version} ${m.description} (recorded as applied, not run)`);
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
    const to = resolveTarget(this.migrations, options.to);
    return this.planOf(await this.connected(`reading ${this.history.qualified}`, () => this.history.read(this.driver)), to);
  }

  /**
   * Squash hook: a database that applied every version a squashed baseline replaces gets the baseline's row instead
   * of theirs (under the lock); one that applied only part of them is refused. Free when nothing is squashed.
   */
  private async adoptSquashed(ctx: StepContext, deadline: Deadline): Promise<void> {
    if (!this.migrations.some((m) => m.replaces)) return;
    if (!needsAdoption(this.migrations, await ctx.history.read(this.driver))) return;
    const adopted = await withMigrationLock(ctx, deadline, (tx) => adoptSquashed(tx, ctx.history, this.migrations));
    for (const v of adopted) this.reporter.info(`recorded the squashed migration ${v} as applied in place of the versions it replaces`);
  }

  private planOf(applied: AppliedRow[], to?: string): MigrationPlan {
    const rows = foldSquashed(this.migrations, applied);
    const entries = statusEntries(this.migrations, rows);
    return {
      pending: pendingMigrations(this.migrations, rows, to).map((m) => ({
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
  async verify(options: Pick<VerifyOptions, "force" | "schemas" | "onVersion"> = {}): Promise<VerifyReport> {
    // Loaded on demand (snapshots are heavy); verify is handed this Migrator, it never imports one.
    const { verifyOn } = await import("./schema/verify.ts");
    return verifyOn(this.driver, this, {
      ...options,
      table: this.history.table,
      schema: this.schema,
      lockTimeoutMs: this.lockTimeoutMs,
      logger: this.logger,
      onEvent: this.onEvent,
    });
  }

  /**
   * Makes sure the version table exists with our columns, and fixes what every step relies on: the table's
   * schema (our statements never follow a search_path a migration changed) and the session state each migration
   * starts with. The first connection errors surface here.
   */
  private async prepare(deadline: Deadline, lockRetry: LockRetryPolicy = this.lockRetry): Promise<StepContext> {
    deadline.check();
    const [{ located, ready }, baseline] = await this.connected(
      `reading ${this.history.qualified}`,
      // One after the other: when the server cannot be reached, the first failure ends it (no query left pending).
      () => deadline.race((async () => [await this.history.locate(this.driver), await readBaseline(this.driver)] as const)()),
    );
    const ctx: StepContext = {
      driver: this.driver,
      history: located,
      lockTimeoutMs: this.lockTimeoutMs,
      schema: this.schema,
      migrations: this.migrations,
      reporter: this.reporter,
      baseline,
      lockRetry,
    };
    if (ready) return ctx;
    await withMigrationLock(ctx, deadline, async (tx) => {
      try {
        // Again under the lock: another run may have made it meanwhile, and an ALTER TABLE on a ready table would
        // wait for the runs that read it while waiting for the lock (a deadlock).
        if (await located.isReady(tx)) return;
        await located.ensure(tx);
      } catch (err) {
        throw serverFailure(err, `creating the version table ${located.qualified}`);
      }
    });
    return ctx;
  }

  /** The migration a step's error names (a SqlError carries its version). */
  private failedMigration(err: unknown): Migration | undefined {
    const version = err instanceof MigrationError ? err.version : undefined;
    return version === undefined ? undefined : migrationOf(this, version);
  }

  private driftError(versions: string[]): MigrationError {
    const files = versions.map((v) => {
      const m = migrationOf(this, v);
      return m?.source?.up ? `${v} (${m.source.up})` : v;
    });
    return new MigrationError(
      "CHECKSUM_MISMATCH",
      `applied migration${versions.length > 1 ? "s" : ""} ${files.join(", ")} changed since ${versions.length > 1 ? "they were" : "it was"} applied; restore the original SQL and put the change into a new migration (or pass --allow-drift to accept it; library: allowDrift)`,
      { version: versions[0], file: migrationOf(this, versions[0])?.source?.up },
    );
  }

  /** Replaces the placeholders of `migrations` (in `direction`) into `ctx.resolved`, before anything runs. */
  private async resolvePlaceholders(ctx: StepContext, migrations: readonly Migration[], direction: "up" | "down"): Promise<void> {
    if (!migrations.some((m) => m.placeholders !== undefined)) return;
    ctx.resolved = await this.connected(
      "reading the session's user, database and schema for the built-in placeholders",
      () => resolvePlaceholders(this.driver, migrations, this.placeholders, { schema: this.schema, table: this.history.table }, [direction]),
    );
  }

  /** Runs `fn` (which does `what`), turning server failures into coded errors (CONNECTION_FAILED, ...). */
  private async connected<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw serverFailure(err, what);
    }
  }
}
