/**
 * `up --dry-run` prints what `up` sends: every statement of the dry run (ours and the migrations') is found, in
 * order, in what the engine then sends for real, on PostgreSQL (postgres.js' debug hook sees every query) and
 * PGlite (its exec/query calls are recorded). The dry run is built by the engine's own builders, not a copy.
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import postgres from "postgres";
import { type Migration, Migrator } from "../src/mod.ts";
import { dryRunSteps } from "../src/cli/dry-run.ts";
import { postgresEngine } from "./helpers/engines.ts";
import { scratchPGlite } from "../src/schema/scratch-pglite.ts";

const migrations: Migration[] = [
  { version: "001", description: "a", up: "CREATE TABLE a (id int);" },
  { version: "002", description: "b", up: "-- orchwf:no-transaction\nCREATE INDEX CONCURRENTLY a_i ON a (id);", transaction: false },
  { version: "003", description: "c", up: "CREATE TABLE c (id int);\nINSERT INTO c VALUES (1);" },
  { version: "004", description: "d", up: "CREATE TABLE d (id int);" },
];

/** Each statement found in `sent` after the one before it. */
function assertInOrder(statements: string[], sent: string): void {
  let at = 0;
  for (const st of statements) {
    const text = st.replace(/ -- \$1 = .*$/, ""); // the settle UPDATE's parameters are sent apart
    const found = sent.indexOf(text, at);
    assert.ok(found >= 0, `not sent (after position ${at}):\n${text}\n\nsent:\n${sent.slice(at, at + 2000)}`);
    at = found + text.length;
  }
}

async function dryThenReal(db: object, record: () => string): Promise<void> {
  await new Migrator(db, { migrations: migrations.slice(0, 1) }).migrate();
  const migrator = new Migrator(db, { migrations });
  const steps = await dryRunSteps(db as never, await migrator.plan(), migrations);
  assert.deepEqual(steps.map((s) => s.version), ["002", "003", "004"]);
  const startAt = record().length;
  await migrator.migrate();
  assertInOrder(steps.flatMap((s) => s.statements.map((st) => st.sql)), record().slice(startAt));
}

describe("up --dry-run is what up sends", () => {
  const closers: (() => Promise<void>)[] = [];
  after(async () => {
    for (const close of closers) await close();
  });

  test("on PostgreSQL", async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    const d = await postgresEngine.open();
    closers.push(() => d.close());
    let sent = "";
    const sql = postgres(d.url!, { max: 1, onnotice: () => {}, debug: (_c: number, query: string) => void (sent += `${query}\n`) });
    closers.unshift(() => sql.end());
    await dryThenReal(sql, () => sent);
  });

  test("on PGlite", async () => {
    const db = await scratchPGlite();
    closers.push(() => db.close());
    let sent = "";
    // Records what reaches PGlite (its transaction objects too), passing everything on unchanged.
    const recorded = <T extends object>(target: T): T =>
      new Proxy(target, {
        get(o, prop) {
          const value = Reflect.get(o, prop, o);
          if (typeof value !== "function") return value;
          if (prop === "exec" || prop === "query") {
            return (text: string, ...rest: unknown[]) => {
              sent += `${text}\n`;
              return value.call(o, text, ...rest);
            };
          }
          if (prop === "transaction") {
            return (fn: (tx: object) => unknown) => value.call(o, (tx: object) => {
              sent += "BEGIN\n";
              return Promise.resolve(fn(recorded(tx))).then((r) => {
                sent += "COMMIT\n";
                return r;
              });
            });
          }
          return value.bind(o);
        },
      });
    await dryThenReal(recorded(db), () => sent);
  });
});
