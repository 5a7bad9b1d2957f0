/**
 * `verify [--force]`: prove every migration reversible, on a throwaway PGlite unless --db.
 * @module
 */
import { EXIT, type CommandContext, type CommandResult } from "../context.ts";
import { withSession } from "../session.ts";

/**
 * Runs `verify`.
 *
 * @example
 * ```ts
 * const { json, exit } = await run(ctx); // the VerifyReport; exit 1 when a down does not reverse its up
 * ```
 */
export function run(ctx: CommandContext): Promise<CommandResult> {
  return withSession(ctx, async ({ migrator, label, race, expect, tick }) => {
    const { renderVerifyReport, VerifyError } = await import("../../schema/verify.ts");
    expect(migrator.migrations.length, true);
    try {
      const report = await race(migrator.verify({ force: ctx.flag("force"), onVersion: tick }));
      return { json: { ...report, database: label }, text: renderVerifyReport(report) };
    } catch (err) {
      if (!(err instanceof VerifyError)) throw err;
      ctx.out.error(err.message);
      return {
        json: { ...err.report, database: label, error: { code: err.code, message: err.message } },
        text: renderVerifyReport(err.report),
        exit: EXIT.failure,
      };
    }
  }, { scratch: true, stepLines: false });
}
