/**
 * Entry point of the npm bin (bundled for Node by scripts/build.ts into dist/orchwf-migrate.js).
 * @module
 */
import { runCli } from "./main.ts";

await runCli();
