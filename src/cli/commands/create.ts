/**
 * `create NAME [--timestamp]`: the next pair of files in the migrations directory `up` reads.
 * @module
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { orchwfMigrations } from "../../builtin.ts";
import { MigrationError } from "../../core/errors.ts";
import { parseFileName } from "../../core/migration.ts";
import { migrationSlug, nextVersion } from "../../sources/write-migration.ts";
import type { CommandContext, CommandResult } from "../context.ts";
import { usage } from "../options.ts";

/**
 * Runs `create`.
 *
 * @example
 * ```ts
 * const { json } = await run(ctx); // { version, up, down }
 * ```
 */
export async function run(ctx: CommandContext): Promise<CommandResult> {
  const name = ctx.positionals[0];
  if (name === undefined) throw usage("create needs a NAME, e.g. create add_users");
  const dir = ctx.string("dir");
  if (!dir) {
    throw usage(
      "create needs the migrations directory: --dir DIR or ORCHWF_MIGRATIONS_DIR (e.g. in ./.env), the same one up reads " +
        "(without it, up applies only the built-in OrchWF schema)",
    );
  }
  // Always above the built-in versions: a directory may be run with --with-orchwf (or ORCHWF_WITH_ORCHWF) later, and
  // a 001 of its own would then collide with the built-in 001.
  const created = createMigration(dir, name, new Date(), { timestamp: ctx.flag("timestamp"), reserved: orchwfMigrations.map((m) => m.version) });
  return { json: created, text: `created ${created.up}\ncreated ${created.down}` };
}

/** The files `create` wrote. */
export interface CreatedMigration {
  version: string;
  up: string;
  down: string;
}

/** How `createMigration` numbers. */
export interface CreateOptions {
  /** A UTC timestamp version (YYYYMMDDHHMMSS) instead of the next number; still above every existing version. */
  timestamp?: boolean;
  /** Versions used elsewhere (the built-ins with --with-orchwf): the new one goes above them too. */
  reserved?: readonly string[];
}

/**
 * Writes `VERSION_name.up.sql` and `.down.sql` in `dir`: VERSION is one more than the highest version
 * there, as wide as the existing versions (3 digits in an empty directory), or a timestamp. Refuses to overwrite.
 *
 * @example
 * ```ts
 * createMigration("./migrations", "add users"); // { version: "002", up: "migrations/002_add_users.up.sql", ... }
 * ```
 */
export function createMigration(dir: string, name: string, now: Date = new Date(), options: CreateOptions = {}): CreatedMigration {
  const slug = migrationSlug(name);
  if (!slug) throw usage(`create needs a NAME made of letters or digits, e.g. create add_users; got ${JSON.stringify(name)}`);
  mkdirSync(dir, { recursive: true });
  const versions = [
    ...readdirSync(dir).map((f) => parseFileName(f)?.version).filter((v): v is string => v !== undefined),
    ...(options.reserved ?? []),
  ];
  const version = nextVersion(versions, now, undefined, { timestamp: options.timestamp === true });
  const up = join(dir, `${version}_${slug}.up.sql`);
  const down = join(dir, `${version}_${slug}.down.sql`);
  for (const file of [up, down]) {
    if (existsSync(file)) {
      throw new MigrationError("INVALID_MIGRATION", `${file} already exists; nothing was written`, { version, file });
    }
  }
  const stamp = now.toISOString().replace(/\.\d+Z$/, "Z");
  const header = (direction: string, what: string) =>
    `-- Migration ${version}: ${name.trim()} (${direction}), created ${stamp}\n-- ${what}\n`;
  writeFileSync(up, header("up", "Write the SQL that applies this change."), { flag: "wx" });
  writeFileSync(down, header("down", "Write the SQL that exactly reverses the up script."), { flag: "wx" });
  return { version, up, down };
}
