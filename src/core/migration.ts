/**
 * The Migration type, migration file names, header directives, validation and checksums.
 * Pure: no I/O here (see `load.ts` for reading a directory).
 * @module
 */
import { createHash } from "node:crypto";
import { MigrationError } from "./errors.ts";

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
  /**
   * Digits, optionally in dot-separated parts (Flyway's `1.2`), ordered numerically part by part
   * ("001" < "2" < "2.1" < "10"); kept as written in the version table. A repeatable migration's version is
   * `R__` and its name (see `repeatable`).
   */
  version: string;
  /** Human description, stored in the version table. */
  description: string;
  /** SQL applied by `migrate()`. */
  up: string;
  /** SQL applied by `rollback()`; without it the migration cannot be rolled back. */
  down?: string;
  /** `false` runs the SQL (up and down) outside a transaction, statement by statement (default `true`). */
  transaction?: boolean;
  /**
   * Files the SQL came from, for error messages, and the directory's format (`dbmate`, `goose`, …), so that advice
   * is given in that tool's own syntax.
   */
  source?: { up?: string; down?: string; format?: string };
  /**
   * Repeatable (Flyway's `R__name.sql`): no place in the version order; applied after every versioned migration,
   * again whenever its SQL changes, never rolled back. Its version must be `R__` followed by its name.
   */
  repeatable?: boolean;
  /**
   * A squashed baseline (`-- orchwf:replaces 001 002 …`): the versions whose migrations it replaces. A database
   * that applied all of them records this one as applied instead (see engine/squashed-history.ts).
   */
  replaces?: string[];
  /**
   * Pre-migration checks (`-- orchwf:check <boolean SQL>` at the top of the up file): each is evaluated in the
   * migration's transaction before its SQL; false, NULL or an error refuses the migration (`CHECK_FAILED`).
   */
  checks?: MigrationCheck[];
  /**
   * How `${name}` placeholders in its SQL are replaced at run time (see core/placeholders.ts): `"orchwf"` for a
   * file that declares `-- orchwf:placeholders`, `"flyway"` for Flyway files (as Flyway does). Absent: the SQL is
   * sent as written.
   */
  placeholders?: PlaceholderSyntax;
}

/**
 * One pre-migration check: a boolean SQL expression and the line of its directive.
 *
 * @example
 * ```ts
 * const check: MigrationCheck = { sql: "NOT EXISTS (SELECT FROM users WHERE email IS NULL)", line: 1 };
 * ```
 */
export interface MigrationCheck {
  /** A boolean SQL expression (a scalar subquery, EXISTS, a comparison…). */
  sql: string;
  /** 1-based line of the directive in the up file, when it came from one. */
  line?: number;
}

/**
 * The placeholder syntaxes: ours (opt-in per file) and Flyway's (always on, as in Flyway).
 *
 * @example
 * ```ts
 * const m: Migration = { version: "3", description: "grant", up: "GRANT SELECT ON t TO ${reader};", placeholders: "orchwf" };
 * ```
 */
export type PlaceholderSyntax = "orchwf" | "flyway" | "goose";

/** Prefix of a repeatable migration's version (and of its row in the version table). */
export const REPEATABLE_PREFIX = "R__";

const VERSION = /^\d+(\.\d+)*$/;

/**
 * True for a version of a versioned migration: digits, optionally in dot-separated parts.
 *
 * @example
 * ```ts
 * isVersion("002"); // true
 * isVersion("1.2"); // true
 * isVersion("R__views"); // false
 * ```
 */
export function isVersion(version: unknown): version is string {
  return typeof version === "string" && VERSION.test(version);
}

/**
 * The identity of a version: "001", "1" and "1.0" are the same version; anything else is itself.
 *
 * @example
 * ```ts
 * versionKey("001"); // "1"
 * versionKey("1.2.0"); // "1.2"
 * ```
 */
