/**
 * `baseline --to V` or `baseline --from [TOOL]`: record versions as applied without running them; `--from` adopts
 * another tool's history (see sources/adopt.ts).
 * @module
 */
import { MigrationError } from "../../core/errors.ts";
import type { Migrator } from "../../migrator.ts";
import type { CommandContext, CommandResult } from "../context.ts";
import { usage } from "../options.ts";
import { withSession } from "../session.ts";

/**
 * Runs `baseline`.
 *
 * @example
 * ```ts
 * const { json } = await run(ctx); // { database, baselined }
 * ```
 */
export async function run(ctx: CommandContext): Promise<CommandResult> {
  const to = ctx.string("to");
  const from = ctx.string("from");
  if (to === undefined && from === undefined) {
    throw usage("baseline needs --to VERSION (the last version the database already has) or --from [TOOL] (adopt another tool's history)");
  }
  if (to !== undefined && from !== undefined) throw usage("baseline takes --to or --from, not both");
  return await withSession(ctx, async ({ migrator, label, run, db }) => {
    if (to === undefined) {
      const adopted = await adoptForCli(migrator, db.db, {
        from: from === "" || from === "auto" ? undefined : from,
        table: ctx.string("from-table"),
        schema: ctx.string("schema"),
        allowGaps: ctx.flag("allow-gaps"),
      }, run().timeoutMs);
      return { json: { database: label, ...adopted.json }, text: adopted.text.trimEnd() };
    }
    const { baselined } = await migrator.baseline({ to, ...run() });
    return {
      json: { database: label, baselined },
      text: baselined.length === 0
        ? `nothing to baseline: every version up to ${to} is recorded already`
        : baselined.map((b) => `baselined ${b.version} ${b.description} (recorded as applied, not run)`).join("\n"),
    };
  });
}

/**
 * Runs `baseline --from [TOOL] [--from-table NAME] [--allow-gaps]` and returns what to print.
 *
 * @example
 * ```ts
 * const { json, text } = await adoptForCli(migrator, db.db, { from: "dbmate" }, 30_000);
 * ```
 */
async function adoptForCli(
  migrator: Migrator,
  db: object,
  options: { from?: string; table?: string; schema?: string; allowGaps?: boolean },
  timeoutMs: number | undefined,
): Promise<{ json: Record<string, unknown>; text: string }> {
  const { adoptHistory, TOOL_TABLES } = await import("../../sources/adopt.ts");
  const { from } = options;
  if (from !== undefined && !(from in TOOL_TABLES)) {
    throw new MigrationError("USAGE", `unknown tool ${JSON.stringify(from)} for baseline --from; known: ${Object.keys(TOOL_TABLES).sort().join(", ")}`);
  }
  const result = await adoptHistory(db, migrator, {
    from: from as keyof typeof TOOL_TABLES | undefined,
    table: options.table,
    schema: options.schema,
    allowGaps: options.allowGaps,
    timeoutMs,
  });
  const lines = [`read ${result.table} (${result.from}): ${result.versions.length} applied version${result.versions.length === 1 ? "" : "s"}`];
  if (result.baselined.length === 0) lines.push("nothing to baseline: every one of them is recorded already");
  for (const b of result.baselined) lines.push(`baselined ${b.version} ${b.description} (recorded as applied, not run)`);
  return { json: { from: result.from, table: result.table, versions: result.versions, baselined: result.baselined }, text: `${lines.join("\n")}\n` };
}
