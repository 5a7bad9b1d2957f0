/**
 * goose's SQL format: one `VERSION_name.sql` file per migration, annotated `-- +goose Up` / `-- +goose Down`;
 * `-- +goose StatementBegin` / `StatementEnd` around statements with semicolons inside (we split by PostgreSQL's
 * grammar anyway, so they only have to balance); `-- +goose NO TRANSACTION` runs it outside a transaction;
 * `-- +goose ENVSUB ON` / `OFF` turn on goose's environment substitution (`${NAME}`, see core/placeholders.ts).
 * @module
 */
import { MigrationError } from "../core/errors.ts";
import type { Migration } from "../core/migration.ts";
import { sections } from "./files.ts";
import { numberedFiles, singleFileMigration, upAndDown } from "./single-file.ts";

const ANNOTATION = /^--\s*\+goose\s+(.*?)\s*$/i;

/**
 * Reads a goose migrations directory. Go migrations (`.go` files) cannot be run and are refused, naming the file.
 *
 * @example
 * ```ts
 * const list = await readGoose("./migrations");
 * ```
 */
export async function readGoose(dir: string): Promise<Migration[]> {
  const files = await numberedFiles(
    dir,
    "goose",
    /^(\d+)_(.*)\.sql$/,
    "VERSION_name.sql (VERSION: digits, e.g. 00001_create_users.sql or 20240131120000_create_users.sql)",
    /^\d+_.*\.go$/,
  );
  return files.map((file) => {
    let transaction = true;
    let envsub = false; // between -- +goose ENVSUB ON and OFF
    let usesEnvsub = false;
    const envsubAt = new Map<string, boolean>(); // at the start of the up and the down section
    let open: number | undefined; // line of an unclosed StatementBegin
    const fail = (line: number, message: string) => new MigrationError("INVALID_MIGRATION", `${file.path}:${line}: ${message}`, { file: file.path });
    const parts = sections(file.text, (line, n) => {
      const m = ANNOTATION.exec(line);
      if (!m) return undefined;
      const command = m[1].toLowerCase().replace(/\s+/g, " ");
      if (command === "up" || command === "down") {
        if (open !== undefined) throw fail(open, "-- +goose StatementBegin without StatementEnd");
        envsubAt.set(command, envsub);
        return command;
      }
      if (command === "statementbegin") {
        if (open !== undefined) throw fail(n, "-- +goose StatementBegin inside another StatementBegin");
        open = n;
      } else if (command === "statementend") {
        if (open === undefined) throw fail(n, "-- +goose StatementEnd without StatementBegin");
        open = undefined;
      } else if (command === "no transaction") transaction = false;
      else if (command === "envsub on" || command === "envsub off") {
        envsub = command === "envsub on";
        usesEnvsub ||= envsub;
      } else throw fail(n, `unknown goose annotation "-- +goose ${m[1]}" (known: Up, Down, StatementBegin, StatementEnd, NO TRANSACTION, ENVSUB ON, ENVSUB OFF)`);
      return undefined;
    });
    if (open !== undefined) throw fail(open, "-- +goose StatementBegin without StatementEnd");
    const { up, down } = upAndDown(file, parts, {
      up: "-- +goose Up",
      down: "-- +goose Down",
      noun: "",
      missingUp: 'no "-- +goose Up" annotation; goose SQL migrations start with "-- +goose Up"',
      second: "; a goose file has one of each",
      ordered: true,
    });
    const migration = singleFileMigration(file, carryEnvsub(up, envsubAt.get("up")), down === undefined ? undefined : carryEnvsub(down, envsubAt.get("down")), transaction);
    if (usesEnvsub) migration.placeholders = "goose";
    return migration;
  });
}

/**
 * A section whose substitution was switched on before it (ENVSUB ON above `-- +goose Up`, or left on by the up)
 * says so on its first line, which is padding (a blank line standing for a line above the section): line numbers stay.
 */
function carryEnvsub(section: string, on: boolean | undefined): string {
  return on && /^[\r\n]/.test(section) ? `-- +goose ENVSUB ON${section}` : section;
}
