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
  return withSession(ctx, async ({ migrator, label, run, race }) => {
    const { rolledBack } = await migrator.rollback({ steps: 1, ...run() });
    const applied = rolledBack.length === 0 ? [] : (await migrator.migrate({ to: rolledBack[0].version, ...run() })).applied;
    const { current } = await race(migrator.status());
    return {
      json: { database: label, rolledBack, applied, current },
      text: rolledBack.length === 0 ? "nothing to redo: no migration is applied" : `redone ${rolledBack[0].version}; current version ${current}`,
    };
  });
}
