/**
 * `@orchwf/migrate`: PostgreSQL schema migrations for OrchWF and any SQL-file project,
 * on postgres.js or embedded PGlite, under Bun, Deno and Node.
 *
 * @example
 * ```ts
 * import postgres from "postgres";
 * import { quickSetup } from "@orchwf/migrate";
 * await quickSetup(postgres(process.env.DATABASE_URL!));
 * ```
 * @module
 */
export { orchwfMigrations } from "./builtin.ts";
export { Deadline, type RunOptions } from "./core/deadline.ts";
export { type Database, toDriver } from "./drivers/detect.ts";
export type { Driver, Queryable } from "./drivers/driver.ts";
export {
  codeFrame,
  ConnectionError,
  type ErrorCode,
  locate,
  MigrationError,
  SqlError,
  type SqlErrorLocation,
} from "./core/errors.ts";
export { History } from "./engine/history.ts";
export { type LoadOptions, loadMigrations, type MigrationFormat } from "./sources/load.ts";
export { detectFormat, MIGRATION_FORMATS } from "./sources/detect.ts";
export {
  type AdoptOptions,
  type AdoptResult,
  adoptHistory,
  type Baseliner,
  readToolHistory,
  type SourceTool,
  TOOL_TABLES,
  type ToolHistory,
} from "./sources/adopt.ts";
export {
  checksum,
  compareVersions,
  type FileDirectives,
  isVersion,
  type Migration,
  type MigrationCheck,
  migrationFromFiles,
  type ParsedFileName,
  parseFileName,
  type PlaceholderSyntax,
  readDirectives,
  REPEATABLE_PREFIX,
  validateMigrations,
  versionKey,
} from "./core/migration.ts";
export {
  type BaselineOptions,
  type BaselineResult,
  type LockRetryOptions,
  type Logger,
  type BatchEvent,
  type MigrateOptions,
  type MigrateResult,
  type MigrationEvent,
  type MigrationPlan,
  type MigrationRun,
  Migrator,
  type MigratorOptions,
  type RollbackOptions,
  type RedoOptions,
  type RedoResult,
  type RetryEvent,
  type RollbackResult,
  type StatusReport,
  toConnectionError,
} from "./migrator.ts";
export { placeholderNames, type PlaceholderValues, substitutePlaceholders } from "./core/placeholders.ts";
export { DEFAULT_DDL_LOCK_TIMEOUT_MS, DEFAULT_LOCK_RETRIES } from "./engine/lock-retry.ts";
export { type AppliedRow, type MigrationState, type StatusEntry } from "./core/plan.ts";
export { quickSetup, type QuickSetupOptions } from "./quick-setup.ts";
export { splitStatements, type Statement } from "./core/split.ts";
// parser: checks before running (validate) and lint, for use in code
export { CheckError, checkMigrations, type Problem } from "./sources/check.ts";
export { lintMigrations, type LintOptions, type LintReport, renderLint } from "./lint/lint.ts";
export type { Finding, Severity } from "./lint/types.ts";
export {
  type ChangeWords,
  describeChanges,
  diffSnapshots,
  type SchemaChange,
  type SchemaObject,
  type SchemaSnapshot,
  snapshotSchema,
  type SnapshotOptions,
  snapshotToText,
} from "./schema/snapshot.ts";
export {
  renderVerifyReport,
  type VerifiedMigration,
  VerifyError,
  type VerifyOptions,
  type VerifyReport,
} from "./schema/verify.ts";
export { verifyMigrations } from "./schema/verify-migrations.ts";

export { detectDrift, type DriftDifference, type DriftOptions, type DriftReport, renderDriftReport } from "./schema/drift.ts";
export { dumpDatabase, type Dumper, dumpMigrations, type DumpOptions, type SchemaDump } from "./schema/dump.ts";
export { replayMigrations, type Replay, type ReplayOptions } from "./schema/replay.ts";
export { type DataStatement, type SquashOptions, type SquashResult, squashMigrations, type SquashWritten, writeSquashed } from "./schema/squash.ts";
export { diffSchemas, type SchemaDiff, type SchemaDiffOptions } from "./schema/schema-diff.ts";
export { type NextMigration, type NextMigrationOptions, planNextMigration } from "./schema/next-migration.ts";
export { statementsToSql } from "./core/sql-text.ts";
export { type NewMigration, nextVersion, writeMigration, type WrittenMigration } from "./sources/write-migration.ts";

// `deno run -A jsr:@orchwf/migrate status`, `bun src/mod.ts up`: the main module is the CLI.
// Loaded only then, so importing the library never loads the CLI.
if ((import.meta as { main?: boolean }).main) {
  const { runCli } = await import("./cli/main.ts");
  await runCli();
}
export { type FleetOptions, type FleetRecord, runFleet } from "./fleet/run.ts";
export { type FleetDatabase, migrateFleet } from "./fleet/migrate.ts";
