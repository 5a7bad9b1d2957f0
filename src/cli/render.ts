/**
 * Turning results into text: progress lines, the status table (aligned by display width, so CJK and emoji
 * line up), the dry-run plan, out-of-order versions. Pure functions of their input.
 * @module
 */
import type { MigrationEvent, MigrationPlan, StatusReport } from "../migrator.ts";
import { compareVersions } from "../core/migration.ts";
import type { MigrationState, StatusEntry } from "../core/plan.ts";
import type { Palette } from "./output.ts";

export { palette, type Palette, useColor } from "./output.ts";

/**
 * One progress line for a Migrator event, or undefined for events that print nothing.
 *
 * @example
 * ```ts
 * progressLine({ type: "done", direction: "up", version: "001", description: "Create OrchWF tables", durationMs: 12.3 }, palette(undefined));
 * // "applied      001  Create OrchWF tables  (12.3 ms)"
 * ```
 */
export function progressLine(event: MigrationEvent, c: Palette): string | undefined {
  if (event.type === "warning") return c.yellow(`warning: ${event.message}`);
  if (event.type !== "done") return undefined;
  const verb = event.direction === "up" ? c.green("applied    ") : c.yellow("rolled back");
  return `${verb}  ${event.version}  ${event.description}  ${c.dim(`(${formatMs(event.durationMs)})`)}`;
}

/** 12.3 ms, 1.2 s. */
function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms * 10) / 10} ms` : `${Math.round(ms / 100) / 10} s`;
}

const STATE_COLOR: Record<MigrationState, keyof Palette> = {
  applied: "green",
  pending: "yellow",
  modified: "red",
  missing: "red",
  failed: "red",
};

/**
 * How many columns each cell takes on a terminal. Printable ASCII is one column a character; other text (wide CJK,
 * emoji, combining marks) goes through string-width, loaded only then: its grapheme segmentation and its module
 * cost 75 ms of a 250 ms `status` of 400 ASCII rows.
 */
async function widthOf(cells: string[]): Promise<(cell: string) => number> {
  const ascii = (cell: string) => /^[\x20-\x7e]*$/.test(cell);
  if (cells.every(ascii)) return (cell) => cell.length;
  const { default: stringWidth } = await import("string-width");
  return (cell) => (ascii(cell) ? cell.length : stringWidth(cell));
}

/**
 * The status table: version, description, state, applied at; then a summary line.
 *
 * @example
 * ```ts
 * console.log(await statusTable(await migrator.status(), "pglite:memory", palette(undefined)));
 * ```
 */
export async function statusTable(report: StatusReport, database: string, c: Palette): Promise<string> {
  const late = new Set(outOfOrder(report.migrations));
  const header = ["VERSION", "DESCRIPTION", "STATE", "APPLIED AT"];
  const rows = report.migrations.map((m) => [
    m.version,
    m.description,
    late.has(m.version) ? `${m.state} (out of order)` : m.state,
    m.appliedAt ? m.appliedAt.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC") : "-",
  ]);
  const width = await widthOf(rows.flat());
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => width(r[i]))));
  const line = (cells: string[], color?: (cell: string, i: number) => string) =>
    cells.map((cell, i) => {
      const padded = i === cells.length - 1 ? cell : cell + " ".repeat(Math.max(0, widths[i] - width(cell)));
      return color ? color(padded, i) : padded;
    }).join("  ").trimEnd();
  const out = [`${c.dim("database:")} ${database}   ${c.dim("table:")} ${report.table}`, "", c.bold(line(header))];
  for (const [index, row] of rows.entries()) {
    const state = report.migrations[index].state;
    out.push(line(row, (cell, i) => (i === 2 ? c[STATE_COLOR[state]](cell) : cell)));
  }
  if (rows.length === 0) out.push(c.dim("(no migrations)"));
  out.push("");
  const problems = report.migrations.filter((m) => m.state !== "applied" && m.state !== "pending");
  const summary = `current version: ${report.current ?? "none"}, ${report.pending} pending` +
    (problems.length > 0 ? `, ${problems.length} needing attention (${problems.map((p) => `${p.version} ${p.state}`).join(", ")})` : "");
  const lateNote = late.size > 0 ? `; out of order (below applied ${report.current}): ${[...late].join(", ")}` : "";
  out.push(report.pending > 0 || problems.length > 0 ? c.yellow(summary + lateNote) : c.green(summary));
  return out.join("\n");
}

/**
 * What `up --dry-run` prints.
 *
 * @example
 * ```ts
 * console.log(planText(await migrator.plan(), palette(undefined)));
 * ```
 */
export function planText(plan: MigrationPlan, c: Palette): string {
  const out: string[] = [];
  if (plan.pending.length === 0) out.push(c.green("nothing to apply: the database is up to date"));
  else out.push(`would apply ${plan.pending.length} migration${plan.pending.length === 1 ? "" : "s"}:`);
  for (const m of plan.pending) {
    out.push(`  ${m.version}  ${m.description}${m.transaction ? "" : c.dim("  (no transaction)")}`);
  }
  if (plan.modified.length > 0) {
    out.push(c.red(`modified since applied (blocks up unless --allow-drift): ${plan.modified.join(", ")}`));
  }
  if (plan.missing.length > 0) out.push(c.yellow(`applied but missing from the migrations: ${plan.missing.join(", ")}`));
  return out.join("\n");
}

/**
 * Pending versions lower than the highest applied version (the `current` one; out of order, common after merging branches):
 * `up` applies them with a warning, `--strict` refuses.
 *
 * @example
 * ```ts
 * outOfOrder((await migrator.status()).migrations); // ["004"] when 005 is applied and 004 is not
 * ```
 */
export function outOfOrder(entries: readonly StatusEntry[], to?: string): string[] {
  let highest = -1;
  entries.forEach((e, i) => {
    if (e.state !== "pending" && e.state !== "failed") highest = i; // a failed version never completed: not "applied"
  });
  return entries
    .slice(0, Math.max(0, highest))
    .filter((e) => e.state === "pending" && (to === undefined || compareVersions(e.version, to) <= 0))
    .map((e) => e.version);
}
