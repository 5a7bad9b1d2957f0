/**
 * What the application sees while a migration's ALTER TABLE waits for its lock, for several DDL lock timeouts
 * (README: Short lock waits, retried; BENCHMARKS.md: DDL lock waits). A busy table `t` (100,000 rows) gets short
 * application transactions from `CLIENTS` connections (a primary-key UPDATE, then a pause of up to `HOLD_MS` before
 * COMMIT, as an application's transaction holds its lock); the Migrator applies `ALTER TABLE t ADD COLUMN` with
 * each `ddlLockTimeoutMs`. Reported: how many attempts the ALTER needed, the longest any application statement
 * waited, and the run's time. With `--report S`, a report transaction that read `t` stays open for S seconds first.
 *
 *   bun scripts/bench/ddl-lock-waits.ts [--report 8] [--clients 8] [--hold 50]
 */
import postgres from "postgres";
import process from "node:process";
import { Migrator, type MigrationEvent } from "../../src/mod.ts";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const SERVER = process.env.ORCHWF_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const CLIENTS = arg("clients", 8);
const HOLD_MS = arg("hold", 50);
const REPORT_S = arg("report", 0);
const TIMEOUTS = [50, 200, 500, 2000, 0];

const admin = postgres(SERVER, { max: 1, onnotice: () => {} });
const name = `orchwf_ddl_bench_${process.pid}`;
await admin.unsafe(`CREATE DATABASE ${name}`);
const url = new URL(SERVER);
url.pathname = `/${name}`;
const setup = postgres(url.toString(), { max: 1, onnotice: () => {} });
await setup.unsafe("CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL DEFAULT 0)");
await setup.unsafe("INSERT INTO t (id) SELECT g FROM generate_series(1, 100000) g");
await setup.unsafe("VACUUM ANALYZE t");

console.log(`| DDL lock timeout | attempts | longest app wait ms | app statements | run ms |`);
console.log(`| ---: | ---: | ---: | ---: | ---: |`);
for (const [i, ddlLockTimeoutMs] of TIMEOUTS.entries()) {
  const app = postgres(url.toString(), { max: CLIENTS, onnotice: () => {} });
  let stop = false;
  let slowest = 0;
  let statements = 0;
  const worker = async () => {
    while (!stop) {
      await app.begin(async (tx) => {
        const started = performance.now();
        await tx.unsafe("UPDATE t SET v = v + 1 WHERE id = $1", [1 + Math.floor(Math.random() * 100000)]);
        slowest = Math.max(slowest, performance.now() - started);
        statements++;
        await new Promise((r) => setTimeout(r, Math.random() * HOLD_MS));
      });
    }
  };
  const workers = Array.from({ length: CLIENTS }, worker);
  await new Promise((r) => setTimeout(r, 500)); // the load settles
  let report: postgres.Sql | undefined;
  if (REPORT_S > 0) {
    report = postgres(url.toString(), { max: 1, onnotice: () => {} });
    await report.unsafe("BEGIN");
    await report.unsafe("SELECT count(*) FROM t");
    setTimeout(() => report!.unsafe("COMMIT"), REPORT_S * 1000);
  }
  slowest = 0;
  const events: MigrationEvent[] = [];
  const sql = postgres(url.toString(), { max: 2, onnotice: () => {} });
  const started = performance.now();
  let outcome = "";
  try {
    await new Migrator(sql, {
      migrations: [{ version: "1", description: "add", up: `ALTER TABLE t ADD COLUMN c${i} int` }],
      table: `bench_${i}`,
      ddlLockTimeoutMs,
      onEvent: (e) => events.push(e), // the default 10 retries
    }).migrate({ timeoutMs: 60_000 }); // a row never runs longer than a minute
  } catch (err) {
    outcome = ` (${(err as Error).message.split("\n")[0]})`;
  }
  const runMs = performance.now() - started;
  stop = true;
  await Promise.all(workers);
  await Promise.all([app.end(), sql.end(), report?.end()]);
  const attempts = 1 + events.filter((e) => e.type === "retry").length;
  const label = ddlLockTimeoutMs === 0 ? "off (60 s)" : `${ddlLockTimeoutMs} ms`;
  console.log(`| ${label} | ${attempts} | ${Math.round(slowest)} | ${statements} | ${Math.round(runMs)}${outcome} |`);
}
await setup.end();
await admin.unsafe(`DROP DATABASE ${name} WITH (FORCE)`);
await admin.end();
