/**
 * `redo`: roll back the newest applied migration and apply it again.
 * @module
 */
import type { CommandContext, CommandResult } from "../context.ts";
import { withSession } from "../session.ts";

/**
 * Runs `redo`.
 *
 * @example
 * ```ts
 * const { json } = await run(ctx); // { database, rolledBack, applied, current }
 * ```
 */
export function run(ctx: CommandContext): Promise<CommandResult> {
  return withSession(ctx, async ({ migrator, label, run, race, retries, batches }) => {
    // Only the newest applied version comes back: a lower version still pending stays pending.
    const { rolledBack, applied } = await migrator.redo({ allowDrift: ctx.flag("allow-drift"), ...run() });
    const { current } = await race(migrator.status());
    return {
      json: { database: label, rolledBack, applied, current, ...(retries.length > 0 ? { retries } : {}), ...(batches.length > 0 ? { batches } : {}) },
      text: rolledBack.length === 0 ? "nothing to redo: no migration is applied" : `redone ${rolledBack[0].version}; current version ${current}`,
    };
  }, { existing: true });
}
