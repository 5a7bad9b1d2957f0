/**
 * Turning results into text: progress lines, the status table, colours (off for NO_COLOR, --no-color and
 * when the output is not a terminal). Pure functions of their input, so the output is predictable.
 * @module
 */
import type { MigrationEvent, MigrationPlan, StatusReport } from "../migrator.ts";
import type { MigrationState } from "../core/plan.ts";

/** Colour functions; identity when colours are off. */
export interface Palette {
  green(s: string): string;
  yellow(s: string): string;
  red(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

const ansi = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`;

/**
 * Colours when wanted and possible.
 *
 * @example
 * ```ts
 * const c = palette(process.stdout.isTTY && !process.env.NO_COLOR);
 * console.log(c.green("applied"));
 * ```
 */
export function palette(enabled: boolean): Palette {
  if (!enabled) {
    const plain = (s: string) => s;
    return { green: plain, yellow: plain, red: plain, dim: plain, bold: plain };
  }
  return { green: ansi(32, 39), yellow: ansi(33, 39), red: ansi(31, 39), dim: ansi(2, 22), bold: ansi(1, 22) };
}

/**
 * Whether to colour: a terminal, no NO_COLOR (any non-empty value), no --no-color.
 *
 * @example
 * ```ts
 * useColor({ isTTY: true, env: process.env, flag: true }); // true unless NO_COLOR is set
 * ```
 */
export function useColor(args: { isTTY: boolean; env: Record<string, string | undefined>; flag: boolean }): boolean {
  if (!args.flag) return false;
  if (args.env.NO_COLOR) return false;
  if (args.env.FORCE_COLOR && args.env.FORCE_COLOR !== "0") return true;
  return args.isTTY;
}

/**
 * One progress line for a Migrator event, or undefined for events that print nothing.
 *
 * @example
 * ```ts
 * progressLine({ type: "done", direction: "up", version: "001", description: "Create OrchWF tables", durationMs: 12.3 }, palette(false));
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
 * The status table: version, description, state, applied at; then a summary line.
 *
 * @example
 * ```ts
 * console.log(statusTable(await migrator.status(), "pglite:memory", palette(false)));
 * ```
 */
export function statusTable(report: StatusReport, database: string, c: Palette): string {
  const header = ["VERSION", "DESCRIPTION", "STATE", "APPLIED AT"];
  const rows = report.migrations.map((m) => [
    m.version,
    m.description,
    m.state,
    m.appliedAt ? m.appliedAt.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC") : "-",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[], color?: (cell: string, i: number) => string) =>
    cells.map((cell, i) => {
      const padded = i === cells.length - 1 ? cell : cell.padEnd(widths[i]);
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
  out.push(report.pending > 0 || problems.length > 0 ? c.yellow(summary) : c.green(summary));
  return out.join("\n");
}

/**
 * What `up --dry-run` prints.
 *
 * @example
 * ```ts
 * console.log(planText(await migrator.plan(), palette(false)));
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
