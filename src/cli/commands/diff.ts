/**
 * `diff --desired FILE|DIR --name NAME --dir DIR`: the next migration, written from a desired schema in the
 * directory's format, after it was proven on scratch databases (`schema/next-migration.ts`).
 * @module
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { MigrationError } from "../../core/errors.ts";
import { type Migration, migrationFromFiles } from "../../core/migration.ts";
import { statementsToSql } from "../../core/sql-text.ts";
import { describeChanges } from "../../schema/snapshot.ts";
import type { NextMigration } from "../../schema/next-migration.ts";
import { detectFormat, type MigrationFormat, parseFormat } from "../../sources/detect.ts";
import type { CommandContext, CommandResult } from "../context.ts";
import { usage } from "../options.ts";
import { directoryFormat } from "../reports/format.ts";
import { schemaOptions } from "../schema-options.ts";
import { chosenMigrations } from "../session.ts";

/**
 * Runs `diff`.
 *
 * @example
 * ```ts
 * const { json, exit } = await run(ctx); // { written: [...], up: [...], down: [...], proven: true }
 * ```
 */
export async function run(ctx: CommandContext): Promise<CommandResult> {
  const dir = ctx.string("dir");
  const desiredPath = ctx.string("desired");
  const name = ctx.string("name");
  if (!dir) throw usage("diff needs the migrations directory: --dir DIR (or ORCHWF_MIGRATIONS_DIR); the new migration is written there");
  if (!desiredPath) throw usage("diff needs --desired FILE|DIR: the schema you want, as SQL (a file, or a directory of .sql files read in name order)");
  const dryRun = ctx.flag("dry-run");
  if (!name && !dryRun) throw usage("diff needs --name NAME for the new migration's file name (or --dry-run to print it)");
  const format: MigrationFormat = parseFormat(directoryFormat(ctx)) ?? (existsSync(dir) ? await detectFormat(dir) : "golang-migrate");
  const migrations = existsSync(dir) ? await chosenMigrations(ctx) : [];
  const renames = parseRenames(ctx.strings("rename"));
  const desiredSql = readDesired(desiredPath);

  const { planNextMigration } = await import("../../schema/next-migration.ts");
  const { createScratchPGlite } = await import("../pglite-assets.ts");
  const options = schemaOptions(ctx, migrations);
  const next = await planNextMigration(migrations, desiredSql, {
    table: options.table,
    schema: options.schema,
    scratchUrl: options.scratch,
    placeholders: options.placeholders,
    renames,
    desiredLabel: desiredPath,
    createPGlite: createScratchPGlite,
    onStep: (step) => ctx.out.progress(`diff: ${step}…`),
  });
  const summary = {
    desired: desiredPath,
    dir,
    format,
    up: next.up.statements,
    down: next.down.statements,
    warnings: next.up.warnings,
    renameHints: next.up.renameHints,
    unsupported: next.up.unsupported,
    proven: next.proven,
    scratch: next.scratch,
  };
  if (next.empty) {
    const notes = next.up.warnings.map((w) => `\n  note: ${w}`).join("");
    return { json: { ...summary, changes: false, written: [] }, text: `no changes: the migrations in ${dir} already give the schema of ${desiredPath}; nothing written${notes}` };
  }
  const lines: string[] = [];
  if (!next.proven) {
    const why = unproven(next);
    if (!ctx.flag("force")) {
      throw new MigrationError("DIFF_UNPROVEN", `the migration from ${dir} to ${desiredPath} is not proven, nothing was written:\n${why}\n(--force writes it anyway, marked unproven)`, { file: desiredPath });
    }
    lines.push(`written unproven (--force):\n${why}`);
  }
  const lint = await lintFindings(next);
  const header = headerLines(next, desiredPath, lint);
  let written: string[] = [];
  let version: string | undefined;
  if (dryRun) {
    lines.unshift(`-- up\n${header}\n${statementsToSql(next.up.statements)}\n\n-- down\n${statementsToSql(next.down.statements)}`);
  } else {
    const { nextVersion, writeMigration } = await import("../../sources/write-migration.ts");
    // Above the built-in versions too, as `create` does: the directory may run with --with-orchwf later.
    const { orchwfMigrations } = await import("../../builtin.ts");
    const versions = [...(migrations as readonly Migration[]), ...orchwfMigrations].map((m) => m.version);
    version = nextVersion(versions, new Date(), format);
    written = writeMigration(dir, format, version, { name: name!, up: next.up.statements, down: next.down.statements, header }).files;
    lines.push(`wrote ${written.join(" and ")} (${format}): ${next.up.statements.length} statements up, ${next.down.statements.length} down`);
    if (next.proven) lines.push(`  proven on ${next.scratch}: after the history it gives ${desiredPath}'s schema, and its down gives the history's back`);
  }
  for (const w of next.up.warnings) lines.push(`  review: ${w}`);
  for (const f of lint) lines.push(`  lint: ${f}`);
  for (const h of next.up.renameHints) lines.push(`  hint: ${h}`);
  const exit = ctx.flag("exit-code") ? 1 : 0;
  return { json: { ...summary, changes: true, version, written, lint }, text: lines.join("\n"), exit };
}

