/**
 * Entry point of the single binary (`bun build --compile`, see scripts/build.ts): embeds PGlite's
 * .wasm/.data files in the binary, so the embedded default database works with no node_modules around.
 * Bun-only; not part of the npm or JSR module graph.
 * @module
 */
import pgliteData from "../../node_modules/@electric-sql/pglite/dist/pglite.data" with { type: "file" };
import pgliteWasm from "../../node_modules/@electric-sql/pglite/dist/pglite.wasm" with { type: "file" };
import initdbWasm from "../../node_modules/@electric-sql/pglite/dist/initdb.wasm" with { type: "file" };
// pg_dump in WebAssembly (dump, squash) looks for pg_dump.wasm next to its module: scripts/build.ts keeps asset
// names as they are (--asset-naming), so this embedded copy is found at /$bunfs/root/pg_dump.wasm.
import pgDumpWasm from "../../node_modules/@electric-sql/pglite-tools/dist/pg_dump.wasm" with { type: "file" };
import { usePGliteAssets } from "./pglite-assets.ts";
import { runCli } from "./main.ts";

declare const Bun: { file(path: string): { arrayBuffer(): Promise<ArrayBuffer> } };

void pgDumpWasm;

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

await runCli();
