/**
 * `up [--to V] [--dry-run] [--lint] [--allow-drift] [--dump-schema FILE]`: apply pending migrations; warn about (or, with --strict, refuse)
 * versions below the newest applied one.
 * @module
 */
import { MigrationError } from "../../core/errors.ts";
import type { CommandContext, CommandResult } from "../context.ts";
import { outOfOrder, planText } from "../render.ts";
import { durationOption, withSession } from "../session.ts";
import { placeholderValues } from "../placeholder-values.ts";
import { lockRetryOptions } from "../lock-retry-options.ts";
import { compareVersions } from "../../core/migration.ts";

/**
 * Runs `up`.
 *
 * @example
 * ```ts
 * const { json } = await run(ctx); // { database, applied, current }
 * ```
 */
export function run(ctx: CommandContext): Promise<CommandResult> {
  const to = ctx.string("to");
  return withSession(ctx, async ({ migrator, label, run, race, expect, db, url, retries, batches }) => {
    const { refuseLintErrors } = await import("./lint.ts");
    const warnings = await race(refuseLintErrors(migrator, ctx.string("dir"), to, ctx.flag("lint"), lockRetryOptions(ctx).ddlLockTimeoutMs));
    if (warnings !== undefined) ctx.out.warn(warnings);
    const before = await race(migrator.status());
    const late = outOfOrder(before.migrations, to);
    if (late.length > 0) {
      const what = `${late.join(", ")} ${late.length === 1 ? "is" : "are"} pending below the newest applied version ${before.current}`;
      if (ctx.flag("strict")) {
        throw new MigrationError("OUT_OF_ORDER", `out-of-order versions: ${what}; nothing was applied (--strict). Renumber them above ${before.current}, or run without --strict to apply them`, { version: late[0] });
      }
      ctx.out.warn(`out-of-order versions: ${what}; applying them anyway (--strict refuses)`);
    }
    if (ctx.flag("dry-run")) {
      const plan = await race(migrator.plan({ to }));
      const { dryRunSteps, renderDryRun } = await import("../dry-run.ts");
      const steps = await race(dryRunSteps(db.db, plan, migrator.migrations, {
        table: ctx.string("table"),
        schema: ctx.string("schema"),
        lockTimeoutMs: durationOption(ctx, "lock-timeout"),
        timeoutMs: durationOption(ctx, "timeout"),
        placeholders: placeholderValues(ctx),
        ...lockRetryOptions(ctx),
      }));
      return {
        json: { database: label, dryRun: true, ...plan, outOfOrder: late, steps },
        text: `${planText(plan, ctx.out.c)}${steps.length > 0 ? `\n\n${renderDryRun(steps)}` : ""}`,
      };
    }
    expect(before.migrations.filter((m) => m.state === "pending" && (to === undefined || compareVersions(m.version, to) <= 0)).length);
    const { applied } = await migrator.migrate({ to, allowDrift: ctx.flag("allow-drift"), ...run() });
    const { current } = await race(migrator.status());
    const dumpTo = ctx.string("dump-schema");
    if (dumpTo !== undefined) {
      const { dumpCommand, warnNotice } = await import("./dump.ts");
      const { schemaOptions } = await import("../schema-options.ts");
      const dumped = await race(dumpCommand(db.db, undefined, { ...schemaOptions(ctx), from: "live", label, url, out: dumpTo }));
      warnNotice(ctx, dumped);
      ctx.out.info(dumped.text.trimEnd());
    }
    const c = ctx.out.c;
    return {
      json: { database: label, applied, current, ...(retries.length > 0 ? { retries } : {}), ...(batches.length > 0 ? { batches } : {}) },
      text: applied.length === 0
        ? c.green(`nothing to apply: the database is up to date (version ${current ?? "none"})`)
        : `${applied.length} migration${applied.length === 1 ? "" : "s"} applied; current version ${current}`,
    };
  }, { existing: ctx.flag("dry-run") });
}
