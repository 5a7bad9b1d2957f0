/**
 * A fleet's targets file: one database URL per line, `#` comments and blank lines ignored, `${VAR}` taken from the
 * environment (so that no password has to sit in the file). Refused before anything runs: an empty list, a
 * variable that is not set, and a database listed twice (the same user, host, port and database, whatever the
 * password or the spelling). Messages name the line, never a password.
 * @module
 */
import { MigrationError } from "../core/errors.ts";
import { maskUrl } from "./postgres-url.ts";

/** One target of the file: its URL (variables expanded) and its line. */
export interface TargetLine {
  url: string;
  line: number;
}

/**
 * The targets of a targets file's text. `source` names it in messages (`targets.txt`, `stdin`).
 *
 * @example
 * ```ts
 * parseTargets("# tenants\npostgres://app:${PW}@db1/app\n", { PW: "s3cret" }, "targets.txt");
 * // [{ url: "postgres://app:s3cret@db1/app", line: 2 }]
 * ```
 */
export function parseTargets(text: string, env: Record<string, string | undefined>, source: string): TargetLine[] {
  const targets: TargetLine[] = [];
  const seen = new Map<string, number>();
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const url = trimmed.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_all, name: string) => {
      const value = env[name];
      if (value === undefined) throw new MigrationError("USAGE", `${source}:${i + 1}: \${${name}} is not set in the environment`);
      return value;
    });
    const key = identity(url);
    const first = seen.get(key);
    if (first !== undefined) {
      throw new MigrationError("USAGE", `${source}:${i + 1}: ${maskUrl(url)} is the same database as line ${first}; each target once (nothing was run)`);
    }
    seen.set(key, i + 1);
    targets.push({ url, line: i + 1 });
  }
  if (targets.length === 0) throw new MigrationError("USAGE", `${source} lists no target (one database URL per line; # starts a comment)`);
  return targets;
}

/** What makes two URLs the same database: user, host, port, database (and the socket path, for pglite: the path). */
function identity(url: string): string {
  try {
    const u = new URL(url);
    if (!/^postgres(ql)?:$/.test(u.protocol)) return url;
    const port = u.port || "5432";
    const database = decodeURIComponent(u.pathname.replace(/^\//, "")) || decodeURIComponent(u.username);
    const host = u.hostname.toLowerCase() || (u.searchParams.get("host") ?? "");
    return `${decodeURIComponent(u.username)}@${host}:${port}/${database}`;
  } catch {
    return url; // not a URL the parser reads: compared as written (the run reports it as that target's error)
  }
}
