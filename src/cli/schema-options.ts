/**
 * Options drift, dump, squash and `up --dump-schema` share: the version table, a scratch server, the lock wait.
 * @module
 */
import type { Migration } from "../core/migration.ts";
import type { CommandContext } from "./context.ts";
import { urlSecrets } from "./resolve-db.ts";
import { durationOption } from "./session.ts";
import { placeholderValues } from "./placeholder-values.ts";

/** What the schema commands pass on to the schema commands. */
export interface SchemaOptions {
  table?: string;
  schema?: string;
  scratch?: string;
  lockTimeoutMs?: number;
  /** Placeholder values (`--var`, `ORCHWF_VAR_NAME`) for the replays. */
  placeholders?: Record<string, string>;
}

/**
 * The shared options of a schema command; a `--scratch` URL's password joins the secrets to mask.
 *
 * @example
 * ```ts
 * await driftCommand(db, migrations, { ...schemaOptions(ctx), label, ignore });
 * ```
 */
export function schemaOptions(ctx: CommandContext, migrations: readonly Migration[] = []): SchemaOptions {
  // drift, dump and squash replay migrations and may do it on a scratch server; up --dump-schema replays nothing.
  const scratch = ctx.spec.options.some((o) => o.name === "scratch") ? ctx.string("scratch") : undefined;
  if (scratch !== undefined) ctx.out.secrets.push(...urlSecrets(scratch));
  return {
    table: ctx.string("table"),
    schema: ctx.string("schema"),
    scratch,
    lockTimeoutMs: durationOption(ctx, "lock-timeout"),
    placeholders: placeholderValues(ctx, migrations),
  };
}

/**
 * On a terminal, says what the wait is for before a replay (a first PGlite start takes seconds).
 *
 * @example
 * ```ts
 * replayProgress(ctx);
 * ```
 */
export function replayProgress(ctx: CommandContext): void {
  const where = ctx.spec.options.some((o) => o.name === "scratch") && ctx.string("scratch") !== undefined
    ? "a scratch database"
    : "an in-memory PostgreSQL (PGlite)";
  ctx.out.progress(`${ctx.spec.name}: replaying the migrations on ${where}…`);
}
