/**
 * The Migration type, migration file names, header directives, validation and checksums.
 * Pure: no I/O here (see `load.ts` for reading a directory).
 * @module
 */
import { createHash } from "node:crypto";
import { MigrationError } from "./errors.ts";
import { splitStatements } from "./split.ts";

/**
 * One schema change: SQL to apply and, optionally, SQL to reverse it.
 *
 * @example
 * ```ts
 * const m: Migration = {
 *   version: "002",
 *   description: "add users",
 *   up: "CREATE TABLE users (id int PRIMARY KEY);",
 *   down: "DROP TABLE users;",
 * };
 * ```
 */
export interface Migration {
  /** Digits only, ordered numerically ("001" < "2" < "10"); kept as written in the version table. */
  version: string;
  /** Human description, stored in the version table. */
  description: string;
  /** SQL applied by `migrate()`. */
  up: string;
  /** SQL applied by `rollback()`; without it the migration cannot be rolled back. */
  down?: string;
  /** `false` runs the SQL (up and down) outside a transaction, statement by statement (default `true`). */
  transaction?: boolean;
  /** Files the SQL came from, for error messages. */
  source?: { up?: string; down?: string };
}

/** What a migration file name says. */
export interface ParsedFileName {
  version: string;
  name: string;
  direction: "up" | "down";
}

const FILE_NAME = /^(\d+)_([^/\\]+)\.(up|down)\.sql$/;

/**
 * Parses a golang-migrate style name: `VERSION_name.up.sql` or `VERSION_name.down.sql`.
 * Returns `undefined` when the name does not follow the convention.
 *
 * @example
 * ```ts
 * parseFileName("001_create_orchwf_tables.up.sql");
 * // { version: "001", name: "create_orchwf_tables", direction: "up" }
 * ```
 */
export function parseFileName(fileName: string): ParsedFileName | undefined {
  const m = FILE_NAME.exec(fileName);
  if (!m) return undefined;
  return { version: m[1], name: m[2], direction: m[3] as "up" | "down" };
}

/** Directives read from the leading comment lines of a migration file. */
export interface FileDirectives {
  /** `-- orchwf:no-transaction` was present. */
  noTransaction: boolean;
  /** Text of `-- orchwf:description TEXT`, if present. */
  description?: string;
}

const DIRECTIVE = /^--\s*orchwf:([a-z-]+)\s*(.*?)\s*$/;

/**
 * Reads `-- orchwf:…` directives from the comment block at the top of a file.
 * An unknown directive is an error (a typo must not silently run a migration in a transaction).
 *
 * @example
 * ```ts
 * readDirectives("-- orchwf:no-transaction\nCREATE INDEX CONCURRENTLY ...", "f.up.sql");
 * // { noTransaction: true }
 * ```
 */
export function readDirectives(sql: string, file: string): FileDirectives {
  const result: FileDirectives = { noTransaction: false };
  const lines = sql.replace(/^\uFEFF/, "").split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    if (!line.startsWith("--")) break;
    const m = DIRECTIVE.exec(line);
    if (!m) continue;
    if (m[1] === "no-transaction" && m[2] === "") result.noTransaction = true;
    else if (m[1] === "description" && m[2] !== "") result.description = m[2];
    else {
      throw new MigrationError(
        "INVALID_MIGRATION",
        `${file}:${i + 1}: unknown directive "${line}" (known: "-- orchwf:no-transaction", "-- orchwf:description TEXT")`,
        { file },
      );
    }
  }
  return result;
}

/**
 * True when `sql` holds something besides white space and comments.
 *
 * @example
 * ```ts
 * hasStatements("-- nothing\n"); // false
 * ```
 */
