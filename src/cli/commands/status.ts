/**
 * `status [--exit-code]`: every version and its state; out-of-order pending versions named.
 * @module
 */
import { EXIT, type CommandContext, type CommandResult } from "../context.ts";
import { outOfOrder, statusTable } from "../render.ts";
import { withSession } from "../session.ts";

/**
 * Runs `status`.
 *
 * @example
 * ```ts
 * const { json } = await run(ctx); // { database, table, migrations, current, pending, outOfOrder }
 * ```
 */
export function run(ctx: CommandContext): Promise<CommandResult> {
  return withSession(ctx, async ({ migrator, label, race }) => {
    const report = await race(migrator.status());
    const late = outOfOrder(report.migrations);
    if (late.length > 0) {
      ctx.out.warn(`out-of-order versions pending below the newest applied version ${report.current}: ${late.join(", ")} (up applies them; --strict refuses)`);
    }
    return {
      json: { database: label, ...report, outOfOrder: late },
      text: await statusTable(report, label, ctx.out.c),
      exit: ctx.flag("exit-code") && report.pending > 0 ? EXIT.pending : EXIT.ok,
    };
  }, { existing: true });
}
