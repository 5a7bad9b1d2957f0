/**
 * The command table: names, options, help text and a lazy loader per command. main.ts parses against it and
 * runs the entry; a command's code (and what it imports: the Migrator, postgres.js, PGlite) loads only when it runs.
 * To add a command, add one entry here and its file in ./commands/.
 * @module
 */
import type { OptionSpec } from "./args.ts";
import type { CommandSpec } from "./context.ts";

/** Options of every command; each can also come from its environment variable. */
export const GLOBAL_OPTIONS: readonly OptionSpec[] = [
  { name: "db", value: "URL", env: ["ORCHWF_DB_URL", "DATABASE_URL"], help: "postgres://…, pglite:PATH or pglite:memory (also -db)" },
  { name: "dir", value: "DIR", env: ["ORCHWF_MIGRATIONS_DIR"], help: "your migrations instead of the built-in OrchWF schema" },
  { name: "with-orchwf", env: ["ORCHWF_WITH_ORCHWF"], help: "with --dir: the built-in OrchWF schema too, first" },
  { name: "table", value: "NAME", env: ["ORCHWF_TABLE"], help: "version table (default orchwf_migrations)" },
  { name: "schema", value: "NAME", env: ["ORCHWF_SCHEMA"], help: "schema of the version table and the migrations" },
  { name: "lock-timeout", value: "DURATION", env: ["ORCHWF_LOCK_TIMEOUT"], help: "wait for the migration lock at most this long (default 60s)" },
  { name: "timeout", value: "DURATION", env: ["ORCHWF_TIMEOUT"], help: "overall time limit (default none)" },
  { name: "wait", env: ["ORCHWF_WAIT"], help: "retry connecting while the database is starting" },
  { name: "strict", env: ["ORCHWF_STRICT"], help: "refuse out-of-order versions instead of warning" },
  { name: "env-file", value: "FILE", env: ["ORCHWF_ENV_FILE"], help: "read variables from FILE (default ./.env if it exists)" },
  { name: "no-env-file", help: "read no .env file" },
  { name: "json", help: "machine-readable output on stdout" },
  { name: "quiet", short: "q", help: "print only results, warnings and errors" },
  { name: "verbose", help: "also print where each setting came from" },
  { name: "no-color", help: "no colours (also NO_COLOR; FORCE_COLOR forces them)" },
  { name: "help", short: "h", help: "show help" },
  { name: "version", short: "v", help: "print the version" },
];

const TO: OptionSpec = { name: "to", value: "V", help: "" };

