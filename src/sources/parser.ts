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
  /** The node's fields (libpg_query's JSON form); `{}` for INSERT, UPDATE, DELETE, MERGE and SELECT in a script above 256 KiB. */
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
  /** The heap as bytes (a new view after the memory grows: read it after each call into the module). */
  HEAPU8: Uint8Array;
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

/**
 * Scripts above this many characters are parsed in pieces: libpg_query returns one JSON tree per call, and a tree of
 * tens of megabytes of INSERTs is larger than the engines' string and JSON limits (and than the memory it deserves).
 */
export const PIECE = 262_144;

type RawStatement = { stmt: AstNode; stmt_location?: number; stmt_len?: number };

function parseWith(module: PgQueryModule, script: string): ParsedStatement[] {
  if (script.includes("\0")) {
    throw new ParseFailure("the file contains a NUL byte (PostgreSQL cannot read it)", script.indexOf("\0"));
  }
  if (script.trim() === "") return [];
  if (script.length <= PIECE) return locateStatements(script, parseRaw(module, script));
  return parseInPieces(module, script);
}

/**
 * A large script, piece by piece. A piece ends just after a `;` some way on; what parses in it up to its last `;`
 * that ended a statement is what the whole script holds there (the grammar reads left to right, and a cut after a
 * `;` cannot change the tokens before it). A piece whose cut fell inside a string, a comment or a statement's body
 * fails only at its end ("unterminated ...", "at end of input"): it is retried twice as long. Any other syntax
 * error is the script's own, reported at its place in the script.
 */
function parseInPieces(module: PgQueryModule, script: string): ParsedStatement[] {
  const out: ParsedStatement[] = [];
  let from = 0;
  let size = PIECE;
  let pieces = 0;
  while (from < script.length) {
    const semicolon = script.indexOf(";", from + size);
    const cut = semicolon < 0 ? script.length : semicolon + 1;
    const piece = script.slice(from, cut);
    let raw: RawStatement[];
    try {
      raw = parseRaw(module, piece);
    } catch (err) {
      if (!(err instanceof ParseFailure)) throw err;
      if (cut < script.length && cutShort(err, piece)) {
        size *= 2;
        continue;
      }
      throw new ParseFailure(err.message, from + err.offset);
    }
    if (cut < script.length) {
      // The last statement may go on past the cut unless a `;` ended it (then libpg_query gives its length).
      if (raw.length > 0 && !raw[raw.length - 1].stmt_len) raw.pop();
      if (raw.length === 0) { // one statement longer than the piece
        size *= 2;
        continue;
      }
    }
    for (const st of locateStatements(piece, raw)) {
      const node = DATA_STATEMENTS.has(st.kind) ? {} : st.node; // the bulk of a data file's tree, read by no check
      out.push({ ...st, start: st.start + from, end: st.end + from, node });
    }
    // Each piece leaves megabytes of JSON text and tree behind. JavaScriptCore collects them late: under Bun, a
    // collection every 8 pieces (a 50 MB file's `up` peaked at 698 MiB without, 390 MiB with, for 0.13 s).
    if (++pieces % 8 === 0 || cut === script.length) (globalThis as { Bun?: { gc(sync: boolean): void } }).Bun?.gc(true);
    if (cut === script.length) break;
    const last = raw[raw.length - 1];
    from += byteOffsetsToIndexes(piece, [(last.stmt_location ?? 0) + last.stmt_len!])[0] + 1; // past its `;`
    size = PIECE;
  }
  return out;
}

/** Statements whose fields no check or lint rule reads: a large script keeps only their kind and place. */
const DATA_STATEMENTS = new Set(["InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt", "SelectStmt"]);

/** Whether a piece failed only because it was cut: at its very end, or on a string or comment left open. */
function cutShort(err: ParseFailure, piece: string): boolean {
  return /unterminated|end of input/.test(err.message) || err.offset >= piece.trimEnd().length - 1;
}

/** libpg_query's statements of one script (or piece), with UTF-8 byte locations. Throws `ParseFailure`. */
function parseRaw(module: PgQueryModule, script: string): RawStatement[] {
  // At most 3 UTF-8 bytes per UTF-16 code unit, and the NUL: encoded by the runtime, not Emscripten's JS loop.
  const size = script.length * 3 + 1;
  const input = module._malloc(size);
  let result = 0;
  try {
    const { written } = encoder.encodeInto(script, module.HEAPU8.subarray(input, input + size - 1));
    module.HEAPU8[input + written] = 0;
    result = module._wasm_parse_query_raw(input);
    if (!result) throw new Error("the SQL parser ran out of memory");
    const tree = module.getValue(result, "i32");
    const error = module.getValue(result + 8, "i32");
    if (error) {
      const message = module.UTF8ToString(module.getValue(error, "i32"));
      const cursor = module.getValue(error + 16, "i32"); // 1-based, in characters (code points)
      throw new ParseFailure(message, codePointsToIndex(script, Math.max(0, cursor - 1)));
    }
    return (JSON.parse(heapString(module, tree)) as { stmts?: RawStatement[] }).stmts ?? [];
  } finally {
    module._free(input);
    if (result) module._wasm_free_parse_result(result);
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A NUL-terminated UTF-8 string from the heap. Emscripten's `UTF8ToString` looks for the NUL byte by byte in
 * JavaScript: about a third of a large file's parse, on the megabytes of JSON each piece gives back.
 */
function heapString(module: PgQueryModule, ptr: number): string {
  const heap = module.HEAPU8;
  const end = heap.indexOf(0, ptr);
  return decoder.decode(heap.subarray(ptr, end < 0 ? heap.length : end));
}

/** stmt_location / stmt_len are UTF-8 byte offsets; one pass over the script turns them into string offsets. */
function locateStatements(script: string, raw: RawStatement[]): ParsedStatement[] {
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

const NOT_ASCII = /[^\x00-\x7f]/;

/**
 * String offsets of ascending UTF-8 byte offsets, in one pass (`Infinity` maps to the script's length).
 */
function byteOffsetsToIndexes(script: string, byteOffsets: number[]): number[] {
  // ASCII (most SQL, and every piece of a data file of plain text): a byte is a code unit.
  if (!NOT_ASCII.test(script)) return byteOffsets.map((b) => Math.min(b, script.length));
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
