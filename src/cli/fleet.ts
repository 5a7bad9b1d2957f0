/**
 * `--targets FILE` and `--schemas PATTERN`: the command (up, down, status, verify, drift) run once per target,
 * each with its own database connection, lock and history, as N single runs would be; at most `--concurrency` at
 * once, `--canary N` first, and at a failure no new target started unless `--continue-on-error`. Text: a table
 * and a summary (a progress line on a terminal); `--json`: one record per target, one per line. Exit 0 when every
 * target succeeded, 1 when any failed or was skipped for a failure, 2 for bad input (nothing run).
 * @module
 */
import { readFile } from "node:fs/promises";
import { MigrationError } from "../core/errors.ts";
import { redactSecrets } from "../core/redact.ts";
import { quoteLiteral } from "../core/sql-text.ts";
import { toDriver } from "../drivers/detect.ts";
import { type FleetRecord, runFleet } from "../fleet/run.ts";
import { type CommandContext, type CommandResult, EXIT } from "./context.ts";
import { parseTargets } from "./fleet-targets.ts";
import { Output } from "./output.ts";
import { maskUrl, urlSecrets } from "./postgres-url.ts";
import { chooseDatabase, openDatabase } from "./resolve-db.ts";

/** One target: a database URL, and a schema for a tenant of `--schemas`. */
interface Target {
  url: string;
  schema?: string;
}

/** What a fleet record carries of a command's result. */
interface TargetResult {
  current?: string | null;
  applied?: string[];
  pending?: number;
  exit: number;
}

/**
 * Runs `run` (a command's implementation) on every target and prints the fleet's outcome; returns the exit code.
 *
 * @example
 * ```ts
 * const code = await runFleetCommand(ctx, (await spec.load()).run);
 * ```
 */
export async function runFleetCommand(ctx: CommandContext, run: (ctx: CommandContext) => Promise<CommandResult>): Promise<number> {
  // What prints or writes one database's result has no place in a fleet's table: refused, not silently dropped.
  for (const name of ["dry-run", "dump-schema", "wait"]) {
    if (ctx.spec.options.concat(ctx.globalOptions).some((o) => o.name === name) && (ctx.flag(name) || (name === "dump-schema" && ctx.string(name) !== undefined))) {
      throw new MigrationError("USAGE", `--${name} works on one database; it cannot be combined with --targets or --schemas`);
    }
  }
  const targets = await fleetTargets(ctx);
  const concurrency = count(ctx, "concurrency", 4, 1);
  const canary = count(ctx, "canary", 0, 0);
  const out = ctx.out;
  let done = 0;
  const label = (t: Target) => (t.schema !== undefined ? `${maskUrl(t.url)} schema ${t.schema}` : maskUrl(t.url));
  const records = await runFleet(targets, (t) => runOne(ctx, run, t), {
    concurrency,
    canary,
    continueOnError: ctx.flag("continue-on-error"),
    label,
    describe: (err) => describe(err, targets),
    onTarget: (r) => {
      if (r.status !== "skipped") done++;
      out.progress(`${ctx.spec.name}: ${done} of ${targets.length} targets done${r.status === "failed" ? ` (${r.target} failed)` : ""}`);
    },
  });
  out.clearProgress();
  if (out.options.json) {
    for (const r of records) out.line(JSON.stringify(jsonRecord(r)));
  } else {
    out.line(table(records));
  }
  const failed = records.filter((r) => r.status === "failed").length;
  const skipped = records.filter((r) => r.status === "skipped").length;
  out.info(`${records.length} targets: ${records.length - failed - skipped} ok, ${failed} failed, ${skipped} skipped`);
  if (failed > 0 || skipped > 0) return EXIT.failure;
  return records.some((r) => r.result?.exit === EXIT.pending) ? EXIT.pending : EXIT.ok;
}

/** The targets: the file's URLs (`-`: stdin), or each schema of the database that matches `--schemas`. */
async function fleetTargets(ctx: CommandContext): Promise<Target[]> {
  const file = ctx.string("targets");
  const pattern = ctx.string("schemas");
  if (file !== undefined && pattern !== undefined) throw new MigrationError("USAGE", "--targets and --schemas cannot be combined: give one");
  if (file !== undefined) {
    if (ctx.string("db") !== undefined && ctx.source("db") === "--db") throw new MigrationError("USAGE", "--targets and --db cannot be combined: the file names the databases");
    const text = file === "-" ? await readStdin() : await readFile(file, "utf8").catch((e: NodeJS.ErrnoException) => {
      throw new MigrationError("USAGE", `cannot read the targets file ${file}: ${e.code === "ENOENT" ? "no such file" : e.message}`);
    });
    return parseTargets(text, ctx.env, file === "-" ? "stdin" : file).map((t) => ({ url: t.url }));
  }
  const { url } = chooseDatabase(ctx.string("db"), {});
  const schemas = await matchingSchemas(url, pattern!);
  return schemas.map((schema) => ({ url, schema }));
}

