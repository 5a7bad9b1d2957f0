/**
 * Where PGlite finds its WebAssembly and file-system bundle. Normally PGlite loads them from its package
 * directory; the single binary from `bun build --compile` has no package directory, so its entry point
 * (`src/cli/compiled.ts`) registers the files embedded in the binary here.
 * @module
 */
import type { PGlite } from "@electric-sql/pglite";
import type { PGliteExtension } from "../sources/extensions.ts";

/** The PGlite.create options that carry the engine's files. */
export interface PGliteAssets {
  pgliteWasmModule?: WebAssembly.Module;
  initdbWasmModule?: WebAssembly.Module;
  fsBundle?: Blob;
}

let provider: (() => Promise<PGliteAssets>) | undefined;

/**
 * Registers where to get PGlite's files from (the compiled binary's embedded copies).
 *
 * @example
 * ```ts
 * usePGliteAssets(async () => ({ fsBundle: new Blob([await Bun.file(dataPath).arrayBuffer()]) }));
 * ```
 */
export function usePGliteAssets(load: () => Promise<PGliteAssets>): void {
  provider = load;
}

/**
 * The registered files, or none (PGlite then finds its own).
 *
 * @example
 * ```ts
 * const db = await PGlite.create({ dataDir, ...(await pgliteAssets()) });
 * ```
 */
export function pgliteAssets(): Promise<PGliteAssets> {
  return provider ? provider() : Promise.resolve({});
}

/**
 * An in-memory PGlite for replays (drift, dump --from files, squash, diff), with the registered files and the
 * extensions asked for, loaded from initdb's cached output when there is one.
 *
 * @example
 * ```ts
 * const scratch = await createScratchPGlite();
 * ```
 */
export async function createScratchPGlite(options: { extensions?: Record<string, PGliteExtension> } = {}): Promise<PGlite> {
  const { scratchPGlite } = await import("../schema/scratch-pglite.ts");
  return await scratchPGlite({ ...(await pgliteAssets()), extensions: options.extensions });
}
