/**
 * Our library on Bun: `bun scripts/bench/run-ours.ts URL DIR [--profile]`. Loads DIR, migrates, and prints
 * one JSON line: the in-process time, and with --profile the round trips by kind with their total time.
 */
import postgres from "postgres";
import { loadMigrations, Migrator } from "../../src/mod.ts";
import { postgresJsDriver } from "../../src/drivers/postgres-js.ts";
import type { Driver, Queryable } from "../../src/drivers/driver.ts";

const [url, dir, ...flags] = process.argv.slice(2);
const profile = flags.includes("--profile");

/** Round trips by kind: count and milliseconds. */
const trips = new Map<string, { count: number; ms: number }>();
function note(kind: string, ms: number): void {
  const t = trips.get(kind) ?? { count: 0, ms: 0 };
  t.count++;
  t.ms += ms;
  trips.set(kind, t);
}

/** A label for a statement: its first words, with the migration's own SQL as "migration script". */
function kindOf(text: string, scripts: Set<string>): string {
  if (scripts.has(text)) return "migration script";
  const appended = text.lastIndexOf("\n;\nDO $orchwf_bookkeeping"); // the history row, sent with the script
  if (appended >= 0 && scripts.has(text.slice(0, appended))) return "migration script + bookkeeping + COMMIT";
  if (text.startsWith("BEGIN ISOLATION LEVEL") && text.includes("orchwf-step-guard")) {
    return "one message: BEGIN + settings + try-lock + guard + migration script + bookkeeping + COMMIT + digest";
  }
  if (text.startsWith("BEGIN ISOLATION LEVEL")) return "BEGIN + settings + try-lock + version read";
  const head = text.trim().split(/\s+/).slice(0, 3).join(" ").replace(/\$\d+.*/, "");
  return head.length > 40 ? head.slice(0, 40) : head;
}

function counting(q: Queryable, scripts: Set<string>): Queryable {
  return {
    async exec(script, cancel) {
      const t0 = performance.now();
      try {
        return await q.exec(script, cancel);
      } finally {
        note(`exec: ${kindOf(script, scripts)}`, performance.now() - t0);
      }
    },
    async query(text, params) {
      const t0 = performance.now();
      try {
        return await q.query(text, params);
      } finally {
        note(`query: ${kindOf(text, scripts)}`, performance.now() - t0);
      }
    },
    async script(text: string, cancel?: AbortSignal) {
      const t0 = performance.now();
      try {
        return await q.script!(text, cancel);
      } finally {
        note(`script: ${kindOf(text, scripts)}`, performance.now() - t0);
      }
    },
  } as Queryable;
}

const sql = postgres(url, { max: 1, onnotice: () => {} });
const migrations = await loadMigrations(dir);
let db: object = sql;
if (profile) {
  const scripts = new Set(migrations.map((m) => m.up));
  const inner = postgresJsDriver(sql);
  const driver: Driver = {
    ...inner,
    ...counting(inner, scripts),
    async transaction(fn) {
      let innerMs = 0;
      const t0 = performance.now();
      const result = await inner.transaction((tx) => {
        const wrapped = counting(tx, scripts);
        return fn({
          exec: async (s) => { const t = performance.now(); try { return await wrapped.exec(s); } finally { innerMs += performance.now() - t; } },
          query: async (s, p) => { const t = performance.now(); try { return await wrapped.query(s, p); } finally { innerMs += performance.now() - t; } },
        } as Queryable);
      });
      note("BEGIN + COMMIT (driver)", performance.now() - t0 - innerMs);
      return result;
    },
    session: (fn) => inner.session((conn) => fn(counting(conn, scripts))),
  };
  db = driver;
}
const started = performance.now();
const { applied } = await new Migrator(db, { migrations }).migrate();
const ms = performance.now() - started;
await sql.end();
const out: Record<string, unknown> = { ms, applied: applied.length };
if (profile) out.profile = Object.fromEntries([...trips].sort((a, b) => b[1].ms - a[1].ms));
console.log(JSON.stringify(out));