/** The schemas `pattern` names: a comma-separated list as given, or those matching a LIKE pattern (`tenant_%`). */
async function matchingSchemas(url: string, pattern: string): Promise<string[]> {
  const names = pattern.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (names.length === 0) throw new MigrationError("USAGE", "--schemas needs a LIKE pattern (tenant_%) or a list of schemas (a,b,c)");
  if (names.length > 1 || !/[%_]/.test(pattern)) {
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice) throw new MigrationError("USAGE", `--schemas lists ${twice} twice; each schema once (nothing was run)`);
    return names;
  }
  const db = await openDatabase(url, { mustExist: true });
  try {
    const rows = await toDriver(db.db as never).query<{ nspname: string }>(
      `SELECT nspname FROM pg_namespace WHERE nspname LIKE ${quoteLiteral(pattern)} AND nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY nspname`,
    );
    if (rows.length === 0) throw new MigrationError("USAGE", `no schema of ${db.label} matches --schemas ${pattern} (a LIKE pattern: % any text, _ one character)`);
    return rows.map((r) => r.nspname);
  } finally {
    await db.close();
  }
}

/** One target's run: the command itself, with the target's database and schema, printing nothing. */
async function runOne(ctx: CommandContext, run: (ctx: CommandContext) => Promise<CommandResult>, t: Target): Promise<TargetResult> {
  const prefix = t.schema !== undefined ? `${t.schema}: ` : `${maskUrl(t.url)}: `;
  const out = new Output({
    stdout: () => {},
    stderr: (text) => ctx.out.warn(`${prefix}${text.replace(/^(\u001b\[[0-9;]*m)?warning: /, "").trimEnd()}`),
    env: ctx.env,
    isTTY: false,
  }, { json: true, quiet: true, verbose: false });
  out.secrets.push(...urlSecrets(t.url));
  const child: CommandContext = {
    ...ctx,
    out,
    string: (name) => (name === "db" ? t.url : name === "schema" && t.schema !== undefined ? t.schema : name === "targets" || name === "schemas" ? undefined : ctx.string(name)),
    source: (name) => (name === "db" ? "--targets" : ctx.source(name)),
    flag: (name) => (name === "json" ? true : ctx.flag(name)),
  };
  const result = await run(child);
  const json = (result.json ?? {}) as {
    current?: string | null;
    applied?: { version: string }[];
    rolledBack?: { version: string }[];
    pending?: number;
    error?: { code: string; message: string };
  };
  if (result.exit === EXIT.failure) {
    // A finding, not an exception (drift found, a down that does not reverse its up): the target failed.
    const firstLine = (result.text ?? "").split("\n").find((l) => /drift|fail|error/i.test(l)) ?? `${ctx.spec.name} failed`;
    throw Object.assign(new Error(json.error?.message ?? firstLine), { code: json.error?.code ?? (ctx.spec.name === "drift" ? "DRIFT" : "FAILED") });
  }
  const moved = ctx.spec.name === "up" ? json.applied : ctx.spec.name === "down" ? json.rolledBack : undefined;
  return {
    current: json.current,
    applied: moved?.map((a) => a.version),
    pending: ctx.spec.name === "status" ? json.pending : undefined,
    exit: result.exit ?? EXIT.ok,
  };
}

/** A failed target's code and message, with every target's password masked. */
function describe(err: unknown, targets: readonly Target[]): { code: string; message: string } {
  const secrets = targets.flatMap((t) => urlSecrets(t.url));
  const own = (err as { code?: unknown })?.code;
  const code = err instanceof MigrationError ? err.code : typeof own === "string" && /^[A-Z_]+$/.test(own) ? own : "ERROR";
  return { code, message: redactSecrets(err instanceof Error ? err.message : String(err), secrets) };
}

function jsonRecord(r: FleetRecord<TargetResult>): Record<string, unknown> {
  return {
    target: r.target,
    status: r.status,
    ...(r.result ? { current: r.result.current ?? null, applied: r.result.applied ?? [], ...(r.result.pending !== undefined ? { pending: r.result.pending } : {}) } : {}),
    ...(r.error ? { error: r.error } : {}),
    durationMs: r.durationMs,
  };
}

function table(records: readonly FleetRecord<TargetResult>[]): string {
  const rows = records.map((r) => [
    r.target,
    r.status,
    r.result?.current ?? "-",
    r.result?.applied ? String(r.result.applied.length) : r.result?.pending !== undefined ? `${r.result.pending} pending` : "-",
    `${r.durationMs} ms`,
    r.error ? `${r.error.code}: ${r.error.message.split("\n")[0]}` : "",
  ]);
  const header = ["TARGET", "STATUS", "CURRENT", "APPLIED", "TIME", "ERROR"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join("  ").trimEnd()).join("\n");
}

function count(ctx: CommandContext, name: string, fallback: number, min: number): number {
  const text = ctx.string(name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new MigrationError("USAGE", `--${name} takes a whole number of at least ${min}, not ${JSON.stringify(text)}`);
  return n;
}

async function readStdin(): Promise<string> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Uint8Array);
  return Buffer.concat(chunks).toString("utf8");
}
