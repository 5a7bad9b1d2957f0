/**
 * Reading a migrations directory: entries (symlinks followed), strict UTF-8 text, errors that name the path.
 * Shared by every format's loader.
 * @module
 */
import type { Dirent } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { MigrationError } from "../core/errors.ts";
import { unreadableFile } from "../core/error-codes.ts";

/** One entry of a migrations directory, symlinks resolved (a Kubernetes ConfigMap mount is all symlinks). */
export interface DirEntry {
  name: string;
  path: string;
  kind: "file" | "dir";
}

/**
 * The files and directories in `dir`, sorted by name, symlinks followed; hidden entries (`.git`, a ConfigMap's
 * `..data`) are left out. Unreadable directory: `UNREADABLE_FILE` naming it.
 *
 * @example
 * ```ts
 * const entries = await listDir("./migrations");
 * ```
 */
export async function listDir(dir: string): Promise<DirEntry[]> {
  let found: Dirent[];
  try {
    found = await readdir(dir, { withFileTypes: true });
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    const why = code === "ENOENT" ? "it does not exist" : code === "ENOTDIR" ? "it is not a directory" : (cause as Error).message;
    throw new MigrationError("UNREADABLE_FILE", `cannot read migrations directory ${dir}: ${why}`, { file: dir, cause });
  }
  const visible = found.filter((d) => !d.name.startsWith(".")).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // The directory listing already tells files from directories; only symlinks (and the rare file system that
  // does not report types) need a stat, all at once.
  const kinds = await mapInOrder(visible, async (d): Promise<DirEntry["kind"] | undefined> => {
    if (d.isFile()) return "file";
    if (d.isDirectory()) return "dir";
    const path = join(dir, d.name);
    let info;
    try {
      info = await stat(path); // follows symlinks
    } catch (cause) {
      const code = (cause as { code?: string }).code;
      const why = code === "ENOENT" ? "it is a symlink to nothing (dangling)" : (cause as Error).message;
      throw new MigrationError("UNREADABLE_FILE", `cannot read ${path}: ${why}`, { file: path, cause });
    }
    return info.isFile() ? "file" : info.isDirectory() ? "dir" : undefined;
  });
  return visible.flatMap((d, i) => (kinds[i] === undefined ? [] : [{ name: d.name, path: join(dir, d.name), kind: kinds[i]! }]));
}

/**
 * Several files' texts, as `readSqlFile` reads each, at most 64 open at once; on failure, the error of the first
 * failing path in the given order (so the message does not depend on which read finished first).
 *
 * @example
 * ```ts
 * const [up, down] = await readSqlFiles(["1_a.up.sql", "1_a.down.sql"]);
 * ```
 */
export function readSqlFiles(paths: readonly string[]): Promise<string[]> {
  return mapInOrder(paths, readSqlFile);
}

/**
 * `fn` over every item, at most 64 at once; the results in the items' order, or the failure of the first failing
 * item in that order (so a message does not depend on which call finished first).
 */
async function mapInOrder<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let firstFailure: { at: number; error: unknown } | undefined;
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]);
      } catch (error) {
        if (firstFailure === undefined || i < firstFailure.at) firstFailure = { at: i, error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(64, items.length) }, worker));
  if (firstFailure !== undefined) throw firstFailure.error;
  return results;
}

/**
 * A file's text as strict UTF-8 (a BOM dropped). Not UTF-8, or holding a NUL byte (which PostgreSQL cannot take
 * in a query): `INVALID_MIGRATION` with file and line. Unreadable: `UNREADABLE_FILE` with the path.
 *
 * @example
 * ```ts
 * const sql = await readSqlFile("./migrations/001_init.up.sql");
 * ```
 */
export async function readSqlFile(file: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (cause) {
    throw unreadableFile(cause, file);
  }
  const nul = bytes.indexOf(0);
  if (nul !== -1) {
    const line = lineAt(bytes, nul);
    throw new MigrationError(
      "INVALID_MIGRATION",
      `${file}:${line}: the file holds a NUL byte (binary data, or a UTF-16 file?); PostgreSQL cannot run it; save the file as UTF-8 text`,
      { file },
    );
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new MigrationError("INVALID_MIGRATION", `${file}:${firstBadUtf8Line(bytes)}: the file is not valid UTF-8; save it as UTF-8`, { file });
  }
}

/** Text of a small file that is not SQL (metadata.toml, a .conf), or undefined when it does not exist. */
export async function readOptionalText(file: string): Promise<string | undefined> {
  try {
    return await readSqlFile(file);
  } catch (err) {
    if ((err as { cause?: { code?: string } }).cause?.code === "ENOENT") return undefined;
    throw err;
  }
}

function lineAt(bytes: Uint8Array, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (bytes[i] === 0x0a) line++;
  return line;
}

function firstBadUtf8Line(bytes: Uint8Array): number {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let line = 1;
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i === bytes.length || bytes[i] === 0x0a) {
      try {
        decoder.decode(bytes.subarray(start, i));
      } catch {
        return line;
      }
      line++;
      start = i + 1;
    }
  }
  return line;
}

/**
 * A `BAD_FILE_NAME` error for `path`, saying what the format expects.
 *
 * @example
 * ```ts
 * throw badName("m/001_x.UP.SQL", "golang-migrate", "VERSION_name.up.sql");
 * ```
 */
export function badName(path: string, format: string, expected: string, why = "bad migration file name"): MigrationError {
  return new MigrationError("BAD_FILE_NAME", `${path}: ${why}; ${format} expects ${expected}`, { file: path });
}

/** One part of a single-file migration (dbmate, goose, node-pg-migrate): its text, padded to keep line numbers. */
export interface Section {
  /** The section's text, preceded by empty lines so line N of it is line N of the file. */
  text: string;
  /** 1-based line of the marker that opened it. */
  line: number;
}

/**
 * Cuts `text` at marker lines. `marker` returns a section name for a marker line (or undefined for any other
 * line). Each section keeps its marker line as the comment it is, and is padded with empty lines in front, so
 * a PostgreSQL error position still points at the right line of the file. Lines before the first marker go to
 * `"preamble"`.
 *
 * @example
 * ```ts
 * const parts = sections(text, (line) => /^--\s*migrate:(up|down)/.exec(line)?.[1]);
 * ```
 */
export function sections(
  text: string,
  marker: (line: string, lineNumber: number) => string | undefined,
): Map<string, Section[]> {
  const out = new Map<string, Section[]>();
  // Lines end at LF, CRLF or a lone CR, as PostgreSQL ends a `--` comment.
  const lines = text.split(/(?<=\r\n|\n|\r(?!\n))/);
  let current = "preamble";
  let startLine = 1;
  let buffer: string[] = [];
  let padding = "";
  const flush = () => {
    const list = out.get(current) ?? [];
    list.push({ text: padding + buffer.join(""), line: startLine });
    out.set(current, list);
  };
  let prefix = "";
  for (let i = 0; i < lines.length; i++) {
    const name = marker(lines[i].replace(/[\r\n]+$/, ""), i + 1);
    if (name !== undefined) {
      flush();
      current = name;
      startLine = i + 1;
      padding = prefix.replace(/[^\r\n]/g, "");
      buffer = [];
    }
    buffer.push(lines[i]);
    prefix += lines[i];
  }
  flush();
  return out;
}
