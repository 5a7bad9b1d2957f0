/**
 * One database session of a command: chooses and opens the database (refusing to guess one in a script), collects
 * its secrets for redaction, builds the Migrator, holds the run's ONE deadline (--timeout and Ctrl-C/SIGTERM), shows
 * progress on a terminal, and closes. A signal stops the run after the running migration rolled back; the error
 * then names that migration and exits 130.
 * @module
 */
import process from "node:process";
import { orchwfMigrations } from "../builtin.ts";
import { Deadline, type RunOptions } from "../core/deadline.ts";
import { MigrationError } from "../core/errors.ts";
import type { Migration } from "../core/migration.ts";
import { type BatchEvent, type MigrationEvent, Migrator, type RetryEvent } from "../migrator.ts";
import { loadMigrations } from "../sources/load.ts";
import { placeholderValues } from "./placeholder-values.ts";
import type { CommandContext } from "./context.ts";
import { parseDuration, usage } from "./options.ts";
import { progressLine } from "./render.ts";
import { chooseDatabase, DEFAULT_DB_URL, type OpenDatabase, openDatabase, urlSecrets } from "./resolve-db.ts";
import { parseFormat } from "../sources/detect.ts";
import { directoryFormat } from "./reports/format.ts";
import { lockRetryOptions } from "./lock-retry-options.ts";

/** setTimeout and PostgreSQL's lock_timeout both stop at 2^31-1 ms (24.8 days). */
const MAX_MS = 2_147_483_647;
/** How long --wait retries without --timeout: as long as dbmate's --wait-timeout, never forever. */
const WAIT_DEFAULT_MS = 60_000;

/** An open session. */
export interface Session {
  migrator: Migrator;
  /** The database URL, password masked. */
  label: string;
  /** The open database (drift and dump read its catalog). */
  db: OpenDatabase;
  /** The database URL as given (never print it: `label` is the masked one). */
  url: string;
  /** Options for each Migrator call: the run's signal and the time left of --timeout. */
  run(): RunOptions;
  /** Settles like `work` unless the run is stopped (signal, --timeout) first. */
  race<T>(work: Promise<T>): Promise<T>;
  /** Shows `[done/total]` progress on a terminal for the migrations about to run; `manual`: counted by `tick()`. */
  expect(total: number, manual?: boolean): void;
  /** One more done (with `expect(n, true)`: verify counts versions, not its ups and downs). */
  tick(): void;
  /** Every retry after a lock timeout so far (the --json result lists them). */
  retries: RetryEvent[];
  /** Every committed batch of a `-- orchwf:batch` statement so far (the --json result lists them). */
  batches: BatchEvent[];
}

/** How a command wants its session. */
export interface SessionOptions {
  /** verify: the --db flag only (never ORCHWF_DB_URL/DATABASE_URL), else a throwaway pglite:memory. */
  scratch?: boolean;
  /** Print one line per migration that ran (default true). */
  stepLines?: boolean;
  /**
   * The command only reads or undoes (status, drift, dump, up --dry-run, down, redo, resolve): a `pglite:` path with
   * no database is `NO_DATABASE`, never a new directory and database. Only up and baseline create one.
   */
  existing?: boolean;
}

/**
 * A duration option in milliseconds, checked against what timers and PostgreSQL accept.
 *
 * @example
 * ```ts
 * durationOption(ctx, "timeout", { zero: "none" }); // undefined when not given or 0
 * ```
 */
export function durationOption(ctx: CommandContext, name: "timeout" | "lock-timeout"): number | undefined {
  const text = ctx.string(name);
  if (text === undefined) return undefined;
  const from = ctx.source(name);
  const ms = parseDuration(text, from);
  if (ms > MAX_MS) throw usage(`${from} ${text} is too long: at most ${MAX_MS} ms (about 24 days)`);
  if (name === "lock-timeout" && ms < 1) throw usage(`${from} must be at least 1 ms: the migration-lock wait is always bounded`);
  return ms === 0 ? undefined : ms;
}

