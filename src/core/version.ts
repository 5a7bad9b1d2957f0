/**
 * The package version, embedded so that the compiled binary and the JSR module know it without reading
 * package.json (a test keeps it equal to package.json and deno.json).
 * @module
 */

/** The version `orchwf-migrate --version` prints. */
export const VERSION = "0.1.0";
