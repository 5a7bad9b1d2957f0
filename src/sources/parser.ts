/**
 * PostgreSQL's own parser (libpg_query, PostgreSQL 18's grammar compiled to WebAssembly, npm `libpg-query`), loaded
 * lazily: only the commands that read SQL (up, down, validate, lint) pay for it. Gives each statement of a script
 * with its exact place (JS string offsets), its kind, and syntax errors with their place.
 *
 * Why not the package's own `parse`: its entry module instantiates the WebAssembly at import time from a path next
 * to itself, which does not exist in the single binary (`bun build --compile`). So we call its Emscripten factory
 * ourselves, with the embedded bytes when `src/cli/compiled.ts` registered them (see `useParserWasm`).
 * @module
 */

/** A statement node as libpg_query prints it: `{ "IndexStmt": { ... } }`. */
export type AstNode = Record<string, unknown>;

/** One statement of a script, located in JS string offsets (UTF-16 code units). */
export interface ParsedStatement {
  /** Offset of the statement's first token (after white space and comments). */
  start: number;
  /** Offset just past the statement (its `;` and trailing white space not included; a comment after the last statement is). */
  end: number;
  /** `script.slice(start, end)`. */
  text: string;
  /** The node type, e.g. `CreateStmt`, `IndexStmt`, `TransactionStmt`. */
  kind: string;
  /** The node's fields (libpg_query's JSON form). */
  node: Record<string, unknown>;
}

/** A syntax error, located in JS string offsets. */
export class ParseFailure extends Error {
  /** Offset (UTF-16 code units) in the script where PostgreSQL's scanner or grammar stopped. */
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.name = "ParseFailure";
    this.offset = offset;
  }
}

/** The loaded parser. */
export interface Parser {
  /**
   * Every statement of `script` (empty for a script of only comments and white space). Throws `ParseFailure`.
   *
   * @example
   * ```ts
   * const parser = await loadParser();
   * parser.parse("SELECT 1; SELECT 2").map((s) => s.kind); // ["SelectStmt", "SelectStmt"]
   * ```
   */
  parse(script: string): ParsedStatement[];
}

/** The part of the Emscripten module we use. */
interface PgQueryModule {
  _malloc(size: number): number;
  _free(ptr: number): void;
  _wasm_parse_query_raw(ptr: number): number;
  _wasm_free_parse_result(ptr: number): void;
  getValue(ptr: number, type: "i32"): number;
  UTF8ToString(ptr: number): string;
  stringToUTF8(text: string, ptr: number, max: number): void;
  lengthBytesUTF8(text: string): number;
}

type Factory = (options?: { wasmBinary?: ArrayBuffer | Uint8Array }) => Promise<PgQueryModule>;

let wasmProvider: (() => Promise<ArrayBuffer | Uint8Array>) | undefined;
let loading: Promise<Parser> | undefined;
let loaded: Parser | undefined;

/**
 * Registers where the parser's WebAssembly comes from (the single binary's embedded copy). Without it, the
 * package finds its own file in node_modules.
 *
 * @example
 * ```ts
 * useParserWasm(() => Bun.file(embeddedPath).arrayBuffer());
 * ```
 */
export function useParserWasm(load: () => Promise<ArrayBuffer | Uint8Array>): void {
  wasmProvider = load;
}

/**
 * Loads the parser once (WebAssembly compile: tens to hundreds of milliseconds, see BENCHMARKS.md) and returns it.
 *
 * @example
 * ```ts
 * const parser = await loadParser();
 * ```
 */
export function loadParser(): Promise<Parser> {
  loading ??= (async () => {
    // @ts-ignore: the Emscripten glue has no type declarations; its shape is `Factory`.
    const glue = await import("libpg-query/wasm/libpg-query.js");
    const factory = ((glue as { default?: Factory }).default ?? glue) as Factory;
    const wasmBinary = wasmProvider ? await wasmProvider() : undefined;
    const module = await factory(wasmBinary ? { wasmBinary } : {});
    loaded = { parse: (script) => parseWith(module, script) };
    return loaded;
  })();
  loading.catch(() => (loading = undefined)); // a failed load may be retried
  return loading;
}