/** `--rename old=new`, repeatable. */
function parseRenames(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const m = /^([^=]+)=([^=]+)$/.exec(v.trim());
    if (!m) throw usage(`--rename ${v}: expected OLD=NEW as the report names them, e.g. --rename public.users.name=public.users.full_name`);
    out[m[1].trim()] = m[2].trim();
  }
  return out;
}

/** The desired schema: a file, or a directory's .sql files in name order. */
function readDesired(path: string): string {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw usage(`--desired ${path}: no such file or directory`);
  }
  if (!stat.isDirectory()) return readFileSync(path, "utf8");
  const files = readdirSync(path).filter((f) => f.endsWith(".sql")).sort();
  if (files.length === 0) throw usage(`--desired ${path}: the directory has no .sql file`);
  return files.map((f) => readFileSync(join(path, f), "utf8")).join("\n;\n");
}

/** Why the proof failed, one line per difference. */
function unproven(next: NextMigration): string {
  const lines: string[] = [];
  if (next.failed) lines.push(`  ${next.failed}`);
  for (const u of next.up.unsupported) lines.push(`  not written by diff: ${u}`);
  for (const l of describeChanges(next.upDiffers, { added: "the desired schema has, the up does not make", removed: "the up leaves, the desired schema has not", changed: "the up makes differently", was: "up", now: "desired" })) {
    lines.push(`  ${l}`);
  }
  for (const l of describeChanges(next.downDiffers, { added: "the history has, the down does not give back", removed: "the down leaves, the history has not", changed: "the down gives back differently", was: "down", now: "history" })) {
    lines.push(`  ${l}`);
  }
  return lines.join("\n");
}

/** The existing lint rules on the new up, as lines. */
async function lintFindings(next: NextMigration): Promise<string[]> {
  const { lintMigrations } = await import("../../lint/lint.ts");
  const up = statementsToSql(next.up.statements);
  const report = await lintMigrations([migrationFromFiles({ version: "1", name: "next", up, upFile: "next.up.sql" })]);
  return report.findings.map((f) => `${f.rule} (${f.severity}): ${f.message.split("\n")[0]}`);
}

function headerLines(next: NextMigration, desired: string, lint: string[]): string {
  const lines = [
    `-- Written by orchwf-migrate diff from ${desired}.`,
    next.proven
      ? `-- Proven on ${next.scratch}: after the history it gives that schema, and the down gives the history's back.`
      : "-- NOT PROVEN (written with --force): check it by hand.",
  ];
  const review = [...next.up.warnings, ...lint.map((l) => `lint ${l}`)];
  if (review.length > 0) lines.push("-- Review:", ...review.map((r) => `--   ${r}`));
  return lines.join("\n");
}
