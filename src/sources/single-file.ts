/**
 * What the single-file formats (dbmate, goose, node-pg-migrate) share: a numbered `.sql` file cut into an up and
 * a down part by marker comments.
 * @module
 */
import { MigrationError } from "../core/errors.ts";
import { applyRunDirectives, hasStatements, type Migration, type MigrationCheck, readDirectives } from "../core/migration.ts";
import { badName, listDir, readSqlFile, type Section } from "./files.ts";

/** A numbered file of a single-file format. */
export interface NumberedFile {
  version: string;
  name: string;
  path: string;
  text: string;
}

/**
 * The numbered `.sql` files of `dir` (`VERSION_name.sql`, VERSION the leading digits), read. Any other `.sql` file
 * (in any case), a file of another language the tool could run (`.go`, `.js`, …: `foreign`), and a directory
 * named like a migration are refused with BAD_FILE_NAME.
 *
 * @example
 * ```ts
 * const files = await numberedFiles("./db/migrations", "dbmate", /^(\d+)_?(.*)\.sql$/, "VERSION_name.sql");
 * ```
 */
export async function numberedFiles(
  dir: string,
  format: string,
  pattern: RegExp,
  expected: string,
  foreign: RegExp = /^$/,
): Promise<NumberedFile[]> {
  const out: NumberedFile[] = [];
  for (const entry of await listDir(dir)) {
    if (entry.kind === "dir") {
      if (/^\d+_|\.sql$/i.test(entry.name)) throw badName(entry.path, format, expected, "a directory named like a migration (only files are read)");
      continue;
    }
    if (foreign.test(entry.name)) {
      throw badName(entry.path, format, expected, `a ${format} migration in a language other than SQL cannot be run here; rewrite it as SQL`);
    }
    if (!/\.sql$/i.test(entry.name)) continue;
    const m = pattern.exec(entry.name);
    if (!m) {
      const why = /\.sql$/.test(entry.name) ? "bad migration file name" : "bad migration file name (the extension must be lower case .sql)";
      throw badName(entry.path, format, expected, why);
    }
    out.push({ version: m[1], name: m[2] ?? "", path: entry.path, text: await readSqlFile(entry.path) });
  }
  return out;
}

/** How one tool's markers are spelled in messages. */
export interface MarkerWords {
  /** The up marker as written, e.g. `-- migrate:up`. */
  up: string;
  /** The down marker as written. */
  down: string;
  /** What a marker is called after its text: `" line"` or `""` (goose's annotations). */
  noun: string;
  /** The message for a file without an up marker. */
  missingUp: string;
  /** Said after "a second ...", e.g. "; a dbmate file has one of each". */
  second?: string;
  /** Refuse a down part before the up part (dbmate, goose); node-pg-migrate reads them in either order. */
  ordered: boolean;
}

/**
 * The one up part and the optional down part of a single-file migration split by `sections`: refuses a missing or
 * second up marker, a second down marker, a down before the up (when `ordered`) and SQL before the up marker.
 *
 * @example
 * ```ts
 * const { up, down } = upAndDown(file, sections(file.text, marker), words);
 * ```
 */
export function upAndDown(file: NumberedFile, parts: Map<string, Section[]>, words: MarkerWords): { up: string; down?: string } {
  const fail = (message: string) => new MigrationError("INVALID_MIGRATION", message, { file: file.path });
  const ups = parts.get("up") ?? [];
  const downs = parts.get("down") ?? [];
  if (ups.length === 0) throw fail(`${file.path}: ${words.missingUp}`);
  if (ups.length > 1 || downs.length > 1) {
    const [line, marker] = ups.length > 1 ? [ups[1].line, words.up] : [downs[1].line, words.down];
    throw fail(`${file.path}:${line}: a second "${marker}"${words.noun}${words.second ?? ""}`);
  }
  if (words.ordered && downs.length === 1 && downs[0].line < ups[0].line) {
    throw fail(`${file.path}:${downs[0].line}: "${words.down}" comes before "${words.up}"`);
  }
  requireCommentOnly(parts.get("preamble")![0].text, file.path, words.up);
  return { up: ups[0].text, down: downs[0]?.text };
}

/**
 * Refuses SQL before the first marker (it would belong to no direction), naming the file and line.
 *
 * @example
 * ```ts
 * requireCommentOnly(preamble, "db/migrations/1_x.sql", "-- migrate:up");
 * ```
 */
export function requireCommentOnly(text: string, file: string, marker: string): void {
  if (!hasStatements(text)) return;
  const line = text.split(/\r\n|\r|\n/).findIndex((l) => hasStatements(l)) + 1;
  throw new MigrationError("INVALID_MIGRATION", `${file}:${line}: SQL before the "${marker}" line belongs to no migration direction; move it below the marker`, {
    file,
  });
}

/**
 * The Migration of one single-file migration; `-- orchwf:` directives in either part are honoured too.
 *
 * @example
 * ```ts
 * singleFileMigration(file, up, down, true);
 * ```
 */
export function singleFileMigration(file: NumberedFile, up: string, down: string | undefined, transaction: boolean): Migration {
  const upDirectives = readDirectives(stripLeadingMarker(up), file.path);
  const downDirectives = down === undefined ? undefined : readDirectives(stripLeadingMarker(down), file.path);
  const m: Migration = {
    version: file.version,
    description: upDirectives.description ?? (file.name.replace(/[_-]+/g, " ").trim() || file.version),
    up,
    source: { up: file.path },
  };
  if (down !== undefined) {
    m.down = down;
    m.source!.down = file.path;
  }
  if (!transaction || upDirectives.noTransaction || downDirectives?.noTransaction) m.transaction = false;
  // Directive lines count from after the marker: a check names its line of the file.
  const shift = (part: string, checks: MigrationCheck[] | undefined) => {
    const markerLines = lineCount(part) - lineCount(stripLeadingMarker(part));
    return checks?.map((c) => ({ ...c, line: c.line! + markerLines }));
  };
  upDirectives.checks = shift(up, upDirectives.checks);
  if (downDirectives) downDirectives.checks = shift(down!, downDirectives.checks);
  applyRunDirectives(m, upDirectives, downDirectives, file.path);
  return m;
}

function lineCount(text: string): number {
  return text.split(/\r\n|\r|\n/).length;
}

/** A part starts with its marker line (a comment); directives come after it. */
function stripLeadingMarker(text: string): string {
  return text.replace(/^[\r\n]*[^\r\n]*/, "");
}