/** Every command, in the order `help` lists them. */
export const COMMANDS: readonly CommandSpec[] = [
  {
    name: "up",
    aliases: ["migrate"],
    summary: "Apply pending migrations (alias: migrate)",
    description:
      "Applies pending migrations in version order, each in its own transaction with its version-table row. " +
      "Refuses while an applied migration's file changed (drift), unless --allow-drift. A version lower than the " +
      "newest applied one (out of order, e.g. after merging branches) is applied with a warning; --strict refuses.",
    options: [
      { ...TO, help: "apply up to and including version V" },
      { name: "dry-run", help: "show what would be applied, change nothing" },
      { name: "allow-drift", help: "apply even though applied migrations were modified since" },
    ],
    examples: ["orchwf-migrate up --db postgres://app@localhost:5432/app", "orchwf-migrate up --dir ./migrations --to 005 --dry-run"],
    load: () => import("./commands/up.ts"),
  },
  {
    name: "down",
    aliases: ["rollback"],
    args: "[N]",
    maxArgs: 1,
    summary: "Roll back the newest N applied migrations, default 1 (alias: rollback)",
    description: "Rolls back applied migrations, newest first, each in its own transaction. Checks first that every one has a down script.",
    options: [
      { ...TO, help: "roll back every migration above version V" },
      { name: "all", help: "roll back every applied migration" },
    ],
    examples: ["orchwf-migrate down", "orchwf-migrate down 2 --db pglite:./.orchwf/pgdata", "orchwf-migrate down --to 003"],
    load: () => import("./commands/down.ts"),
  },
  {
    name: "redo",
    summary: "Roll back the newest applied migration and apply it again",
    description: "down 1, then up to that same version: for iterating on the newest migration.",
    options: [],
    examples: ["orchwf-migrate redo --dir ./migrations"],
    load: () => import("./commands/redo.ts"),
  },
  {
    name: "status",
    summary: "Show every migration: applied, pending, modified, missing, failed",
    description:
      "One line per version with its state and when it was applied; names out-of-order pending versions. Read-only: " +
      "never creates the version table.",
    options: [{ name: "exit-code", help: "exit 3 when migrations are pending" }],
    examples: ["orchwf-migrate status", "orchwf-migrate status --json --exit-code"],
    load: () => import("./commands/status.ts"),
  },
  {
    name: "verify",
    summary: "Prove every migration reversible (in-process PGlite unless --db)",
    description:
      "For every version: up, snapshot the schema, down, compare with the schema before, up again. Runs on a throwaway " +
      "in-memory PGlite unless --db is given (never on ORCHWF_DB_URL or DATABASE_URL); a --db database with tables is " +
      "refused unless --force.",
    options: [{ name: "force", help: "with --db: verify even though the database already has tables" }],
    examples: ["orchwf-migrate verify --dir ./migrations", "orchwf-migrate verify --dir ./migrations --json"],
    load: () => import("./commands/verify.ts"),
  },
  {
    name: "baseline",
    summary: "Record versions up to --to as applied without running them",
    description: "Adopts a database whose schema exists already (made by another tool): every version up to and including V is recorded as applied, not run.",
    options: [{ ...TO, help: "the last version the database already has (required)" }],
    examples: ["orchwf-migrate baseline --to 003 --dir ./db/migrations"],
    load: () => import("./commands/baseline.ts"),
  },
  {
    name: "resolve",
    args: "<version>",
    maxArgs: 1,
    summary: "Settle a failed no-transaction migration after a repair by hand",
    description:
      "A no-transaction migration that stopped part way is marked failed and blocks up. Once you repaired the database, " +
      "--applied records it as done, --rolled-back forgets it so that up runs it again.",
    options: [
      { name: "applied", help: "it is complete now: record it as applied" },
      { name: "rolled-back", help: "it is undone now: forget it, so that up runs it again" },
    ],
    examples: ["orchwf-migrate resolve 005 --rolled-back"],
    load: () => import("./commands/resolve.ts"),
  },
  {
    name: "create",
    args: "<name>",
    maxArgs: 1,
    summary: "Write the next VERSION_name.up.sql / .down.sql pair into --dir",
    description:
      "Writes the next pair of files into the migrations directory (--dir or ORCHWF_MIGRATIONS_DIR, the one up reads): " +
      "the version after the highest one there (and after the built-ins with --with-orchwf), as wide as the existing " +
      "ones, or a UTC timestamp with --timestamp. Never overwrites a file.",
    options: [{ name: "timestamp", env: ["ORCHWF_TIMESTAMP"], help: "version as a UTC timestamp (YYYYMMDDHHMMSS)" }],
    examples: ["orchwf-migrate create add_users --dir ./migrations", "ORCHWF_MIGRATIONS_DIR=db orchwf-migrate create add_index --timestamp"],
    load: () => import("./commands/create.ts"),
  },
  {
    name: "completion",
    args: "<shell>",
    maxArgs: 1,
    summary: "Print a completion script for bash, zsh or fish",
    description: "Prints a shell completion script for the commands and options; load it from your shell's start-up file.",
    options: [],
    examples: ['eval "$(orchwf-migrate completion bash)"', "orchwf-migrate completion fish > ~/.config/fish/completions/orchwf-migrate.fish"],
    load: () => import("./commands/completion.ts"),
  },
  {
    name: "help",
    args: "[command]",
    maxArgs: 1,
    summary: "Show this help, or a command's options and examples",
    description: "Without a command: every command and option. With one: its description, options and examples.",
    options: [],
    examples: ["orchwf-migrate help up"],
    load: () => import("./commands/help.ts"),
  },
];

/**
 * The command called `name` or one of its aliases.
 *
 * @example
 * ```ts
 * findCommand("migrate")?.name; // "up"
 * ```
 */
export function findCommand(name: string | undefined): CommandSpec | undefined {
  return name === undefined ? undefined : COMMANDS.find((c) => c.name === name || c.aliases?.includes(name));
}

/**
 * The options valid for a command: its own, then the global ones.
 *
 * @example
 * ```ts
 * optionsFor("status").map((o) => o.name); // ["exit-code", "db", ...]
 * ```
 */
export function optionsFor(name: string | undefined): readonly OptionSpec[] {
  return [...(findCommand(name)?.options ?? []), ...GLOBAL_OPTIONS];
}
