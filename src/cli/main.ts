/**
 * The `orchwf-migrate` program: commands, options, exit codes. Runs under Bun (`bun src/cli/main.ts`),
 * Deno (`deno run -A src/mod.ts`), Node (the npm bin, a bundle of this file) and as a single binary.
 * @module
 */
import process from "node:process";
import { cac } from "cac";
import { MigrationError } from "../core/errors.ts";
import { loadMigrations } from "../sources/load.ts";
import { parseFormat } from "../sources/detect.ts";
import { adoptForCli, cliExtensions, wantsAdopt } from "./baseline.ts";
import type { Migration } from "../core/migration.ts";
import { type MigrationEvent, Migrator } from "../migrator.ts";
import { redactSecrets } from "../core/redact.ts";
import { renderVerifyReport, VerifyError } from "../schema/verify.ts";
import { createMigration } from "./create.ts";
import { goStyleFlags, parseDuration, rawOption, usage } from "./options.ts";
import { palette, type Palette, planText, progressLine, statusTable, useColor } from "./render.ts";
import { chooseDatabase, type DbChoice, type OpenDatabase, openDatabase, releaseOnSignal, urlSecrets } from "./resolve-db.ts";
import { VERSION } from "./version.ts";
import { dryRunSteps, renderDryRun } from "./dry-run.ts"; // parser: validate, lint, up --lint, up --dry-run SQL
import { lintCommand, refuseLintErrors } from "./lint.ts";
import { type CommandOutput, validateCommand } from "./validate.ts";
import { driftCommand, repeatedOption } from "./drift.ts"; // schema commands: logic in their own files
import { dumpCommand } from "./dump.ts";
import { squashCommand } from "./squash.ts";

/** Exit codes of the CLI. */
export const EXIT = { ok: 0, failure: 1, usage: 2, pending: 3 } as const;

/** Where the CLI writes and what it reads from its environment. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  isTTY: boolean;
}

/** Everything a command needs: parsed global options, output, the chosen database. */
interface Context {
  argv: string[];
  io: CliIo;
  c: Palette;
  json: boolean;
  secrets: string[];
  startedAt: number;
  timeoutMs: number;
  // deno-lint-ignore no-explicit-any
  options: Record<string, any>;
}

const GLOBAL_OPTIONS: [string, string][] = [
  ["--db <url>", "Database URL: postgres://…, postgresql://…, pglite:PATH or pglite:memory (also -db)"],
  ["--dir <dir>", "Your migrations directory (VERSION_name.up.sql / .down.sql) instead of the built-in OrchWF schema"],
  ["--format <name>", "Format of --dir: golang-migrate, dbmate, goose, flyway, diesel, sqlx, node-pg-migrate (default: detected)"],
  ["--extensions <list>", "PGlite: bundled extensions to load, e.g. pg_trgm,ltree (default: those the migrations CREATE)"],
  ["--table <name>", "Version table (default orchwf_migrations)"],
  ["--schema <name>", "Schema of the version table and the migrations"],
  ["--lock-timeout <duration>", "How long to wait for the migration lock: ms or 10s (default 60s)"],
  ["--timeout <duration>", "Overall timeout: ms or 30s, 0 for none (default 30s)"],
  ["--wait", "Retry connecting while the database is starting, within --timeout"],
  ["--no-color", "No colours (also NO_COLOR=1, and whenever the output is not a terminal)"],
  ["--json", "Machine-readable output on stdout (status, up, down, redo)"],
  ["-v, --version", "Print the version"],
];

const ENVIRONMENT = [
  "  ORCHWF_DB_URL   database URL when --db is not given",
  "  DATABASE_URL    database URL when neither --db nor ORCHWF_DB_URL is given",
  "                  (none of them: the embedded PGlite database in ./.orchwf/pgdata)",
  "  NO_COLOR        no colours",
].join("\n");

