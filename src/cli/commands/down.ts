/**
 * `down [N] [--to V | --all]`: roll back applied migrations, newest first.
 * @module
 */
import type { CommandContext, CommandResult } from "../context.ts";
import { usage } from "../options.ts";
import { compareVersions, REPEATABLE_PREFIX } from "../../core/migration.ts";
import { withSession } from "../session.ts";

/**
 * Runs `down`.
 *
 * @example
 * ```ts
 * const { json } = await run(ctx); // { database, rolledBack, current }
 * ```
 */
export async function run(ctx: CommandContext): Promise<CommandResult> {
  const to = ctx.string("to");
  const all = ctx.flag("all");
  const n = ctx.positionals[0];
  if ([to !== undefined, all, n !== undefined].filter(Boolean).length > 1) throw usage("down takes one of N, --to VERSION or --all");
  if (n !== undefined && !/^[1-9]\d{0,8}$/.test(n)) throw usage(`down N expects a positive number of steps; got ${JSON.stringify(n)}`);
  return await withSession(ctx, async ({ migrator, label, run, race, expect, retries, batches }) => {
    const before = await race(migrator.status());
    const applied = before.migrations.filter((m) => m.state !== "pending").length;
    expect(all ? applied : to !== undefined ? before.migrations.filter((m) => m.state !== "pending" && !m.version.startsWith(REPEATABLE_PREFIX) && compareVersions(m.version, to) > 0).length : Math.min(applied, Number(n ?? 1)));
    const { rolledBack } = await migrator.rollback({ steps: n === undefined ? 1 : Number(n), all, to, allowDrift: ctx.flag("allow-drift"), ...run() });
    const { current } = await race(migrator.status());
    return {
      json: { database: label, rolledBack, current, ...(retries.length > 0 ? { retries } : {}), ...(batches.length > 0 ? { batches } : {}) },
      text: rolledBack.length === 0
        ? "nothing to roll back"
        : `${rolledBack.length} migration${rolledBack.length === 1 ? "" : "s"} rolled back; current version ${current ?? "none"}`,
    };
  }, { existing: true });
}