/** The database URL to use, or a usage error when none was given and nobody is at a terminal to see a default. */
function databaseUrl(ctx: CommandContext, options: SessionOptions): { url: string; announce: boolean } {
  const from = ctx.source("db");
  const given = ctx.string("db");
  if (options.scratch) return { url: from === "--db" && given ? given : "pglite:memory", announce: false };
  if (from === "--db" && given === "") {
    throw usage(`--db is empty (an unset variable?). ${WAYS}`);
  }
  const choice = chooseDatabase(given, {}); // the environment was read already (ctx.string)
  if (choice.source !== "default") return { url: choice.url, announce: false };
  if (!ctx.interactive) throw usage(`no database given, and this is not an interactive terminal. ${WAYS}`);
  return { url: DEFAULT_DB_URL, announce: true };
}

const WAYS = "Name it with --db URL, or set ORCHWF_DB_URL or DATABASE_URL (in the environment or ./.env); " +
  `for the embedded database: --db ${DEFAULT_DB_URL}`;

/**
 * The migrations a command works on: --dir's (with the built-ins first when --with-orchwf), else the built-ins.
 *
 * @example
 * ```ts
 * const migrations = await chosenMigrations(ctx);
 * ```
 */
export async function chosenMigrations(ctx: CommandContext): Promise<readonly Migration[]> {
  const dir = ctx.string("dir");
  const withOrchwf = ctx.flag("with-orchwf");
  if (dir === undefined || dir === "") {
    if (withOrchwf) throw usage("--with-orchwf adds the built-in OrchWF schema to --dir's migrations: give --dir too");
    return orchwfMigrations;
  }
  const mine = await loadMigrations(dir, { format: parseFormat(directoryFormat(ctx)) });
  return withOrchwf ? [...orchwfMigrations, ...mine] : mine;
}

/**
 * Opens the session, runs `fn`, closes. Errors keep their code; a stop by signal becomes `ABORTED` with exit 130.
 *
 * @example
 * ```ts
 * return await withSession(ctx, async (s) => ({ json: await s.migrator.status() }));
 * ```
 */
