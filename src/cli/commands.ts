/**
 * The command table: names, options, help text and a lazy loader per command. main.ts parses against it and
 * runs the entry; a command's code (and what it imports: the Migrator, postgres.js, PGlite) loads only when it runs.
 * To add a command, add one entry here and its file in ./commands/.
 * @module
 */
import type { CommandSpec, OptionSpec } from "./context.ts";

/** Options of every command; each can also come from its environment variable. */
export const GLOBAL_OPTIONS: readonly OptionSpec[] = [
  { name: "db", value: "URL", env: ["ORCHWF_DB_URL", "DATABASE_URL"], help: "postgres://…, pglite:PATH or pglite:memory (also -db)" },
  { name: "dir", value: "DIR", env: ["ORCHWF_MIGRATIONS_DIR"], help: "your migrations instead of the built-in OrchWF schema" },
  { name: "with-orchwf", env: ["ORCHWF_WITH_ORCHWF"], help: "with --dir: the built-in OrchWF schema too, first" },
  {
    name: "format",
    value: "NAME",
    env: ["ORCHWF_FORMAT"],
    help: "format of --dir: golang-migrate, dbmate, goose, flyway, diesel, sqlx, node-pg-migrate (default: detected); of lint's, validate's, verify's report: sarif, junit, github",
  },
  { name: "extensions", value: "LIST", env: ["ORCHWF_EXTENSIONS"], help: "PGlite: bundled extensions to load, e.g. pg_trgm,ltree (default: those the migrations create)" },
  { name: "table", value: "NAME", env: ["ORCHWF_TABLE"], help: "version table (default orchwf_migrations)" },
  { name: "schema", value: "NAME", env: ["ORCHWF_SCHEMA"], help: "schema of the version table and the migrations" },
  { name: "lock-timeout", value: "DURATION", env: ["ORCHWF_LOCK_TIMEOUT"], help: "wait for the migration lock (another run) at most this long (default 60s)" },
  {
    name: "ddl-lock-timeout",
    value: "DURATION",
    env: ["ORCHWF_DDL_LOCK_TIMEOUT"],
    help: "a migration's statement waits for a table lock at most this long, then the migration is retried (default 2s; 0: as --lock-timeout)",
  },
  { name: "lock-retries", value: "N", env: ["ORCHWF_LOCK_RETRIES"], help: "retries of a migration whose statement's lock wait timed out (default 10)" },
  { name: "timeout", value: "DURATION", env: ["ORCHWF_TIMEOUT"], help: "overall time limit (default none)" },
  { name: "wait", env: ["ORCHWF_WAIT"], help: "retry connecting while the database is starting (up to --timeout, else 60 s)" },
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

/** The options of a database connection, refused by the commands that work on the files alone. */
const NO_DATABASE = ["db", "wait", "strict"] as const;

const TO: OptionSpec = { name: "to", value: "V", help: "" };

/** `--var NAME=VALUE`: a placeholder's value, for the commands that run migrations. */
/** A fleet run: the command once per database of a file, or per tenant schema (src/cli/fleet.ts). */
const FLEET: readonly OptionSpec[] = [
  { name: "targets", value: "FILE", help: "run on every database URL of FILE (one per line, # comments, ${VAR} from the environment; - reads stdin)" },
  { name: "schemas", value: "PATTERN", help: "run on every schema of the database matching a LIKE PATTERN (tenant_%) or a list (a,b,c), each its own target" },
  { name: "concurrency", value: "N", help: "fleet: targets at once (default 4)" },
  { name: "canary", value: "N", help: "fleet: the first N targets first; if one fails, no other is touched" },
  { name: "continue-on-error", help: "fleet: go on with the other targets after a failure" },
];

const VAR: OptionSpec = { name: "var", value: "NAME=VALUE", help: "value of the ${NAME} placeholder in migrations (repeatable; also ORCHWF_VAR_NAME)" };

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
      ...FLEET,
      { ...TO, help: "apply up to and including version V" },
      { name: "dry-run", help: "show what would be applied, change nothing" },
      { name: "allow-drift", help: "apply even though applied migrations were modified since" },
      { name: "lint", help: "refuse, before anything runs, when lint finds an error in a pending migration" },
      { name: "dump-schema", value: "FILE", help: "after a successful run, write the database's schema dump to FILE" },
      VAR,
    ],
    examples: [
      "orchwf-migrate up --db postgres://app@localhost:5432/app",
      "orchwf-migrate up --dir ./migrations --to 005 --dry-run",
      "orchwf-migrate up --dir ./migrations --var reader_role=app_ro",
    ],
    load: () => import("./commands/up.ts"),
  },
  {
    name: "down",
    aliases: ["rollback"],
    args: "[N]",
    maxArgs: 1,
    summary: "Roll back the newest N applied migrations, default 1 (alias: rollback)",
    description:
      "Rolls back applied migrations, newest first, each in its own transaction. Checks first that every one has a down " +
      "script and that its up file is the one that was applied (drift), unless --allow-drift.",
    options: [
      ...FLEET,
      { ...TO, help: "roll back every migration above version V" },
      { name: "all", help: "roll back every applied migration" },
      { name: "allow-drift", help: "roll back even a migration whose up file changed since it was applied" },
      VAR,
    ],
    examples: ["orchwf-migrate down", "orchwf-migrate down 2 --db pglite:./.orchwf/pgdata", "orchwf-migrate down --to 003"],
    load: () => import("./commands/down.ts"),
  },
  {
    name: "redo",
    summary: "Roll back the newest applied migration and apply it again",
    description: "down 1, then up to that same version: for iterating on the newest migration. Refuses when its up file changed since it was applied, unless --allow-drift.",
    options: [{ name: "allow-drift", help: "redo even though its up file changed since it was applied" }, VAR],
    examples: ["orchwf-migrate redo --dir ./migrations"],
    load: () => import("./commands/redo.ts"),
  },
  {
    name: "status",
    summary: "Show every migration: applied, pending, modified, missing, failed",
    description:
      "One line per version with its state and when it was applied; names out-of-order pending versions. Read-only: " +
      "never creates the version table.",
    options: [...FLEET, { name: "exit-code", help: "exit 3 when migrations are pending" }],
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
    options: [...FLEET, { name: "force", help: "with --db: verify even though the database already has tables" }, VAR],
    examples: ["orchwf-migrate verify --dir ./migrations", "orchwf-migrate verify --dir ./migrations --format junit > verify.xml"],
    load: () => import("./commands/verify.ts"),
  },
  {
    name: "baseline",
    summary: "Record versions as applied without running them (--to V, or --from TOOL)",
    description:
      "Adopts a database whose schema exists already: with --to, every version up to and including V is recorded as " +
      "applied, not run; with --from, exactly the versions another tool (golang-migrate, dbmate, goose, flyway, diesel, " +
      "sqlx, node-pg-migrate; detected when no name is given) recorded in its own table, checked against the files. " +
      "The other tool's table is only read.",
    options: [
      { ...TO, help: "the last version the database already has" },
      { name: "from", value: "TOOL", optionalValue: true, help: "adopt the versions this tool recorded (default: detected)" },
      { name: "from-table", value: "NAME", help: "with --from: that tool's table, when renamed" },
      { name: "allow-gaps", help: "with --from: accept unapplied files between applied ones" },
    ],
    examples: ["orchwf-migrate baseline --to 003 --dir ./db/migrations", "orchwf-migrate baseline --from dbmate --dir ./db/migrations"],
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
    name: "validate",
    without: NO_DATABASE,
    summary: "Parse and check every migration with PostgreSQL's grammar, without a database",
    description:
      "Parses every up and down script with PostgreSQL's own parser and reports syntax errors, psql meta-commands, " +
      "transaction control and statements that cannot run in a transaction, each at file:line:column; exit 1 on a problem.",
    options: [],
    examples: ["orchwf-migrate validate --dir ./migrations", "orchwf-migrate validate --dir ./migrations --format sarif > validate.sarif"],
    load: () => import("./commands/validate.ts"),
  },
  {
    name: "lint",
    without: NO_DATABASE,
    summary: "Find dangerous operations (long locks, rewrites, data loss) in the migrations",
    description:
      "Checks the migrations against rules for operations that hurt a live database; each finding names its rule, " +
      "file:line:column, why it hurts and the safe way. Exit 1 on an error finding. See README, Lint rules.",
    options: [],
    examples: ["orchwf-migrate lint --dir ./migrations", "orchwf-migrate lint --dir ./migrations --format github", "orchwf-migrate lint --dir ./migrations --format sarif > lint.sarif"],
    load: () => import("./commands/lint.ts"),
  },
  {
    name: "drift",
    summary: "Compare the live schema with what its applied migrations make; exit 1 on drift",
    description:
      "Replays the versions recorded in the database's version table on a throwaway PGlite (or a database made on the " +
      "--scratch server), snapshots both, and reports every missing, extra or changed object, beside applied files " +
      "whose checksum changed. Read-only on the live database.",
    options: [
      ...FLEET,
      { name: "scratch", value: "URL", help: "replay on a throwaway database made on this server instead of PGlite" },
      { name: "ignore", value: "PATTERN", help: "leave out matching objects (repeatable), e.g. audit.* or index:public.tmp_*" },
      VAR,
    ],
    examples: ["orchwf-migrate drift --db postgres://app@db/app --dir ./migrations", "orchwf-migrate drift --json --ignore 'audit.*'"],
    load: () => import("./commands/drift.ts"),
  },
  {
    name: "dump",
    summary: "Write an executable, deterministic schema file, from the database or a replay of the files",
    description:
      "Writes the schema as SQL (pg_dump output, normalised) ending with the version table's rows as INSERTs: of the " +
      "database (--from live, the default when a database is named) or of a replay of the migrations (--from files).",
    options: [
      { name: "out", value: "FILE", help: "write to FILE instead of stdout" },
      { name: "scratch", value: "URL", help: "replay on a throwaway database made on this server instead of PGlite" },
      { name: "from", value: "live|files", help: "the live database, or a replay of the migrations" },
      { name: "dumper", value: "pglite-tools|pg_dump|snapshot", help: "force a dumper (default: pglite-tools on PGlite when installed, pg_dump of the server's version, else snapshot)" },
      VAR,
    ],
    examples: ["orchwf-migrate dump --db postgres://app@db/app --out schema.sql", "orchwf-migrate dump --from files --dir ./migrations"],
    load: () => import("./commands/dump.ts"),
  },
  {
    name: "squash",
    without: NO_DATABASE,
    summary: "Replace every migration up to --to with one baseline made from their dump",
    description:
      "Replays the migrations up to V, dumps the schema (and rows), and writes one baseline migration with version V " +
      "that replaces them, in --dir or into a new directory --out. Databases that applied them all keep working.",
    options: [
      { ...TO, help: "the last version to squash; the baseline keeps this version" },
      { name: "out", value: "DIR", help: "write the squashed set into this new directory instead of changing --dir" },
      { name: "scratch", value: "URL", help: "replay on a throwaway database made on this server instead of PGlite" },
    ],
    examples: ["orchwf-migrate squash --to 050 --dir ./migrations --out ./migrations-squashed"],
    load: () => import("./commands/squash.ts"),
  },
  {
    name: "diff",
    // The built-in schema is not the user's to change: a desired schema without it would drop it.
    without: [...NO_DATABASE, "with-orchwf"],
    summary: "Write the next migration (up and down) from a desired schema, proven on scratch databases",
    description:
      "Replays --dir's migrations on a scratch PGlite (or a database made on the --scratch server), loads the desired " +
      "schema (--desired FILE or a directory of .sql files) into another, compares the two and writes the next " +
      "migration in the directory's format. Before writing, the up is applied after the history (it must give the " +
      "desired schema) and the down after it (it must give the history's back); otherwise nothing is written " +
      "(DIFF_UNPROVEN) unless --force. A rename is never guessed: a hint names the --rename that makes one.",
    options: [
      { name: "desired", value: "FILE|DIR", help: "the schema you want, as SQL: a file, or a directory of .sql files in name order" },
      { name: "name", value: "NAME", help: "the new migration's name (file name slug)" },
      { name: "rename", value: "OLD=NEW", help: "a rename instead of a drop and a create (repeatable): public.users=public.members, public.users.name=public.users.full_name, public.mood.sad=public.mood.unhappy (enum value)" },
      { name: "scratch", value: "URL", help: "prove on throwaway databases made on this server instead of PGlite" },
      { name: "dry-run", help: "print the migration, write nothing" },
      { name: "force", help: "write the migration even though the proof failed (marked unproven)" },
      { name: "exit-code", help: "exit 1 when a migration was needed (for CI: is the directory behind the desired schema?)" },
      VAR,
    ],
    examples: [
      "orchwf-migrate diff --dir ./migrations --desired schema.sql --name add_orders",
      "orchwf-migrate diff --dir ./migrations --desired schema/ --dry-run --exit-code",
      "orchwf-migrate diff --dir ./migrations --desired schema.sql --name rename_users --rename public.users=public.members",
    ],
    load: () => import("./commands/diff.ts"),
  },
  {
    name: "create",
    without: NO_DATABASE,
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
    without: NO_DATABASE,
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
    without: NO_DATABASE,
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
