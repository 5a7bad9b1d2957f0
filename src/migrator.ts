/**
 * The Migrator: plan + driver + lock + history. Returns result objects and emits events; prints nothing.
 * @module
 */
import { orchwfMigrations } from "./builtin.ts";
import { Deadline, type RunOptions } from "./deadline.ts";
import { type Database, toDriver } from "./drivers/detect.ts";
import type { Driver, Queryable } from "./drivers/driver.ts";
import { ConnectionError, locate, MigrationError, SqlError } from "./errors.ts";
import { History } from "./history.ts";
import { type Migration, validateMigrations } from "./migration.ts";
import { pendingMigrations, rollbackTargets, type StatusEntry, statusEntries } from "./plan.ts";
import { splitStatements } from "./split.ts";
import { quoteIdent } from "./sql-text.ts";
import { type VerifyOptions, type VerifyReport, verifyOn } from "./verify.ts";

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
    this.schema = options.schema;
    this.history = new History(options.schema, options.table ?? "orchwf_migrations");
    this.lockTimeoutMs = options.lockTimeoutMs ?? 60_000;
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
    const applied: MigrationRun[] = [];
    await this.prepare(deadline);
    const plan = await this.plan({ to: options.to });
    if (plan.modified.length > 0 && !options.allowDrift) throw this.driftError(plan.modified);
    for (const version of plan.missing) {
      this.warn(`version ${version} is recorded as applied in ${this.history.qualified} but has no migration file`);
    }
    for (;;) {
      deadline.check();
      const run = await this.applyNext(options.to, deadline);
      if (!run) break;
      applied.push(run);
    }
    return { applied };
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
    await this.prepare(deadline);
    const targets = rollbackTargets(this.migrations, await this.history.readExisting(this.driver), options);
    const rolledBack: MigrationRun[] = [];
    for (const target of targets) {
      deadline.check();
      const run = await this.revert(target, deadline);
      if (run) rolledBack.push(run);
    }
    return { rolledBack };
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
    const rows = await this.connected(() => this.history.read(this.driver));
    const migrations = statusEntries(this.migrations, rows);
    const done = migrations.filter((m) => m.state !== "pending");
    return {
      table: this.history.qualified,
      migrations,
      current: done.length > 0 ? done[done.length - 1].version : null,
      pending: migrations.filter((m) => m.state === "pending").length,
    };
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
    const rows = await this.connected(() => this.history.read(this.driver));
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

  /** Makes sure the version table exists with our columns; the first connection errors surface here. */
  private async prepare(deadline: Deadline): Promise<void> {
    deadline.check();
    if (await this.connected(() => this.history.isReady(this.driver))) return;
    await this.driver.transaction(async (tx) => {
      await this.lock(tx, deadline);
      await this.history.ensure(tx);
    });
  }

  /** Starts a migration transaction: limits, search_path, then the advisory lock (waits for other runners). */
  private async lock(tx: Queryable, deadline: Deadline): Promise<void> {
    const remaining = deadline.remainingMs();
    const settings = [`SET LOCAL lock_timeout = ${Math.max(1, Math.round(this.lockTimeoutMs))}`];
    if (remaining !== undefined) settings.push(`SET LOCAL statement_timeout = ${remaining}`);
    if (this.schema !== undefined) settings.push(`SET LOCAL search_path TO ${quoteIdent(this.schema)}`);
    await tx.exec(settings.join(";\n"));
    try {
      await tx.query("SELECT pg_advisory_xact_lock($1::bigint)", [this.history.lockKey]);
    } catch (err) {
      throw this.lockError(err, deadline);
    }
  }

  /** One locked transaction: re-read the table, apply the lowest pending version, record it. */
  private async applyNext(to: string | undefined, deadline: Deadline): Promise<MigrationRun | undefined> {
    const outcome = await this.driver.transaction(async (tx) => {
      await this.lock(tx, deadline);
      const rows = await this.history.readExisting(tx);
      this.refuseFailed(rows);
      const next = pendingMigrations(this.migrations, rows, to)[0];
      if (!next || next.transaction === false) return { next };
      const durationMs = await this.run(tx, next, "up", deadline);
      await this.history.record(tx, next, durationMs);
      return { next, durationMs };
    });
    if (!outcome.next) return undefined;
    if (outcome.durationMs === undefined) return this.applyWithoutTransaction(outcome.next, to, deadline);
    return this.done("up", outcome.next, outcome.durationMs);
  }

  /** Rolls back one version in a locked transaction, if it is still the newest applied one. */
  private async revert(target: Migration, deadline: Deadline): Promise<MigrationRun | undefined> {
    if (target.transaction === false) return this.revertWithoutTransaction(target, deadline);
    const durationMs = await this.driver.transaction(async (tx) => {
      await this.lock(tx, deadline);
      const rows = await this.history.readExisting(tx);
      if (!rows.some((r) => BigInt(r.version) === BigInt(target.version))) return undefined; // another runner did it
      const ms = await this.run(tx, target, "down", deadline);
      await this.history.remove(tx, rows.find((r) => BigInt(r.version) === BigInt(target.version))!.version);
      return ms;
    });
    return durationMs === undefined ? undefined : this.done("down", target, durationMs);
  }

  /**
   * A `-- orchwf:no-transaction` migration: each statement alone, under a session advisory lock on one
   * connection. If a statement after the first fails, the row is recorded as failed so that nobody runs
   * on top of a half-applied change.
   */
  private applyWithoutTransaction(m: Migration, to: string | undefined, deadline: Deadline): Promise<MigrationRun | undefined> {
    return this.withSessionLock(deadline, async (conn) => {
      const rows = await this.history.readExisting(conn);
      this.refuseFailed(rows);
      if (pendingMigrations(this.migrations, rows, to)[0] !== m) return undefined; // another runner moved on
      const started = performance.now();
      await this.runStatements(conn, m, "up", deadline, () => this.history.record(conn, m, 0, true));
      await this.history.record(conn, m, performance.now() - started);
      return this.done("up", m, performance.now() - started);
    });
  }

  private revertWithoutTransaction(m: Migration, deadline: Deadline): Promise<MigrationRun | undefined> {
    return this.withSessionLock(deadline, async (conn) => {
      const rows = await this.history.readExisting(conn);
      const row = rows.find((r) => BigInt(r.version) === BigInt(m.version));
      if (!row) return undefined;
      const started = performance.now();
      await this.runStatements(conn, m, "down", deadline, async () => {
        await conn.query(`UPDATE ${this.history.qualified} SET dirty = true WHERE version = $1`, [row.version]);
      });
      await this.history.remove(conn, row.version);
      return this.done("down", m, performance.now() - started);
    });
  }

  private async withSessionLock<T>(deadline: Deadline, fn: (conn: Queryable) => Promise<T>): Promise<T> {
    return this.driver.session(async (conn) => {
      const search = this.schema === undefined ? "" : `;\nSET search_path TO ${quoteIdent(this.schema)}`;
      await conn.exec(`SET lock_timeout = ${Math.max(1, Math.round(this.lockTimeoutMs))}${search}`);
      try {
        await conn.query("SELECT pg_advisory_lock($1::bigint)", [this.history.lockKey]);
      } catch (err) {
        await conn.exec("RESET lock_timeout; RESET search_path").catch(() => {});
        throw this.lockError(err, deadline);
      }
      try {
        return await fn(conn);
      } finally {
        await conn.query("SELECT pg_advisory_unlock($1::bigint)", [this.history.lockKey]);
        await conn.exec("RESET lock_timeout; RESET search_path");
      }
    });
  }

  /** Runs one direction of a migration in the current transaction; returns its duration. */
  private async run(tx: Queryable, m: Migration, direction: "up" | "down", deadline: Deadline): Promise<number> {
    this.onEvent?.({ type: "start", direction, version: m.version, description: m.description });
    const script = direction === "up" ? m.up : m.down!;
    const started = performance.now();
    try {
      await tx.exec(script);
    } catch (err) {
      throw this.sqlError(err, m, direction, script, 0, deadline);
    }
    return performance.now() - started;
  }

  /** Runs statements one by one outside a transaction; `markFailed` runs when a later statement fails. */
  private async runStatements(
    conn: Queryable,
    m: Migration,
    direction: "up" | "down",
    deadline: Deadline,
    markFailed: () => Promise<void>,
  ): Promise<void> {
    this.onEvent?.({ type: "start", direction, version: m.version, description: m.description });
    const script = direction === "up" ? m.up : m.down!;
    const statements = splitStatements(script);
    for (let i = 0; i < statements.length; i++) {
      try {
        deadline.check();
        await conn.exec(statements[i].text);
      } catch (err) {
        if (i > 0) await markFailed();
        throw this.sqlError(err, m, direction, script, statements[i].offset, deadline, i > 0);
      }
    }
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

  private refuseFailed(rows: { version: string; dirty: boolean }[]): void {
    const failed = rows.find((r) => r.dirty);
    if (failed) {
      throw new MigrationError(
        "DIRTY",
        `migration ${failed.version} failed part way outside a transaction; repair the database by hand, then delete its row from ${this.history.qualified} (if you undid it) or set dirty = false (if you completed it)`,
        { version: failed.version },
      );
    }
  }

  private driftError(versions: string[]): MigrationError {
    const files = versions.map((v) => {
      const m = this.migrations.find((x) => BigInt(x.version) === BigInt(v));
      return m?.source?.up ? `${v} (${m.source.up})` : v;
    });
    return new MigrationError(
      "CHECKSUM_MISMATCH",
      `applied migration${versions.length > 1 ? "s" : ""} ${files.join(", ")} changed since ${versions.length > 1 ? "they were" : "it was"} applied; restore the original SQL and put the change into a new migration (or pass allowDrift / --allow-drift to accept it)`,
      { version: versions[0], file: this.migrations.find((x) => x.version === versions[0])?.source?.up },
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
    offset: number,
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
    const prefix = Array.from(script.slice(0, offset)).length; // statement offset, in characters
    const location = position > 0
      ? locate(script, prefix + position)
      : locateStatement(script, offset > 0 ? offset : soleDoBlock(script, e.where), e.where);
    const note = partial ? " (statements before it were applied and could not be undone: the version is marked failed)" : "";
    return new SqlError({
      version: m.version,
      file,
      detail: `${e.message ?? String(err)}${note}`,
      sqlState: e.code,
      location,
      cause: err,
    });
  }
}

/**
 * A runtime error (no position) in a no-transaction statement points at the statement; in a DO block or
 * function body Postgres names the line inside the body ("PL/pgSQL function ... line 3"), which we add.
 */
function locateStatement(script: string, offset: number, where?: string) {
  const line = /line (\d+)/.exec(where ?? "");
  if (offset === 0 && !line) return undefined;
  const statementStart = offset + (script.slice(offset).length - script.slice(offset).trimStart().length);
  const base = locate(script, Array.from(script.slice(0, statementStart)).length + 1);
  if (!line) return base;
  const bodyStart = script.indexOf("$", statementStart);
  const bodyLine = bodyStart === -1 ? base.line : script.slice(0, bodyStart).split("\n").length;
  const target = bodyLine + Number(line[1]) - 1;
  const lines = script.split("\n");
  const column = (lines[target - 1] ?? "").length - (lines[target - 1] ?? "").trimStart().length + 1;
  return locate(script, Array.from(lines.slice(0, target - 1).join("\n")).length + (target > 1 ? 1 : 0) + column);
}

/** In a whole-script error from a DO block, the offset of that DO statement when the script has only one. */
function soleDoBlock(script: string, where?: string): number {
  if (!where?.includes("inline_code_block")) return 0;
  const blocks = splitStatements(script).filter((s) => /^\s*DO\b/i.test(s.text.replace(/^(\s*--[^\n]*\n)*/, "")));
  return blocks.length === 1 ? blocks[0].offset : 0;
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