export async function withSession<T>(ctx: CommandContext, fn: (session: Session) => Promise<T>, options: SessionOptions = {}): Promise<T> {
  const { out } = ctx;
  const timeoutMs = durationOption(ctx, "timeout");
  const lockTimeoutMs = durationOption(ctx, "lock-timeout");
  const { url, announce } = databaseUrl(ctx, options);
  out.secrets.push(...urlSecrets(url)); // found without parsing: a password with an unencoded "/" or space too
  const migrations = await chosenMigrations(ctx);
  if (announce) out.info(`no --db, ORCHWF_DB_URL or DATABASE_URL: using the embedded PGlite database in ./.orchwf/pgdata`);

  const stop = new AbortController();
  let signalName: string | undefined;
  const onSignal = (name: string) => {
    if (signalName !== undefined) process.exit(130); // a second Ctrl-C: leave at once
    signalName = name;
    out.info(`${name}: stopping after the running migration rolls back (again to quit at once)`);
    stop.abort(new Error(name));
  };
  const onInt = () => onSignal("SIGINT");
  const onTerm = () => onSignal("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  const deadline = new Deadline({ signal: stop.signal, timeoutMs });

  // Progress: what runs now, how many of how many.
  const startedAt = Date.now();
  let running: { version: string; description: string; direction: string } | undefined;
  let total = 0;
  let done = 0;
  let manual = false;
  const showProgress = () => {
    if (total === 0) return;
    const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
    const now = running ? `${running.direction === "up" ? "applying" : "rolling back"} ${running.version} ${running.description}` : "";
    out.progress(`[${done}/${total}] ${now}  ${seconds}s`);
  };
  let ticker: ReturnType<typeof setInterval> | undefined;
  const retries: RetryEvent[] = [];
  const batches: BatchEvent[] = [];
  const onEvent = (event: MigrationEvent) => {
    if (event.type === "warning") return out.warn(event.message);
    if (event.type === "retry") {
      retries.push(event);
      return out.info(retryLine(event));
    }
    if (event.type === "batch") {
      batches.push(event);
      out.debug(batchLine(event));
      if (running) return out.progress(`[${done}/${total}] applying ${running.version}: batch ${event.batch}, ${event.totalRows} rows  ${((Date.now() - startedAt) / 1000).toFixed(1)}s`);
      return;
    }
    if (event.type === "start") running = event;
    if (event.type === "done") {
      running = undefined;
      if (!manual) done++;
      if (options.stepLines !== false) out.step(progressLine(event, out.c)!);
    }
    showProgress();
  };

  let db: OpenDatabase | undefined;
  try {
    const extensions = await pgliteExtensions(url, migrations, ctx.string("extensions"));
    const waitMs = timeoutMs ?? WAIT_DEFAULT_MS;
    const connecting = new AbortController();
    const stopConnecting = deadline.onStop(() => connecting.abort());
    db = await deadline.race(openDatabase(url, {
      stop: connecting.signal,
      waitUntil: ctx.flag("wait") ? Date.now() + waitMs : undefined,
      onWait: (why) => out.info(`waiting for the database to accept connections (${why}); up to ${Math.round(waitMs / 1000)} s${timeoutMs === undefined ? " (--timeout sets it)" : ""}`),
      extensions,
      mustExist: options.existing,
    })).finally(stopConnecting);
    out.secrets.push(...db.secrets);
    out.debug(`database ${db.label}`);
    const migrator = new Migrator(db.db, {
      migrations,
      table: ctx.string("table"),
      schema: ctx.string("schema"),
      lockTimeoutMs,
      ...lockRetryOptions(ctx),
      onEvent,
      placeholders: placeholderValues(ctx, migrations),
    });
    const session: Session = {
      migrator,
      label: db.label,
      db,
      url,
      run: () => ({ signal: stop.signal, timeoutMs: deadline.remainingMs() }),
      race: (work) => deadline.race(work),
      expect(n, byHand = false) {
        total = n;
        done = 0;
        manual = byHand;
        showProgress();
        ticker ??= setInterval(showProgress, 1000);
        (ticker as { unref?: () => void }).unref?.();
      },
      tick() {
        done++;
        showProgress();
      },
      retries,
      batches,
    };
    return await fn(session);
  } catch (err) {
    if (signalName === undefined) throw err;
    const what = running
      ? `migration ${running.version} (${running.description}) was ${running.direction === "up" ? "rolled back" : "not rolled back: it is still applied"}`
      : "no migration was running";
    const stopped = new MigrationError(
      "ABORTED",
      `stopped by ${signalName}: ${what}; ${done} migration${done === 1 ? "" : "s"} completed before it`,
      { version: running?.version, cause: err },
    );
    throw Object.assign(stopped, { exitCode: 130 });
  } finally {
    if (ticker !== undefined) clearInterval(ticker);
    out.clearProgress();
    deadline.dispose();
    // A stopped run has cancelled its statements already: nothing left to wait for.
    if (db) await closeWithin(db, 5_000, deadline.stopped);
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
  }
}

/** For a `pglite:` URL, the bundled extensions to load: those the migrations create plus `--extensions a,b`. */
async function pgliteExtensions(url: string, migrations: readonly Migration[], list: string | undefined): Promise<Record<string, unknown> | undefined> {
  if (!/^pglite:/i.test(url)) return undefined;
  const { extensionsFor } = await import("../sources/extensions.ts");
  const extensions = await extensionsFor(migrations, (list ?? "").split(","));
  return Object.keys(extensions).length > 0 ? extensions : undefined;
}

/** Closes the database, but never hangs the exit on it (a cancelled query may still be running). */
async function closeWithin(db: OpenDatabase, ms: number, now: boolean): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    db.close({ now }).catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

/** One line on stderr per retry: what waited, for what, and when it is tried again. */
/** A `--verbose` line for one committed batch of a `-- orchwf:batch` statement. */
function batchLine(event: BatchEvent): string {
  return `migration ${event.version}, line ${event.line}: batch ${event.batch} changed ${event.rows} row${event.rows === 1 ? "" : "s"} (${event.totalRows} so far) in ${Math.round(event.durationMs)} ms`;
}

function retryLine(event: RetryEvent): string {
  const what = event.statement === undefined ? `migration ${event.version}` : `a statement of migration ${event.version}`;
  const undone = event.statement === undefined ? "its transaction rolled back" : "it changed nothing";
  return `${what} waited too long for a table lock (${event.reason.split("\n")[0]}): ${undone}; attempt ${event.attempt} of ${event.of} in ${(event.delayMs / 1000).toFixed(1)} s`;
}