/**
 * The parser if it is loaded already, else undefined (for synchronous callers on an error path).
 *
 * @example
 * ```ts
 * const statements = loadedParser()?.parse(script);
 * ```
 */
export function loadedParser(): Parser | undefined {
  return loaded;
}

function parseWith(module: PgQueryModule, script: string): ParsedStatement[] {
  if (script.includes("\0")) {
    throw new ParseFailure("the file contains a NUL byte (PostgreSQL cannot read it)", script.indexOf("\0"));
  }
  if (script.trim() === "") return [];
  const size = module.lengthBytesUTF8(script) + 1;
  const input = module._malloc(size);
  let result = 0;
  try {
    module.stringToUTF8(script, input, size);
    result = module._wasm_parse_query_raw(input);
    if (!result) throw new Error("the SQL parser ran out of memory");
    const tree = module.getValue(result, "i32");
    const error = module.getValue(result + 8, "i32");
    if (error) {
      const message = module.UTF8ToString(module.getValue(error, "i32"));
      const cursor = module.getValue(error + 16, "i32"); // 1-based, in characters (code points)
      throw new ParseFailure(message, codePointsToIndex(script, Math.max(0, cursor - 1)));
    }
    const json = JSON.parse(module.UTF8ToString(tree)) as {
      stmts?: { stmt: AstNode; stmt_location?: number; stmt_len?: number }[];
    };
    return locateStatements(script, json.stmts ?? []);
  } finally {
    module._free(input);
    if (result) module._wasm_free_parse_result(result);
  }
}

/** stmt_location / stmt_len are UTF-8 byte offsets; one pass over the script turns them into string offsets. */
function locateStatements(script: string, raw: { stmt: AstNode; stmt_location?: number; stmt_len?: number }[]): ParsedStatement[] {
  const bytes: number[] = [];
  for (const s of raw) {
    const from = s.stmt_location ?? 0;
    bytes.push(from, s.stmt_len ? from + s.stmt_len : Number.POSITIVE_INFINITY);
  }
  const offsets = byteOffsetsToIndexes(script, bytes);
  return raw.map((s, i) => {
    const start = offsets[2 * i];
    const end = trimEnd(script, start, offsets[2 * i + 1]);
    const [kind] = Object.keys(s.stmt);
    return { start, end, text: script.slice(start, end), kind, node: (s.stmt[kind] ?? {}) as Record<string, unknown> };
  });
}

/**
 * String offsets of ascending UTF-8 byte offsets, in one pass (`Infinity` maps to the script's length).
 */
function byteOffsetsToIndexes(script: string, byteOffsets: number[]): number[] {
  const out: number[] = new Array(byteOffsets.length);
  const order = byteOffsets.map((_, i) => i).sort((a, b) => byteOffsets[a] - byteOffsets[b]);
  let index = 0;
  let byte = 0;
  for (const k of order) {
    const target = byteOffsets[k];
    while (byte < target && index < script.length) {
      const code = script.codePointAt(index)!;
      byte += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
      index += code >= 0x10000 ? 2 : 1;
    }
    out[k] = index;
  }
  return out;
}

/** The string offset of the `n`th code point (PostgreSQL counts characters as code points). */
function codePointsToIndex(script: string, n: number): number {
  let index = 0;
  for (let k = 0; k < n && index < script.length; k++) index += script.codePointAt(index)! >= 0x10000 ? 2 : 1;
  return index;
}

/** The end of a statement without trailing white space (the last statement's length runs to the end of the script). */
function trimEnd(script: string, start: number, end: number): number {
  let e = end;
  while (e > start && /\s/.test(script[e - 1])) e--;
  return e;
}