const EXIT_CODES = [
  "  0  ok",
  "  1  failure (connection, SQL, drift, lock, timeout, ...)",
  "  2  usage: unknown command or option, bad arguments",
  "  3  migrations pending (status --exit-code)",
].join("\n");

/**
 * Runs the CLI on `args` (without the runtime and script) and returns the exit code.
 *
 * @example
 * ```ts
 * const code = await main(["status", "--db", "pglite:memory"]);
 * ```
 */
export async function main(args: readonly string[], rawIo: CliIo = processIo()): Promise<number> {
  const argv = goStyleFlags(args);
  // Everything printed goes through redaction: URL passwords, password= parameters, and the password itself.
  const secrets: string[] = [];
  const io: CliIo = {
    ...rawIo,
    stdout: (text) => rawIo.stdout(redactSecrets(text, secrets)),
    stderr: (text) => rawIo.stderr(redactSecrets(text, secrets)),
  };
  const cli = cac("orchwf-migrate");
  for (const [flag, text] of GLOBAL_OPTIONS) cli.option(flag, text);
  cli.help((sections) => [...sections, { title: "Environment", body: ENVIRONMENT }, { title: "Exit codes", body: EXIT_CODES }]);
  let action: ((ctx: Context) => Promise<number>) | undefined;
  const set = (fn: (ctx: Context) => Promise<number>) => () => {
    action = fn;
  };

  cli.command("up", "Apply pending migrations (alias: migrate)").alias("migrate")
    .option("--to <version>", "Apply up to and including this version")
    .option("--dry-run", "Show what would be applied, change nothing")
    .option("--allow-drift", "Apply even though applied migrations were modified since")
    .option("--lint", "Refuse, before anything runs, when lint finds an error in a pending migration")
    .option("--dump-schema <file>", "After a successful run, write the database's schema dump to this file (see dump)")
    .action(set(up));
  cli.command("down [n]", "Roll back the newest N applied migrations, default 1 (alias: rollback)").alias("rollback")
    .option("--to <version>", "Roll back every migration above this version")
    .option("--all", "Roll back every applied migration")
    .action(set(down));
  cli.command("redo", "Roll back the newest applied migration and apply it again").action(set(redo));
  cli.command("status", "Show every migration: applied, pending, modified, missing, failed")
    .option("--exit-code", "Exit with 3 when migrations are pending")
    .action(set(status));
  cli.command("verify", "Prove every migration reversible: up, down, compare the schema, up again (in-process PGlite unless --db)")
    .option("--force", "With --db: verify even though the database already has tables")
    .action(set(verify));
  cli.command("baseline", "Record every version up to --to as applied without running it (adopt an existing database)")
    .option("--to <version>", "The last version the database already has")
    .option("--from [tool]", "Adopt what another tool applied: golang-migrate, dbmate, goose, flyway, diesel, sqlx, node-pg-migrate (default: detected)")
    .option("--from-table <name>", "With --from: that tool's table, when renamed").option("--allow-gaps", "With --from: accept unapplied files between applied ones")
    .action(set(baseline));
  cli.command("resolve <version>", "Settle a failed no-transaction migration once you repaired the database by hand")
    .option("--applied", "It is complete now: record it as applied")
    .option("--rolled-back", "It is undone now: forget it, so that up runs it again")
    .action(set(resolve));
  cli.command("drift", "Compare the live schema with what its applied migrations make (and their checksums); exit 1 on drift")
    .option("--scratch <url>", "Replay the migrations on a throwaway database made on this server instead of PGlite")
    .option("--ignore <pattern>", "Leave out objects owned by others: a glob on names (audit.*), or kind:glob (repeatable)")
    .action(set(drift));
  cli.command("dump", "Write the schema as an executable SQL file, from the database (--from live) or a replay of the files")
    .option("--out <file>", "Write to this file instead of stdout")
    .option("--from <source>", "live or files (default: live when a database is named, else files)")
    .option("--scratch <url>", "With --from files: replay on a throwaway database made on this server instead of PGlite")
    .action(set(dump));
  cli.command("squash", "Replace every migration up to --to with one baseline made from their dump (in --dir, or into --out)")
    .option("--to <version>", "The last version to squash; the baseline keeps this version")
    .option("--out <dir>", "Write the squashed set to this new directory instead of changing --dir in place")
    .option("--scratch <url>", "Replay on a throwaway database made on this server instead of PGlite")
    .action(set(squash));
  cli.command("create <name>", "Write the next VERSION_name.up.sql / .down.sql pair into --dir (default ./migrations)")
    .action(set(create));
  cli.command("validate", "Parse and check every migration with PostgreSQL's grammar, without a database (exit 1 on a problem)")
    .action(set((ctx) => run(ctx, async () => emit(ctx, await validateCommand(rawOption(ctx.argv, "dir"))))));
  cli.command("lint", "Find dangerous operations (locks, rewrites, data loss) in the migrations (exit 1 on an error)")
    .action(set((ctx) => run(ctx, async () => emit(ctx, await lintCommand(rawOption(ctx.argv, "dir"))))));
  cli.command("help", "Show this help").action(set(() => {
    cli.unsetMatchedCommand();
    cli.outputHelp();
    return Promise.resolve(EXIT.ok);
  }));
  cli.example("orchwf-migrate up --db postgres://app@localhost:5432/app");
  cli.example("orchwf-migrate status --json --db pglite:./data");

  const json = argv.includes("--json");
  try {
    cli.parse(["orchwf", "orchwf-migrate", ...argv], { run: false });
    if (cli.options.help) return EXIT.ok; // cac printed it
    if (cli.options.version) {
      io.stdout(`orchwf-migrate ${VERSION}\n`);
      return EXIT.ok;
    }
    if (!cli.matchedCommand) {
      if (cli.args.length > 0) throw usage(`unknown command ${JSON.stringify(cli.args[0])}; run orchwf-migrate help`);
      cli.outputHelp();
      return EXIT.usage;
    }
    cli.runMatchedCommand(); // validates options and arguments, then records the action
    const options = cli.options;
    const ctx: Context = {
      argv,
      io,
      c: palette(useColor({ isTTY: io.isTTY, env: io.env, flag: options.color !== false })),
      json,
      secrets,
      startedAt: Date.now(),
      timeoutMs: options.timeout === undefined ? 30_000 : parseDuration(rawOption(argv, "timeout") ?? options.timeout, "--timeout"),
      options: { ...options, n: cli.args[0] },
    };
    return await action!(ctx);
  } catch (err) {
    return reportError(err, io, json, secrets);
  }
}

