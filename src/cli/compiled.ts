/**
 * Entry point of the single binary (`bun build --compile`, see scripts/build.ts): embeds PGlite's
 * .wasm/.data files and the SQL parser's .wasm in the binary, so the embedded default database works with no node_modules around.
 * Bun-only; not part of the npm or JSR module graph.
 * @module
 */
import pgliteData from "../../node_modules/@electric-sql/pglite/dist/pglite.data" with { type: "file" };
import pgliteWasm from "../../node_modules/@electric-sql/pglite/dist/pglite.wasm" with { type: "file" };
import initdbWasm from "../../node_modules/@electric-sql/pglite/dist/initdb.wasm" with { type: "file" };
import parserWasm from "../../node_modules/libpg-query/wasm/libpg-query.wasm" with { type: "file" };
import { usePGliteAssets } from "./pglite-assets.ts";
import { useParserWasm } from "../sources/parser.ts";
import { runCli } from "./main.ts";

declare const Bun: { file(path: string): { arrayBuffer(): Promise<ArrayBuffer> } };

usePGliteAssets(async () => {
  const [data, pglite, initdb] = await Promise.all(
    [pgliteData, pgliteWasm, initdbWasm].map((path) => Bun.file(path).arrayBuffer()),
  );
  return {
    fsBundle: new Blob([data]),
    pgliteWasmModule: await WebAssembly.compile(pglite),
    initdbWasmModule: await WebAssembly.compile(initdb),
  };
});

// The SQL parser's WebAssembly (libpg-query), read only when a command parses SQL.
useParserWasm(() => Bun.file(parserWasm).arrayBuffer());

await runCli();
