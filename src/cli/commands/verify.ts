/**
 * `verify [--force]`: prove every migration reversible, on a throwaway PGlite unless --db.
 * @module
 */
import type { Migration } from "../../core/migration.ts";
import type { VerifyReport } from "../../schema/verify.ts";
import { EXIT, type CommandContext, type CommandResult } from "../context.ts";
import { withSession } from "../session.ts";
import { reportFormat } from "../reports/format.ts";

/**
 * Runs `verify`.
 *
 * @example
 * ```ts
 * const { json, exit } = await run(ctx); // the VerifyReport; exit 1 when a down does not reverse its up
 * ```
 */
export function run(ctx: CommandContext): Promise<CommandResult> {
  const format = reportFormat(ctx);
  return withSession(ctx, async ({ migrator, label, race, expect, tick }) => {
    const { renderVerifyReport, VerifyError } = await import("../../schema/verify.ts");
    expect(migrator.migrations.length, true);
    try {
      const report = await race(migrator.verify({ force: ctx.flag("force"), onVersion: tick }));
      return { json: { ...report, database: label }, text: format === "junit" ? await junit(report, migrator.migrations) : renderVerifyReport(report) };
    } catch (err) {
      if (!(err instanceof VerifyError)) throw err;
      ctx.out.error(err.message);
      return {
        json: { ...err.report, database: label, error: { code: err.code, message: err.message } },
        text: format === "junit" ? await junit(err.report, migrator.migrations) : renderVerifyReport(err.report),
        exit: EXIT.failure,
      };
    }
  }, { scratch: true, stepLines: false });
}

/** The report as JUnit XML, each migration's case named after its up file. */
async function junit(report: VerifyReport, migrations: readonly Migration[]): Promise<string> {
  const { renderVerifyJunit } = await import("../reports/junit.ts");
  return renderVerifyJunit(report, new Map(migrations.map((m) => [m.version, m.source?.up ?? m.version])));
}