/** Prints an error (passwords masked) and returns its exit code. */
function reportError(err: unknown, io: CliIo, json: boolean, secrets: string[]): number {
  const isUsage = (err as Error)?.name === "CACError" || (err instanceof MigrationError && err.code === "USAGE");
  const code = err instanceof MigrationError ? err.code : isUsage ? "USAGE" : "ERROR";
  const message = redactSecrets(err instanceof Error ? err.message : String(err), secrets);
  io.stderr(`error: ${message}\n`);
  if (isUsage) io.stderr("run orchwf-migrate help for the commands and options\n");
  if (json) io.stdout(`${JSON.stringify({ error: { code: isUsage ? "USAGE" : code, message } })}\n`);
  return isUsage ? EXIT.usage : EXIT.failure;
}

function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    isTTY: Boolean(process.stdout.isTTY),
  };
}

/** Opens the database, builds the Migrator, runs `fn`, closes; all within the overall timeout. */
async function withMigrator<T>(
  ctx: Context,
  fn: (migrator: Migrator, db: OpenDatabase) => Promise<T>,
  choice: DbChoice = chooseDatabase(rawOption(ctx.argv, "db"), ctx.io.env),
): Promise<T> {
  const migrations = await loadUserMigrations(ctx);
  ctx.secrets.push(...passwordOf(choice.url));
  if (choice.source === "default") {
    ctx.io.stderr(`no --db, ORCHWF_DB_URL or DATABASE_URL: using the embedded PGlite database in ./.orchwf/pgdata\n`);
  }
  const deadline = ctx.timeoutMs > 0 ? ctx.startedAt + ctx.timeoutMs : undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    if (deadline === undefined) return;
    timer = setTimeout(
      () => reject(new MigrationError("TIMEOUT", `timed out after ${ctx.timeoutMs} ms (--timeout)`)),
      Math.max(1, deadline - Date.now()),
    );
  });
  let db: OpenDatabase | undefined;
  let unhook: (() => void) | undefined;
  try {
    const lockTimeout = rawOption(ctx.argv, "lock-timeout");
    return await Promise.race([
      timeout,
      (async () => {
        db = await openDatabase(choice.url, {
          waitUntil: ctx.options.wait ? deadline ?? Number.POSITIVE_INFINITY : undefined,
          extensions: await cliExtensions(choice.url, migrations, ctx.argv),
        });
        ctx.secrets.push(...(db as OpenDatabase).secrets);
        unhook = releaseOnSignal(db.close);
        const migrator = new Migrator(db.db, {
          migrations,
          table: rawOption(ctx.argv, "table"),
          schema: rawOption(ctx.argv, "schema"),
          lockTimeoutMs: lockTimeout === undefined ? undefined : parseDuration(lockTimeout, "--lock-timeout"),
          onEvent: (event) => onEvent(ctx, event),
        });
        return await fn(migrator, db);
      })(),
    ]);
  } finally {
    clearTimeout(timer);
    unhook?.();
    const open = db as OpenDatabase | undefined;
    if (open) await closeWithin(open, 5_000);
  }
}

