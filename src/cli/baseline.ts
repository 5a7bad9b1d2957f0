/**
 * `baseline --from TOOL`: adopt another tool's history (see sources/adopt.ts) and render what was done.
 * @module
 */
import { MigrationError } from "../core/errors.ts";
import type { Migrator } from "../migrator.ts";
import { adoptHistory, type SourceTool, TOOL_TABLES } from "../sources/adopt.ts";
import { rawOption } from "./options.ts";

/**
 * Runs `baseline --from [TOOL] [--from-table NAME] [--allow-gaps]` and returns what to print.
 *
 * @example
 * ```ts
 * const { json, text } = await adoptForCli(migrator, db.db, argv, 30_000);
 * ```
 */
export async function adoptForCli(
  migrator: Migrator,
  db: object,
  argv: readonly string[],
  timeoutMs: number | undefined,
): Promise<{ json: Record<string, unknown>; text: string }> {
  const raw = rawOption(argv, "from");
  const from = raw === undefined || raw.startsWith("-") || raw === "auto" ? undefined : raw;
  if (from !== undefined && !(from in TOOL_TABLES)) {
    throw new MigrationError("USAGE", `unknown tool ${JSON.stringify(from)} for baseline --from; known: ${Object.keys(TOOL_TABLES).sort().join(", ")}`);
  }
  const result = await adoptHistory(db, migrator, {
    from: from as SourceTool | undefined,
    table: rawOption(argv, "from-table"),
    schema: rawOption(argv, "schema"),
    allowGaps: argv.includes("--allow-gaps"),
    timeoutMs,
  });
  const lines = [`read ${result.table} (${result.from}): ${result.versions.length} applied version${result.versions.length === 1 ? "" : "s"}`];
  if (result.baselined.length === 0) lines.push("nothing to baseline: every one of them is recorded already");
  for (const b of result.baselined) lines.push(`baselined ${b.version} ${b.description} (recorded as applied, not run)`);
  return { json: { from: result.from, table: result.table, versions: result.versions, baselined: result.baselined }, text: `${lines.join("\n")}\n` };
}
