/**
 * squash: every migration up to V becomes one baseline migration, made from a dump of their replay (schema and the
 * rows their data statements left, as INSERTs). The baseline keeps version V and lists the versions it replaces
 * (`-- orchwf:replaces …`), so a database that applied them takes the baseline as applied (engine/squashed-history.ts).
 * @module
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { placeholderNames } from "../core/placeholders.ts";
import { MigrationError } from "../core/errors.ts";
import { compareVersions, type Migration } from "../core/migration.ts";
import { lineOf, parseStatements } from "../core/split.ts";
import { dumpMigrations } from "./dump.ts";
import type { ReplayOptions } from "./replay.ts";

/** Options of `squashMigrations`. */
export interface SquashOptions extends ReplayOptions {
  /** The last version to squash: it and every version before it become one migration with this version. */
  to: string;
}

/** A data statement found in a squashed migration: its effect is kept as rows in the baseline; listed for review. */
export interface DataStatement {
  version: string;
  file: string | null;
  line: number;
  /** The statement's first line. */
  statement: string;
}

/** What `squashMigrations` made. JSON-friendly. */
export interface SquashResult {
  /** The squashed version (the baseline's). */
  to: string;
  /** The baseline migration: version `to`, `replaces` every squashed version, no down script. */
  baseline: Migration & { fileName: string };
  /** Versions squashed, in order. */
  replaced: string[];
  /** Migrations after `to`, unchanged. */
  kept: Migration[];
  /** Files of the squashed migrations (those loaded from files): what an in-place squash deletes. */
  replacedFiles: string[];
  /** Data statements in the squashed migrations (their rows are in the baseline). */
  dataStatements: DataStatement[];
  /** The dumper that wrote the baseline. */
  dumper: string;
  dumperVersion: string | null;
}

/** Statements that change or read rows rather than the schema: their effect is kept only as the dump's rows. */
const DATA_KINDS = new Set([
  "InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "CopyStmt", "TruncateStmt", "CallStmt", "DoStmt", "SelectStmt",
  "RefreshMatViewStmt",
]);
/** pg_dump's session settings a migration must not make: the Migrator's own limits and the client's encoding. */
const DROPPED_SETTINGS = /^SET (statement_timeout|lock_timeout|idle_in_transaction_session_timeout|transaction_timeout|client_encoding) = /;

/**
 * Squashes every migration up to and including `options.to` into one baseline. Nothing is written: see
 * `writeSquashed`.
 *
 * @example
 * ```ts
 * const result = await squashMigrations(await loadMigrations("./migrations"), { to: "030" });
 * writeSquashed(result, { out: "./migrations-squashed" });
 * ```
 */
export async function squashMigrations(migrations: readonly Migration[], options: SquashOptions): Promise<SquashResult> {
  const sorted = [...migrations].sort((a, b) => compareVersions(a.version, b.version));
  const target = /^\d+$/.test(options.to) ? sorted.find((m) => compareVersions(m.version, options.to) === 0) : undefined;
  if (!target) {
    throw new MigrationError("UNKNOWN_VERSION", `unknown version ${JSON.stringify(options.to)}: no migration has that version`, { version: options.to });
  }
  const replaced = sorted.filter((m) => compareVersions(m.version, target.version) <= 0);
  const kept = sorted.filter((m) => compareVersions(m.version, target.version) > 0);
  // A baseline made from a replay would freeze one run's placeholder values (and the scratch's built-ins) into it.
  const templated = replaced.find((m) => m.placeholders !== undefined && [m.up, m.down ?? ""].some((t) => placeholderNames(t, m.placeholders!).length > 0));
  if (templated) {
    throw new MigrationError(
      "INVALID_MIGRATION",
      `${templated.source?.up ?? `migration ${templated.version}`}: migration ${templated.version} has \${…} placeholders; squash cannot fold it into a baseline (the values would be frozen into the file): squash up to a version before it`,
      { version: templated.version, file: templated.source?.up },
    );
  }
  // A replay's dump (kept on disk, as dump --from files keeps it): the schema and rows they make, no version table.
  const dump = await dumpMigrations(replaced, {
    table: options.table,
    schema: options.schema,
    scratchUrl: options.scratchUrl,
    createPGlite: options.createPGlite,
    withoutVersionTable: true,
    withData: true,
  });
  const first = replaced[0].version;
  const description = replaced.length === 1 ? `squashed ${first}` : `squashed ${first} to ${target.version}`;
  const up = [
    ...chunks(replaced.map((m) => m.version), 16).map((vs) => `-- orchwf:replaces ${vs.join(" ")}`),
    `-- orchwf:description ${description}`,
    "--",
    `-- Written by orchwf-migrate squash --to ${target.version}: the schema and the rows that migrations ${first} to ${target.version}`,
    `-- make, dumped (${dump.dumper}${dump.dumperVersion ? ` ${dump.dumperVersion}` : ""}) from a replay. A database that applied all of them records`,
    `-- this version in their place on its next up; a fresh one runs this file instead of them. No down script.`,
    "",
    asMigration(dump.sql),
  ].join("\n");
  return {
    to: target.version,
    baseline: { version: target.version, description, up, replaces: replaced.map((m) => m.version), fileName: `${target.version}_squashed.up.sql` },
    replaced: replaced.map((m) => m.version),
    kept,
    replacedFiles: replaced.flatMap((m) => [m.source?.up, m.source?.down].filter((f): f is string => f !== undefined)),
    dataStatements: (await Promise.all(replaced.map(dataStatements))).flat(),
    dumper: dump.dumper,
    dumperVersion: dump.dumperVersion,
  };
}

