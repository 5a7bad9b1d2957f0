/**
 * Failures of the world around the migrations, given their documented codes and a message that says what to do:
 * a file that cannot be read (`UNREADABLE_FILE`), and a privilege the database role lacks for the version table
 * (`PERMISSION_DENIED`). Pure: it only looks at the error it is given.
 * @module
 */
import { MigrationError } from "./errors.ts";

/**
 * An error from reading a migration file or directory, as `UNREADABLE_FILE` naming the path and the fix.
 *
 * @example
 * ```ts
 * const text = await readFile(file, "utf8").catch((err) => { throw unreadableFile(err, file, version); });
 * ```
 */
export function unreadableFile(err: unknown, file: string, version?: string): MigrationError {
  if (err instanceof MigrationError) return err;
  const code = (err as { code?: string })?.code;
  const fix = code === "EACCES" || code === "EPERM"
    ? `permission denied: give the user running the migrations read access to it (for a directory, also search access: chmod a+rx)`
    : code === "ENOENT"
    ? "it does not exist (a dangling symbolic link, or removed while reading)"
    : code === "EISDIR"
    ? "it is a directory, not a file"
    : code === "ENOTDIR"
    ? "a part of its path is a file, not a directory"
    : (err as Error)?.message ?? String(err);
  return new MigrationError("UNREADABLE_FILE", `cannot read ${file}: ${fix}${code ? ` (${code})` : ""}`, { file, version, cause: err });
}

/**
 * A server error that says the role lacks a privilege (SQLSTATE 42501) while working on the version table, as
 * `PERMISSION_DENIED` with the GRANT that fixes it; undefined for any other error.
 *
 * @example
 * ```ts
 * catch (err) { throw permissionDenied(err, '"orchwf_migrations"', "create") ?? err; }
 * ```
 */
export function permissionDenied(err: unknown, table: string, doing: "create" | "read"): MigrationError | undefined {
  if (err instanceof MigrationError) return undefined;
  const state = (err as { code?: unknown })?.code;
  if (state !== "42501") return undefined;
  const detail = (err as Error).message;
  const schema = /permission denied for schema (\S+)/.exec(detail)?.[1];
  const fix = doing === "create"
    ? `the role needs CREATE on ${schema ? `schema ${schema}` : "the schema"} (as its owner: GRANT CREATE ON SCHEMA ${schema ?? "SCHEMA"} TO <the migrating role>), ` +
      `or name a schema it may write to (--schema, or the schema option), or have the owner create the version table once`
    : `the role needs USAGE on its schema and SELECT, INSERT, UPDATE, DELETE on it (as its owner: GRANT SELECT, INSERT, UPDATE, DELETE ON ${table} TO <the migrating role>)`;
  return new MigrationError(
    "PERMISSION_DENIED",
    `cannot ${doing} the version table ${table}: ${detail} (SQLSTATE 42501); nothing was changed. To fix it, ${fix}`,
    { cause: err },
  );
}
