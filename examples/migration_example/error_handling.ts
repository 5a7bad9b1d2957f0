/**
 * What a failed migration looks like, and how to handle errors: every error is a MigrationError with a stable
 * `code`; a SQL error is a SqlError naming file:line:column, with the SQLSTATE and the offending line.
 * `migrations_with_error/` holds a migration with a typo on line 6. It fails, and leaves nothing behind.
 * Run: `bun examples/migration_example/error_handling.ts` (or `deno run -A …`); ORCHWF_DB_URL picks a server.
 */
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { loadMigrations, MigrationError, Migrator, orchwfMigrations, quickSetup, SqlError } from "../../src/mod.ts";
import { openDatabase } from "./database.ts";

const { db, label, close, query } = await openDatabase();
try {
  console.log(`database: ${label}`);
  await quickSetup(db);

  const dir = fileURLToPath(new URL("./migrations_with_error", import.meta.url));
  const migrator = new Migrator(db, { migrations: [...orchwfMigrations, ...(await loadMigrations(dir))] });
  try {
    await migrator.migrate({ timeoutMs: 30_000 });
    console.log("unexpected: the broken migration was applied");
    process.exitCode = 1;
  } catch (err) {
    if (err instanceof SqlError) {
      // An editor or CI log can jump to this: …/20250201000000_create_invoices.up.sql:6:14
      console.log(`SQL error at ${relative(process.cwd(), err.file!)}:${err.line}:${err.column} (SQLSTATE ${err.sqlState}): ${err.detail}`);
      console.log(err.frame);
    } else if (err instanceof MigrationError) {
      // Branch on the stable code, never on the message text.
      switch (err.code) {
        case "CONNECTION_FAILED":
          console.log(`is the database up? ${err.message}`);
          break;
        case "LOCK_TIMEOUT":
          console.log("another deploy is migrating; try again later");
          break;
        default:
          console.log(`${err.code}: ${err.message}`);
      }
      process.exitCode = 1;
    } else {
      throw err;
    }
  }

  // The failed migration ran in a transaction with its version-table row: nothing of it remains.
  const [after] = await query<{ invoices: string | null; recorded: number }>(
    "SELECT to_regclass('invoices')::text AS invoices, (SELECT count(*)::int FROM orchwf_migrations WHERE version = '20250201000000') AS recorded",
  );
  console.log(`after the failure: invoices table ${after.invoices ?? "absent"}, version recorded ${after.recorded} times`);
  const status = await migrator.status();
  console.log(`current version: ${status.current}, ${status.pending} pending`);
} finally {
  await close();
}
