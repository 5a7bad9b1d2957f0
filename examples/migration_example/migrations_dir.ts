/**
 * A directory of your own migrations (golang-migrate file names: VERSION_name.up.sql / .down.sql), applied
 * after the built-in OrchWF schema. `migrations/` here holds three, the last one outside a transaction
 * (`-- orchwf:no-transaction`, for CREATE INDEX CONCURRENTLY).
 * Run: `bun examples/migration_example/migrations_dir.ts` (or `deno run -A …`); ORCHWF_DB_URL picks a server.
 */
import { fileURLToPath } from "node:url";
import { loadMigrations, Migrator, orchwfMigrations } from "../../src/mod.ts";
import { openDatabase } from "./database.ts";

const dir = fileURLToPath(new URL("./migrations", import.meta.url));
const mine = await loadMigrations(dir); // refuses bad names, duplicates, a down without its up, non-UTF-8 files
console.log(`loaded ${mine.length} migrations from ${dir}`);

const { db, label, close, query } = await openDatabase();
try {
  console.log(`database: ${label}`);
  const migrator = new Migrator(db, {
    migrations: [...orchwfMigrations, ...mine],
    logger: console, // one line per migration: "applied 20250101000000 create customers (3.1 ms)"
  });
  await migrator.migrate();

  await query("INSERT INTO customers (email, name) VALUES ($1, $2)", ["Ada@example.com", "Ada"]);
  const duplicate = await query("INSERT INTO customers (email, name) VALUES ($1, $2)", ["ada@EXAMPLE.com", "Ada again"])
    .then(() => "accepted", (err: { code?: string }) => {
      // Only a unique violation (SQLSTATE 23505) is the answer we expect; any other error is a real failure.
      if (err?.code !== "23505") throw err;
      return "refused by the unique index (SQLSTATE 23505)";
    });
  console.log(`a second customer with the same e-mail: ${duplicate}`);

  const { rolledBack } = await migrator.rollback({ to: orchwfMigrations[orchwfMigrations.length - 1].version });
  console.log(`rolled back to the built-in schema: ${rolledBack.map((r) => r.version).join(", ")}`);
  const [left] = await query<{ customers: string | null }>("SELECT to_regclass('customers')::text AS customers");
  console.log(`customers table after the rollback: ${left.customers ?? "gone"}`);

  await migrator.migrate();
  const status = await migrator.status();
  console.log(`current version: ${status.current}, ${status.pending} pending`);
} finally {
  await close();
}
