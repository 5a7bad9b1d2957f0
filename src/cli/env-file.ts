/**
 * `.env` files, read with the runtime's own parser (`util.parseEnv`: Node 20.12+, Bun and Deno): variables already
 * set win, as with dbmate, goose and node-pg-migrate.
 * @module
 */
import { readFileSync } from "node:fs";
import { usage } from "./options.ts";

/**
 * Loads `file` into `env`, leaving variables that are set already alone. A missing file is an error when it was
 * named (`--env-file`), and nothing when it is the default `./.env`. Returns the names it set.
 *
 * @example
 * ```ts
 * await loadEnvFile(".env", process.env, { required: false }); // ["DATABASE_URL"]
 * ```
 */
export async function loadEnvFile(file: string, env: Record<string, string | undefined>, options: { required: boolean }): Promise<string[]> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (!options.required && code === "ENOENT") return [];
    throw usage(`cannot read the env file ${file}: ${code === "ENOENT" ? "no such file" : (err as Error).message}`);
  }
  const { parseEnv } = await import("node:util"); // only when there is a file: loading node:util costs start-up time
  if (typeof parseEnv !== "function") throw usage(`reading ${file} needs util.parseEnv (Node 20.12 or later); or pass --no-env-file`);
  const set: string[] = [];
  for (const [name, value] of Object.entries(parseEnv(text))) {
    if (env[name] !== undefined) continue;
    env[name] = value;
    set.push(name);
  }
  return set;
}
