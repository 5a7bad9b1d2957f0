/**
 * Writes a new migration into a directory in that directory's own format (the one `loadMigrations` reads), so
 * that the tool it came from can run it too: the next version in the directory's style (a number as wide as the
 * others, or a timestamp where the others are timestamps), the format's file names and markers. Never overwrites.
 * @module
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MigrationError } from "../core/errors.ts";
import { statementsToSql } from "../core/sql-text.ts";
import type { MigrationFormat } from "./detect.ts";

/** What `writeMigration` wrote. */
export interface WrittenMigration {
  version: string;
  /** The files written (one for single-file formats, two otherwise). */
  files: string[];
}

/** What to write. */
export interface NewMigration {
  /** A name, made into the file name's slug. */
  name: string;
  /** The statements of each direction, without their `;`. */
  up: readonly string[];
  down: readonly string[];
  /** Comment lines for the top of the up (and of a single file), each starting with `--`. */
  header?: string;
  /** Runs outside a transaction (written in the format's own way). */
  noTransaction?: boolean;
}

/**
 * The version after `existing` in their style: a UTC timestamp (YYYYMMDDHHMMSS) where they are timestamps, Unix
 * milliseconds where they are (node-pg-migrate), else the next number as wide as the widest (3 digits when none).
 * `timestamp` chooses instead of the style: true a timestamp, false the next number (`create`'s choice).
 *
 * @example
 * ```ts
 * nextVersion(["001", "002"], new Date()); // "003"
 * ```
 */
export function nextVersion(existing: readonly string[], now: Date, format?: MigrationFormat, options: { timestamp?: boolean } = {}): string {
  const numbers = existing.map((v) => v.split(".")[0].replace(/\D/g, "")).filter((v) => v !== "");
  const highest = numbers.reduce((max, v) => (BigInt(v) > max ? BigInt(v) : max), 0n);
  const width = numbers.length > 0 ? Math.max(...numbers.map((v) => v.length)) : 0;
  const above = (candidate: bigint) => (candidate > highest ? candidate : highest + 1n).toString();
  const stamp14 = () => above(BigInt(now.toISOString().replace(/\D/g, "").slice(0, 14)));
  const following = () => (highest + 1n).toString().padStart(width || 3, "0");
  if (options.timestamp !== undefined) return options.timestamp ? stamp14() : following();
  if (format === "node-pg-migrate" || width === 13) return above(BigInt(now.getTime()));
  if (format === "dbmate" || format === "diesel" || format === "sqlx" || width >= 14) return stamp14();
  return following();
}

/**
 * A migration name as a file name's part: lower case letters, digits and `_` ("" when nothing is left).
 *
 * @example
 * ```ts
 * migrationSlug("Add Users!"); // "add_users"
 * ```
 */
export function migrationSlug(name: string): string {
  return name.trim().toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
}

/**
 * Writes `migration` into `dir` in `format` with `version`.
 *
 * @example
 * ```ts
 * writeMigration("db/migrations", "dbmate", "20261205120000", { name: "add users", up: "CREATE TABLE …;", down: "DROP TABLE …;" });
 * ```
 */
export function writeMigration(dir: string, format: MigrationFormat, version: string, migration: NewMigration): WrittenMigration {
  const slug = migrationSlug(migration.name) || "migration";
  const head = migration.header ? `${migration.header.trimEnd()}\n` : "";
  const [up, down] = [statementsToSql(migration.up), statementsToSql(migration.down)];
  const noTx = migration.noTransaction === true;
  let files: [string, string][];
  switch (format) {
    case "dbmate":
      files = [[`${version}_${slug}.sql`, `-- migrate:up${noTx ? " transaction:false" : ""}\n${head}${up}\n\n-- migrate:down${noTx ? " transaction:false" : ""}\n${down}\n`]];
      break;
    case "goose":
      files = [[`${version}_${slug}.sql`, `${noTx ? "-- +goose NO TRANSACTION\n" : ""}-- +goose Up\n${head}${gooseBlocks(migration.up)}\n\n-- +goose Down\n${gooseBlocks(migration.down)}\n`]];
      break;
    case "node-pg-migrate":
      files = [[`${version}_${slug}.sql`, `-- Up Migration\n${head}${up}\n\n-- Down Migration\n${down}\n`]];
      break;
    case "flyway": {
      const v = version.replace(/\./g, "_");
      files = [[`V${v}__${slug}.sql`, `${head}${up}\n`], [`U${v}__${slug}.sql`, `${down}\n`]];
      break;
    }
    case "diesel": {
      const d = version.replace(/^(\d{4})(\d{2})(\d{2})(\d{6})$/, "$1-$2-$3-$4");
      mkdirSync(join(dir, `${d}_${slug}`), { recursive: true });
      files = [[join(`${d}_${slug}`, "up.sql"), `${head}${up}\n`], [join(`${d}_${slug}`, "down.sql"), `${down}\n`]];
      if (noTx) files.push([join(`${d}_${slug}`, "metadata.toml"), "run_in_transaction = false\n"]);
      break;
    }
    default: {
      const directive = noTx ? "-- orchwf:no-transaction\n" : "";
      files = [[`${version}_${slug}.up.sql`, `${directive}${head}${up}\n`], [`${version}_${slug}.down.sql`, `${directive}${down}\n`]];
    }
  }
  mkdirSync(dir, { recursive: true });
  for (const [name] of files) {
    if (existsSync(join(dir, name))) throw new MigrationError("INVALID_MIGRATION", `${join(dir, name)} already exists; nothing was written`, { version, file: join(dir, name) });
  }
  for (const [name, text] of files) writeFileSync(join(dir, name), text, { flag: "wx" });
  return { version, files: files.map(([name]) => join(dir, name)) };
}

/** goose cuts its files at `;` unless a statement is fenced: each statement with a `;` or a body inside is. */
function gooseBlocks(statements: readonly string[]): string {
  return statements.map((s) => {
    const statement = `${s.trimEnd()};`;
    return /;[\s\S]*;|\$\w*\$/.test(statement) ? `-- +goose StatementBegin\n${statement}\n-- +goose StatementEnd` : statement;
  }).join("\n\n");
}