export function versionKey(version: string): string {
  if (!VERSION.test(version)) return version;
  const parts = version.split(".").map((p) => BigInt(p).toString());
  while (parts.length > 1 && parts[parts.length - 1] === "0") parts.pop();
  return parts.join(".");
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
  /** Versions listed by `-- orchwf:replaces V V …` lines (a squashed baseline). */
  replaces?: string[];
  /** `-- orchwf:check <boolean SQL>` lines, in order, with their line numbers. */
  checks?: MigrationCheck[];
  /** `-- orchwf:placeholders` was present: `${name}` in this file is replaced at run time. */
  placeholders?: boolean;
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
    if (!line.startsWith("--")) {
      refuseLateCheck(lines, i, file);
      break;
    }
    const m = DIRECTIVE.exec(line);
    if (!m) continue;
    if (m[1] === "no-transaction" && m[2] === "") result.noTransaction = true;
    else if (m[1] === "description" && m[2] !== "") result.description = m[2];
    else if (m[1] === "lint-ignore" && m[2] !== "") continue; // read by `lint` (src/lint/directives.ts)
    else if (m[1] === "batch") continue; // batches the first statement: read and checked with it (core/batch.ts)
    else if (m[1] === "replaces" && /^\d+([\s,]+\d+)*$/.test(m[2])) result.replaces = [...(result.replaces ?? []), ...m[2].split(/[\s,]+/)];
    else if (m[1] === "check" && m[2] !== "") result.checks = [...(result.checks ?? []), { sql: m[2], line: i + 1 }];
    else if (m[1] === "placeholders" && m[2] === "") result.placeholders = true;
    else {
      throw new MigrationError(
        "INVALID_MIGRATION",
        `${file}:${i + 1}: unknown directive "${line}" (known: "-- orchwf:no-transaction", "-- orchwf:description TEXT", "-- orchwf:lint-ignore RULE-ID", "-- orchwf:replaces VERSION …", "-- orchwf:check BOOLEAN-SQL", "-- orchwf:placeholders", "-- orchwf:batch [pause=DURATION]")`,
        { file },
      );
    }
  }
  return result;
}

/**
 * A `-- orchwf:check` line below the first statement would be an ordinary comment: the data it guards would go
 * unchecked, silently. Refused, naming its line.
 */
function refuseLateCheck(lines: readonly string[], from: number, file: string): void {
  for (let i = from; i < lines.length; i++) {
    if (!/^\s*--\s*orchwf:check\b/.test(lines[i])) continue;
    throw new MigrationError(
      "INVALID_MIGRATION",
      `${file}:${i + 1}: "-- orchwf:check" must be among the comment lines at the top of the file, before the first statement (there it is evaluated before the migration runs; here it would be ignored)`,
      { file },
    );
  }
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
  // One pass over the leading white space, `;` and comments: the first other character is a statement.
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "-" && sql[i + 1] === "-") {
      while (i < sql.length && sql[i] !== "\n" && sql[i] !== "\r") i++; // PostgreSQL ends `--` at CR as well as LF
    } else if (c === "/" && sql[i + 1] === "*") {
      let depth = 0; // block comments nest
      while (i < sql.length) {
        if (sql[i] === "/" && sql[i + 1] === "*") {
          depth++;
          i += 2;
        } else if (sql[i] === "*" && sql[i + 1] === "/") {
          i += 2;
          if (--depth === 0) break;
        } else i++;
      }
    } else if (c === ";" || /\s/.test(c) || c === "\uFEFF") i++;
    else return true;
  }
  return false;
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
  if (sql.length < LARGE) return createHash("sha256").update(sql.replace(/\r\n/g, "\n")).digest("hex");
  // A run asks for a file's checksum several times (status, plan, record); a large file's is worth keeping.
  let sum = largeSums.get(sql);
  if (sum === undefined) {
    sum = createHash("sha256").update(sql.replace(/\r\n/g, "\n")).digest("hex");
    if (largeSums.size >= 16) largeSums.clear();
    largeSums.set(sql, sum);
  }
  return sum;
}

const LARGE = 1 << 20;
const largeSums = new Map<string, string>();

/**
 * Orders versions numerically; "001" and "1" are the same version.
 *
 * @example
 * ```ts
 * ["10", "2", "001", "R__views", "1.5"].sort(compareVersions); // ["001", "1.5", "2", "10", "R__views"]
 * ```
 */
export function compareVersions(a: string, b: string): number {
  const va = VERSION.test(a);
  const vb = VERSION.test(b);
  if (!va || !vb) {
    // Repeatables (and anything else that is not a version) come after every version, by name.
    if (va !== vb) return va ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
  }
  const x = a.split(".");
  const y = b.split(".");
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const p = BigInt(x[i] ?? "0");
    const q = BigInt(y[i] ?? "0");
    if (p !== q) return p < q ? -1 : 1;
  }
  return 0;
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