export function hasStatements(sql: string): boolean {
  const stripped = sql.replace(/\/\*[\s\S]*?\*\//g, "").replace(/--[^\n]*/g, "");
  return stripped.replace(/[\s;]/g, "") !== "";
}

/**
 * SHA-256 of the up SQL, hex. Line endings are normalised first, so a checkout with CRLF
 * does not look like drift.
 *
 * @example
 * ```ts
 * checksum("CREATE TABLE t (id int);"); // "5c1e…"
 * ```
 */
export function checksum(sql: string): string {
  return createHash("sha256").update(sql.replace(/\r\n/g, "\n")).digest("hex");
}

/**
 * Orders versions numerically; "001" and "1" are the same version.
 *
 * @example
 * ```ts
 * ["10", "2", "001"].sort(compareVersions); // ["001", "2", "10"]
 * ```
 */
export function compareVersions(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The one identity of a version: digits compare by number ("001" is "1"); anything else a version table may hold
 * (written by hand or by another tool) is only itself.
 *
 * @example
 * ```ts
 * versionKey("001") === versionKey("1"); // true
 * ```
 */
export function versionKey(version: string): string {
  return /^\d+$/.test(version) ? BigInt(version).toString() : `\0${version}`;
}

/**
 * True when `a` and `b` are the same version ("001" and "1" are).
 *
 * @example
 * ```ts
 * sameVersion("001", "1"); // true
 * ```
 */
export function sameVersion(a: string, b: string): boolean {
  return versionKey(a) === versionKey(b);
}

/** Statements that would end the migration's transaction (and its lock) early. `END` alone is left out: it also
 * closes `BEGIN ATOMIC` function bodies, which the splitter does not understand. */
const TRANSACTION_CONTROL = /^(begin|start\s+transaction|commit|rollback(?!\s+to\b)|abort|end\s+(work|transaction)\b)/i;
const WRAPPER_START = /^(begin(\s+(work|transaction))?|start\s+transaction)\s*$/i;
const WRAPPER_END = /^(commit|end)(\s+(work|transaction))?\s*$/i;

/** A statement's text without leading white space and comments. */
function statementHead(text: string): string {
  return text.replace(/^(\s+|--[^\n]*(\n|$)|\/\*[\s\S]*?\*\/)*/, "");
}

/**
 * The script to run inside our transaction: a file wrapped in `BEGIN; … COMMIT;` (as golang-migrate users write
 * them) runs as it is, with the wrapper blanked out (same length, so error positions still match the file).
 * Any other transaction control is refused: a COMMIT in the middle would release the migration lock early.
 *
 * @example
 * ```ts
 * withoutTransactionWrapper("BEGIN;
CREATE TABLE t (id int);
COMMIT;
"); // "     ;
CREATE TABLE t (id int);
      ;
"
 * ```
 */
export function withoutTransactionWrapper(script: string, file = "migration"): string {
  const statements = splitStatements(script);
  const heads = statements.map((st) => statementHead(st.text));
  let out = script;
  const blank = (i: number) => {
    const { offset, text } = statements[i];
    out = out.slice(0, offset) + text.replace(/[^\n]/g, " ") + out.slice(offset + text.length);
  };
  const wrapped = statements.length >= 2 && WRAPPER_START.test(heads[0]) && WRAPPER_END.test(heads[heads.length - 1]);
  for (let i = 0; i < statements.length; i++) {
    if (wrapped && (i === 0 || i === statements.length - 1)) continue;
    if (TRANSACTION_CONTROL.test(heads[i])) {
      const start = statements[i].offset + statements[i].text.length - statements[i].text.trimStart().length;
      const line = script.slice(0, start).split("\n").length;
      throw new MigrationError(
        "INVALID_MIGRATION",
        `${file}:${line}: "${heads[i].split(/\s/)[0]}" would end the transaction the migration runs in (and release the migration lock); remove it (a whole-file BEGIN; … COMMIT; wrapper is fine), or put "-- orchwf:no-transaction" at the top of the file`,
        { file },
      );
    }
  }
  if (wrapped) {
    blank(statements.length - 1);
    blank(0);
  }
  return out;
}

/** `COPY ... FROM STDIN` / `TO STDOUT`: data that only a psql-like client streams (none is sent here). */
const COPY_STDIO = /^copy\b[\s\S]*\b(from\s+stdin|to\s+stdout)\b/i;

/**
 * Refuses, before anything runs, SQL no server can run as a migration: a NUL character (the wire protocol cannot
 * carry it) and COPY from the client's stdin or to its stdout (psql streams that data; a migration has none, and
 * the server would wait for it).
 */
function refuseUnrunnable(sql: string, version: string, file: string): void {
  const nul = sql.indexOf("\0");
  if (nul !== -1) {
    const line = sql.slice(0, nul).split("\n").length;
    throw new MigrationError(
      "INVALID_MIGRATION",
      `${file}:${line}: the file contains a NUL character (byte 0), which PostgreSQL cannot receive; remove it (is the file binary, or saved as UTF-16?)`,
      { version, file },
    );
  }
  if (!/copy/i.test(sql)) return;
  for (const st of splitStatements(sql)) {
    const head = statementHead(st.text);
    const copy = COPY_STDIO.exec(head);
    if (!copy) continue;
    const start = st.offset + st.text.length - head.length;
    const line = sql.slice(0, start).split("\n").length;
    throw new MigrationError(
      "INVALID_MIGRATION",
      `${file}:${line}: "COPY ... ${copy[1].replace(/\s+/g, " ").toUpperCase()}" needs a client that streams the data (psql); a migration cannot: load the rows with INSERT (or COPY from a file on the server)`,
      { version, file },
    );
  }
}

/**
 * Checks a migration list (digits-only versions, no duplicates, SQL present) and returns it
 * sorted by version. Throws `MigrationError` with code `INVALID_MIGRATION` or `DUPLICATE_VERSION`.
 *
 * @example
 * ```ts
 * const sorted = validateMigrations([...orchwfMigrations, myMigration]);
 * ```
 */
export function validateMigrations(migrations: readonly Migration[]): Migration[] {
  const seen = new Map<string, Migration>();
  for (const m of migrations) {
    const where = m.source?.up ?? `migration ${JSON.stringify(m.version)}`;
    if (typeof m.version !== "string" || !/^\d+$/.test(m.version)) {
      throw new MigrationError(
        "INVALID_MIGRATION",
        `${where}: version ${JSON.stringify(m.version)} must be a string of digits, such as "002" or "20240131120000"`,
        { file: m.source?.up },
      );
    }
    if (typeof m.up !== "string" || !hasStatements(m.up)) {
      throw new MigrationError("INVALID_MIGRATION", `${where}: migration ${m.version} has no SQL to apply (the up script is empty)`, {
        version: m.version,
        file: m.source?.up,
      });
    }
    if (m.down !== undefined && (typeof m.down !== "string" || !hasStatements(m.down))) {
      const file = m.source?.down ?? where;
      throw new MigrationError(
        "INVALID_MIGRATION",
        `${file}: the down script of migration ${m.version} is empty; write the SQL that reverses it, or remove the down script if it cannot be reversed`,
        { version: m.version, file: m.source?.down },
      );
    }
    refuseUnrunnable(m.up, m.version, m.source?.up ?? `migration ${m.version} (up)`);
    if (m.down !== undefined) refuseUnrunnable(m.down, m.version, m.source?.down ?? `migration ${m.version} (down)`);
    if (m.transaction !== false) {
      withoutTransactionWrapper(m.up, m.source?.up ?? `migration ${m.version} (up)`);
      if (m.down !== undefined) withoutTransactionWrapper(m.down, m.source?.down ?? `migration ${m.version} (down)`);
    }
    const key = versionKey(m.version);
    const twin = seen.get(key);
    if (twin) {
      const a = twin.source?.up ?? `version ${twin.version}`;
      const b = m.source?.up ?? `version ${m.version}`;
      throw new MigrationError("DUPLICATE_VERSION", `version ${m.version} is defined twice: ${a} and ${b}`, {
        version: m.version,
        file: m.source?.up,
      });
    }
    seen.set(key, m);
  }
  return [...migrations].sort((a, b) => compareVersions(a.version, b.version));
}

/**
 * Builds a Migration from the text of its files, honouring the header directives.
 *
 * @example
 * ```ts
 * const m = migrationFromFiles({ version: "002", name: "add_users", up: upSql, down: downSql });
 * ```
 */
export function migrationFromFiles(args: {
  version: string;
  name: string;
  up: string;
  down?: string;
  upFile?: string;
  downFile?: string;
}): Migration {
  const upFile = args.upFile ?? `${args.version}_${args.name}.up.sql`;
  const up = readDirectives(args.up, upFile);
  const down = args.down === undefined
    ? undefined
    : readDirectives(args.down, args.downFile ?? upFile.replace(/\.up\.sql$/, ".down.sql"));
  const migration: Migration = {
    version: args.version,
    description: up.description ?? args.name.replace(/_/g, " "),
    up: args.up,
  };
  if (args.down !== undefined) migration.down = args.down;
  // Either file asking for no transaction means both directions run without one.
  if (up.noTransaction || down?.noTransaction) migration.transaction = false;
  if (args.upFile || args.downFile) {
    migration.source = {};
    if (args.upFile) migration.source.up = args.upFile;
    if (args.downFile) migration.source.down = args.downFile;
  }
  return migration;
}