/** The URL's password (decoded and as written), to mask wherever a driver might quote it. */
function passwordOf(url: string): string[] {
  return urlSecrets(url); // found without parsing: a password with an unencoded "/" or space is masked too
}

/** Closes the database, but never hangs the exit on it (a timed-out query may still be running). */
async function closeWithin(db: OpenDatabase, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    db.close().catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

async function loadUserMigrations(ctx: Context): Promise<Migration[] | undefined> {
  const dir = rawOption(ctx.argv, "dir");
  return dir === undefined ? undefined : await loadMigrations(dir, { format: parseFormat(rawOption(ctx.argv, "format")) });
}

function onEvent(ctx: Context, event: MigrationEvent): void {
  if (ctx.json) {
    if (event.type === "warning") ctx.io.stderr(`warning: ${redactSecrets(event.message, ctx.secrets)}\n`);
    return;
  }
  const line = progressLine(event, ctx.c);
  if (line === undefined) return;
  if (event.type === "warning") ctx.io.stderr(`${redactSecrets(line, ctx.secrets)}\n`);
  else ctx.io.stdout(`${line}\n`);
}

/** Time left for the Migrator's own timeout. */
function remaining(ctx: Context): number | undefined {
  return ctx.timeoutMs > 0 ? Math.max(1, ctx.startedAt + ctx.timeoutMs - Date.now()) : undefined;
}

function printJson(ctx: Context, value: unknown): void {
  ctx.io.stdout(`${JSON.stringify(value, null, 2)}\n`);
}

async function run(ctx: Context, fn: () => Promise<number>): Promise<number> {
  try {
    return await fn();
  } catch (err) {
    return reportError(err, ctx.io, ctx.json, ctx.secrets);
  }
}

function up(ctx: Context): Promise<number> {
  const to = rawOption(ctx.argv, "to");
  return run(ctx, () =>
    withMigrator(ctx, async (migrator, db) => {
      const warnings = await refuseLintErrors(migrator, rawOption(ctx.argv, "dir"), to, Boolean(ctx.options.lint)); // parser
      if (warnings !== undefined) ctx.io.stderr(`${warnings}\n`);
      if (ctx.options.dryRun) {
        const plan = await migrator.plan({ to });
        const lockTimeout = rawOption(ctx.argv, "lock-timeout");
        const steps = await dryRunSteps(plan, migrator.migrations, { // parser: the SQL, bookkeeping marked
          table: rawOption(ctx.argv, "table"),
          schema: rawOption(ctx.argv, "schema"),
          lockTimeoutMs: lockTimeout === undefined ? undefined : parseDuration(lockTimeout, "--lock-timeout"),
        });
        if (ctx.json) printJson(ctx, { database: db.label, dryRun: true, ...plan, steps });
        else ctx.io.stdout(`${planText(plan, ctx.c)}\n${steps.length > 0 ? `\n${renderDryRun(steps)}\n` : ""}`);
        return EXIT.ok;
      }
      const { applied } = await migrator.migrate({ to, allowDrift: Boolean(ctx.options.allowDrift), timeoutMs: remaining(ctx) });
      const { current } = await migrator.status();
      const dumpTo = rawOption(ctx.argv, "dump-schema");
      if (dumpTo !== undefined) await dumpAfterUp(ctx, db, dumpTo);
      if (ctx.json) printJson(ctx, { database: db.label, applied, current });
      else if (applied.length === 0) ctx.io.stdout(ctx.c.green(`nothing to apply: the database is up to date (version ${current ?? "none"})\n`));
      else ctx.io.stdout(`${applied.length} migration${applied.length === 1 ? "" : "s"} applied; current version ${current}\n`);
      return EXIT.ok;
    }));
}

function down(ctx: Context): Promise<number> {
  return run(ctx, async () => {
    const to = rawOption(ctx.argv, "to");
    const n = ctx.options.n;
    if ([to !== undefined, Boolean(ctx.options.all), n !== undefined].filter(Boolean).length > 1) {
      throw usage("down takes one of N, --to VERSION or --all");
    }
    if (n !== undefined && !/^[1-9]\d*$/.test(String(n))) throw usage(`down N expects a positive number of steps; got ${JSON.stringify(String(n))}`);
    return await withMigrator(ctx, async (migrator, db) => {
      const { rolledBack } = await migrator.rollback({
        steps: n === undefined ? 1 : Number(n),
        to: ctx.options.all ? "0" : to,
        timeoutMs: remaining(ctx),
      });
      const { current } = await migrator.status();
      if (ctx.json) printJson(ctx, { database: db.label, rolledBack, current });
      else if (rolledBack.length === 0) ctx.io.stdout("nothing to roll back\n");
      else ctx.io.stdout(`${rolledBack.length} migration${rolledBack.length === 1 ? "" : "s"} rolled back; current version ${current ?? "none"}\n`);
      return EXIT.ok;
    });
  });
}

function redo(ctx: Context): Promise<number> {
  return run(ctx, () =>
    withMigrator(ctx, async (migrator, db) => {
      const { rolledBack } = await migrator.rollback({ steps: 1, timeoutMs: remaining(ctx) });
      const applied = rolledBack.length === 0
        ? []
        : (await migrator.migrate({ to: rolledBack[0].version, timeoutMs: remaining(ctx) })).applied;
      const { current } = await migrator.status();
      if (ctx.json) printJson(ctx, { database: db.label, rolledBack, applied, current });
      else if (rolledBack.length === 0) ctx.io.stdout("nothing to redo: no migration is applied\n");
      else ctx.io.stdout(`redone ${rolledBack[0].version}; current version ${current}\n`);
      return EXIT.ok;
    }));
}

function status(ctx: Context): Promise<number> {
  return run(ctx, () =>
    withMigrator(ctx, async (migrator, db) => {
      const report = await migrator.status();
      if (ctx.json) printJson(ctx, { database: db.label, ...report });
      else ctx.io.stdout(`${statusTable(report, db.label, ctx.c)}\n`);
      return ctx.options.exitCode && report.pending > 0 ? EXIT.pending : EXIT.ok;
    }));
}

function verify(ctx: Context): Promise<number> {
  // Never a real database by default: without --db, a throwaway in-memory PGlite (not ORCHWF_DB_URL/DATABASE_URL).
  const flag = rawOption(ctx.argv, "db");
  const choice: DbChoice = { url: flag ?? "pglite:memory", source: "--db" };
  return run(ctx, () =>
    withMigrator(ctx, async (migrator, db) => {
      try {
        const report = await migrator.verify({ force: Boolean(ctx.options.force) });
        if (ctx.json) printJson(ctx, { ...report, database: db.label });
        else ctx.io.stdout(`${renderVerifyReport(report)}\n`);
        return EXIT.ok;
      } catch (err) {
        if (!(err instanceof VerifyError)) throw err;
        if (ctx.json) printJson(ctx, { ...err.report, database: db.label, error: { code: err.code, message: err.message } });
        else ctx.io.stdout(`${renderVerifyReport(err.report)}\n`);
        ctx.io.stderr(`error: ${redactSecrets(err.message, ctx.secrets)}\n`);
        return EXIT.failure;
      }
    }, choice));
}

function baseline(ctx: Context): Promise<number> {
  return run(ctx, async () => {
    const to = rawOption(ctx.argv, "to");
    if (to === undefined && !wantsAdopt(ctx.argv)) throw usage("baseline needs --to VERSION (the last version the database already has) or --from TOOL");
    return await withMigrator(ctx, async (migrator, db) => {
      if (to === undefined) { // --from: the other tool's history (src/cli/baseline.ts)
        const out = await adoptForCli(migrator, db.db, ctx.argv, remaining(ctx));
        if (ctx.json) printJson(ctx, { database: db.label, ...out.json });
        else ctx.io.stdout(out.text);
        return EXIT.ok;
      }
      const { baselined } = await migrator.baseline({ to, timeoutMs: remaining(ctx) });
      if (ctx.json) printJson(ctx, { database: db.label, baselined });
      else if (baselined.length === 0) ctx.io.stdout(`nothing to baseline: every version up to ${to} is recorded already\n`);
      else for (const b of baselined) ctx.io.stdout(`baselined ${b.version} ${b.description} (recorded as applied, not run)\n`);
      return EXIT.ok;
    });
  });
}

function resolve(ctx: Context): Promise<number> {
  return run(ctx, async () => {
    const version = rawPositional(ctx.argv, "resolve") ?? String(ctx.options.n);
    const applied = Boolean(ctx.options.applied);
    if (applied === Boolean(ctx.options.rolledBack)) throw usage("resolve VERSION takes exactly one of --applied or --rolled-back");
    const outcome = applied ? "applied" : "rolled-back";
    return await withMigrator(ctx, async (migrator, db) => {
      await migrator.resolve(version, outcome, { timeoutMs: remaining(ctx) });
      if (ctx.json) printJson(ctx, { database: db.label, resolved: version, outcome });
      else ctx.io.stdout(`resolved ${version} as ${outcome}\n`);
      return EXIT.ok;
    });
  });
}

function create(ctx: Context): Promise<number> {
  return run(ctx, () => {
    const name = rawPositional(ctx.argv, "create") ?? String(ctx.options.n);
    const created = createMigration(rawOption(ctx.argv, "dir") ?? "migrations", name);
    if (ctx.json) printJson(ctx, created);
    else ctx.io.stdout(`created ${created.up}\ncreated ${created.down}\n`);
    return Promise.resolve(EXIT.ok);
  });
}

// drift, dump, squash: their logic is in ./drift.ts, ./dump.ts, ./squash.ts; here only options in, output out.
function emit(ctx: Context, out: CommandOutput): number {
  if (ctx.json) printJson(ctx, out.json);
  else ctx.io.stdout(out.text.endsWith("\n") ? out.text : `${out.text}\n`);
  return out.exit;
}

/** drift, dump and squash replay the whole history: no overall timeout unless --timeout is given. */
function noDefaultTimeout(ctx: Context): Context {
  return rawOption(ctx.argv, "timeout") === undefined ? { ...ctx, timeoutMs: 0 } : ctx;
}

function schemaOptions(ctx: Context) {
  const scratch = rawOption(ctx.argv, "scratch");
  if (scratch !== undefined) ctx.secrets.push(...passwordOf(scratch));
  const lockTimeout = rawOption(ctx.argv, "lock-timeout");
  return {
    table: rawOption(ctx.argv, "table"),
    schema: rawOption(ctx.argv, "schema"),
    scratch,
    lockTimeoutMs: lockTimeout === undefined ? undefined : parseDuration(lockTimeout, "--lock-timeout"),
  };
}

function drift(context: Context): Promise<number> {
  const ctx = noDefaultTimeout(context);
  return run(ctx, () =>
    withMigrator(ctx, async (migrator, db) =>
      emit(ctx, await driftCommand(db.db, migrator.migrations, { ...schemaOptions(ctx), label: db.label, ignore: repeatedOption(ctx.argv, "ignore") }))));
}

function dump(context: Context): Promise<number> {
  const ctx = noDefaultTimeout(context);
  return run(ctx, async () => {
    const choice = chooseDatabase(rawOption(ctx.argv, "db"), ctx.io.env);
    const from = rawOption(ctx.argv, "from") ?? (choice.source === "default" ? "files" : "live");
    if (from !== "live" && from !== "files") throw usage(`--from expects live or files; got ${JSON.stringify(from)}`);
    const options = { ...schemaOptions(ctx), from, out: rawOption(ctx.argv, "out") } as const;
    if (from === "files") return emit(ctx, await dumpCommand(undefined, await loadUserMigrations(ctx), { ...options, label: null }));
    return await withMigrator(ctx, async (_migrator, db) => emit(ctx, await dumpCommand(db.db, undefined, { ...options, label: db.label, url: choice.url })));
  });
}

function squash(context: Context): Promise<number> {
  const ctx = noDefaultTimeout(context);
  return run(ctx, async () => {
    const options = { ...schemaOptions(ctx), to: rawOption(ctx.argv, "to"), out: rawOption(ctx.argv, "out"), dir: rawOption(ctx.argv, "dir") };
    return emit(ctx, await squashCommand(await loadUserMigrations(ctx), options));
  });
}

async function dumpAfterUp(ctx: Context, db: OpenDatabase, out: string): Promise<void> {
  const url = chooseDatabase(rawOption(ctx.argv, "db"), ctx.io.env).url;
  const result = await dumpCommand(db.db, undefined, { ...schemaOptions(ctx), from: "live", label: db.label, url, out });
  ctx.io.stderr(result.text);
}

/** The argument after `command` as typed (cac would turn "2024" or "001" into a number). */
function rawPositional(argv: readonly string[], command: string): string | undefined {
  const i = argv.indexOf(command);
  return i >= 0 && i + 1 < argv.length && !argv[i + 1].startsWith("-") ? argv[i + 1] : undefined;
}

let started = false;

/**
 * Runs the CLI on this process's arguments and exits with its code. Runs once, however many entry points
 * import it.
 *
 * @example
 * ```ts
 * import { runCli } from "./main.ts";
 * await runCli();
 * ```
 */
export async function runCli(): Promise<void> {
  if (started) return;
  started = true;
  const code = await main(process.argv.slice(2));
  process.exit(code);
}

if ((import.meta as { main?: boolean }).main) await runCli();