/**
 * Refuses, before anything runs, SQL no server can take: a NUL character (the wire protocol cannot carry it).
 * COPY from the client's stdin (or to its stdout) is refused by the parser-based checks (sources/check.ts).
 */
function refuseUnrunnable(sql: string, version: string, file: string): void {
  const nul = sql.indexOf("\0");
  if (nul === -1) return;
  const line = sql.slice(0, nul).split("\n").length;
  throw new MigrationError(
    "INVALID_MIGRATION",
    `${file}:${line}: the file contains a NUL character (byte 0), which PostgreSQL cannot receive; remove it (is the file binary, or saved as UTF-16?)`,
    { version, file },
  );
}

// The transaction-control check moved to split.ts (PostgreSQL's parser; async): it runs before a migration runs.
export { withoutTransactionWrapper } from "./split.ts";

/**
 * Checks a migration list (versions of digits, repeatables named `R__…`, no duplicates, SQL text present; an empty
 * script is a no-op) and returns it sorted by version, repeatables last. Throws `MigrationError` with code `INVALID_MIGRATION` or `DUPLICATE_VERSION`.
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
    const repeatable = m.repeatable === true;
    if (repeatable ? typeof m.version !== "string" || !m.version.startsWith(REPEATABLE_PREFIX) || m.version.length === REPEATABLE_PREFIX.length : !isVersion(m.version)) {
      throw new MigrationError(
        "INVALID_MIGRATION",
        repeatable
          ? `${where}: a repeatable migration's version must be "${REPEATABLE_PREFIX}" and its name, not ${JSON.stringify(m.version)}`
          : `${where}: version ${JSON.stringify(m.version)} must be a string of digits, such as "002" or "20240131120000" (dot-separated parts such as "1.2" are allowed)`,
        { file: m.source?.up },
      );
    }
    // An empty or comment-only script is a no-op migration (golang-migrate's rule); it must still be text.
    if (typeof m.up !== "string") {
      throw new MigrationError("INVALID_MIGRATION", `${where}: migration ${m.version} has no up script (a string of SQL)`, {
        version: m.version,
        file: m.source?.up,
      });
    }
    if (m.down !== undefined && typeof m.down !== "string") {
      throw new MigrationError("INVALID_MIGRATION", `${m.source?.down ?? where}: the down script of migration ${m.version} must be a string of SQL`, {
        version: m.version,
        file: m.source?.down,
      });
    }
    refuseUnrunnable(m.up, m.version, m.source?.up ?? `migration ${m.version} (up)`);
    if (m.down !== undefined) refuseUnrunnable(m.down, m.version, m.source?.down ?? `migration ${m.version} (down)`);
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
  // A squashed baseline and a migration it replaces cannot both run on a fresh database.
  for (const m of migrations) {
    for (const v of m.replaces ?? []) {
      const still = seen.get(versionKey(v));
      if (still && still !== m) {
        throw new MigrationError(
          "INVALID_MIGRATION",
          `${still.source?.up ?? `migration ${still.version}`}: version ${still.version} is replaced by the squashed migration ${m.version} (${m.source?.up ?? "-- orchwf:replaces"}); delete it`,
          { version: still.version, file: still.source?.up },
        );
      }
    }
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
  if (up.replaces) migration.replaces = up.replaces;
  applyRunDirectives(migration, up, down, args.downFile ?? upFile.replace(/\.up\.sql$/, ".down.sql"));
  if (args.upFile || args.downFile) {
    migration.source = {};
    if (args.upFile) migration.source.up = args.upFile;
    if (args.downFile) migration.source.down = args.downFile;
  }
  return migration;
}

/**
 * Puts the run-time directives of a migration's files on it: its checks (up file only: a check guards applying)
 * and its placeholders (either file declaring them turns them on for both, as no-transaction does).
 *
 * @example
 * ```ts
 * applyRunDirectives(migration, readDirectives(up, upFile), undefined, downFile);
 * ```
 */
export function applyRunDirectives(migration: Migration, up: FileDirectives, down: FileDirectives | undefined, downFile: string): void {
  if (down?.checks) {
    throw new MigrationError(
      "INVALID_MIGRATION",
      `${downFile}:${down.checks[0].line}: "-- orchwf:check" belongs at the top of the up file (a check guards applying a migration, not rolling it back)`,
      { version: migration.version, file: downFile },
    );
  }
  if (up.checks) migration.checks = up.checks;
  if (up.placeholders || down?.placeholders) migration.placeholders = "orchwf";
}