/** A dump turned into a migration's script: no session-wide settings (they would outlive the transaction). */
function asMigration(sql: string): string {
  return sql
    .split("\n")
    .filter((line) => !DROPPED_SETTINGS.test(line) && line !== "RESET ALL;" && !/^SELECT pg_catalog\.set_config\('search_path', '', false\);$/.test(line))
    .map((line) => (/^SET [a-z_]+ = .*;$/.test(line) ? line.replace(/^SET /, "SET LOCAL ") : line))
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trimEnd() + "\n";
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

async function dataStatements(m: Migration): Promise<DataStatement[]> {
  return (await parseStatements(m.up)).filter((st) => DATA_KINDS.has(st.kind)).map((st) => ({
    version: m.version,
    file: m.source?.up ?? null,
    line: lineOf(m.up, st.start),
    statement: st.text.split("\n")[0].slice(0, 120),
  }));
}

/** Where `writeSquashed` put things. */
export interface SquashWritten {
  /** The baseline file. */
  baseline: string;
  /** In place: the squashed migrations' files, deleted. */
  removed: string[];
  /** To `out`: the later migrations' files, copied (or written, for migrations without files). */
  copied: string[];
}

/**
 * Writes a squash: into a new directory `out` (the baseline and copies of the later migrations), or in place into
 * `dir` (the baseline written, the squashed migrations' files deleted; the later ones stay).
 *
 * @example
 * ```ts
 * writeSquashed(result, { dir: "./migrations" }); // in place
 * ```
 */
export function writeSquashed(result: SquashResult, target: { out: string } | { dir: string }): SquashWritten {
  if ("dir" in target) {
    const removed: string[] = [];
    for (const f of result.replacedFiles) {
      rmSync(f);
      removed.push(f);
    }
    const baseline = join(target.dir, result.baseline.fileName);
    writeFileSync(baseline, result.baseline.up);
    return { baseline, removed, copied: [] };
  }
  if (existsSync(target.out) && readdirSync(target.out).length > 0) {
    throw new MigrationError("USAGE", `${target.out} is not empty; squash --out writes a new directory`);
  }
  mkdirSync(target.out, { recursive: true });
  const copied: string[] = [];
  for (const m of result.kept) {
    const stem = `${m.version}_${m.description.replace(/\W+/g, "_")}`;
    for (const [file, text, suffix] of [[m.source?.up, m.up, "up"], [m.source?.down, m.down, "down"]] as const) {
      if (text === undefined) continue;
      const dest = join(target.out, file ? basename(file) : `${stem}.${suffix}.sql`);
      if (file) copyFileSync(file, dest);
      else writeFileSync(dest, text);
      copied.push(dest);
    }
  }
  const baseline = join(target.out, result.baseline.fileName);
  writeFileSync(baseline, result.baseline.up);
  return { baseline, removed: [], copied };
}
