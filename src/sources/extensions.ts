/**
 * PGlite's bundled extensions: which ones the migrations ask for (`CREATE EXTENSION x`, found before the run), and
 * loading them lazily (one dynamic import of `@electric-sql/pglite/contrib/<name>` each) for `PGlite.create`.
 * PGlite cannot install an extension at run time, so one it lacks is an error naming it and the file.
 * @module
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { MigrationError } from "../core/errors.ts";
import type { Migration } from "../core/migration.ts";

/** A PGlite extension object (`PGlite.create({ extensions: { name: ext } })`). */
export interface PGliteExtension {
  name: string;
  // deno-lint-ignore no-explicit-any
  setup: (...args: any[]) => Promise<{ bundlePath?: URL; sharedPreloadLibraries?: string[]; close?: () => Promise<void> }>;
}

/** Extensions PGlite bundles, by their SQL name, each loaded on demand. plpgsql is always there. */
const BUNDLED: Record<string, () => Promise<PGliteExtension>> = {
  amcheck: () => import("@electric-sql/pglite/contrib/amcheck").then((m) => m.amcheck),
  auto_explain: () => import("@electric-sql/pglite/contrib/auto_explain").then((m) => m.auto_explain),
  bloom: () => import("@electric-sql/pglite/contrib/bloom").then((m) => m.bloom),
  btree_gin: () => import("@electric-sql/pglite/contrib/btree_gin").then((m) => m.btree_gin),
  btree_gist: () => import("@electric-sql/pglite/contrib/btree_gist").then((m) => m.btree_gist),
  citext: () => import("@electric-sql/pglite/contrib/citext").then((m) => m.citext),
  cube: () => import("@electric-sql/pglite/contrib/cube").then((m) => m.cube),
  dict_int: () => import("@electric-sql/pglite/contrib/dict_int").then((m) => m.dict_int),
  dict_xsyn: () => import("@electric-sql/pglite/contrib/dict_xsyn").then((m) => m.dict_xsyn),
  earthdistance: () => import("@electric-sql/pglite/contrib/earthdistance").then((m) => m.earthdistance),
  file_fdw: () => import("@electric-sql/pglite/contrib/file_fdw").then((m) => m.file_fdw),
  fuzzystrmatch: () => import("@electric-sql/pglite/contrib/fuzzystrmatch").then((m) => m.fuzzystrmatch),
  hstore: () => import("@electric-sql/pglite/contrib/hstore").then((m) => m.hstore),
  intarray: () => import("@electric-sql/pglite/contrib/intarray").then((m) => m.intarray),
  isn: () => import("@electric-sql/pglite/contrib/isn").then((m) => m.isn),
  lo: () => import("@electric-sql/pglite/contrib/lo").then((m) => m.lo),
  ltree: () => import("@electric-sql/pglite/contrib/ltree").then((m) => m.ltree),
  moddatetime: () => import("@electric-sql/pglite/contrib/moddatetime").then((m) => m.moddatetime),
  pageinspect: () => import("@electric-sql/pglite/contrib/pageinspect").then((m) => m.pageinspect),
  pg_buffercache: () => import("@electric-sql/pglite/contrib/pg_buffercache").then((m) => m.pg_buffercache),
  pg_freespacemap: () => import("@electric-sql/pglite/contrib/pg_freespacemap").then((m) => m.pg_freespacemap),
  pg_stat_statements: () => import("@electric-sql/pglite/contrib/pg_stat_statements").then((m) => m.pg_stat_statements),
  pg_surgery: () => import("@electric-sql/pglite/contrib/pg_surgery").then((m) => m.pg_surgery),
  pg_trgm: () => import("@electric-sql/pglite/contrib/pg_trgm").then((m) => m.pg_trgm),
  pg_visibility: () => import("@electric-sql/pglite/contrib/pg_visibility").then((m) => m.pg_visibility),
  pg_walinspect: () => import("@electric-sql/pglite/contrib/pg_walinspect").then((m) => m.pg_walinspect),
  pgcrypto: () => import("@electric-sql/pglite/contrib/pgcrypto").then((m) => m.pgcrypto),
  seg: () => import("@electric-sql/pglite/contrib/seg").then((m) => m.seg),
  tablefunc: () => import("@electric-sql/pglite/contrib/tablefunc").then((m) => m.tablefunc),
  tcn: () => import("@electric-sql/pglite/contrib/tcn").then((m) => m.tcn),
  tsm_system_rows: () => import("@electric-sql/pglite/contrib/tsm_system_rows").then((m) => m.tsm_system_rows),
  tsm_system_time: () => import("@electric-sql/pglite/contrib/tsm_system_time").then((m) => m.tsm_system_time),
  unaccent: () => import("@electric-sql/pglite/contrib/unaccent").then((m) => m.unaccent),
  "uuid-ossp": () => import("@electric-sql/pglite/contrib/uuid_ossp").then((m) => m.uuid_ossp),
};

/** What `CREATE EXTENSION x CASCADE` also installs. */
const REQUIRES: Record<string, string[]> = { earthdistance: ["cube"] };

/** Always available in PGlite without loading anything. */
const BUILT_IN = new Set(["plpgsql"]);

/** The SQL names of every extension PGlite bundles. */
export const PGLITE_EXTENSIONS: readonly string[] = Object.keys(BUNDLED).sort();

let embedded: Record<string, string> | undefined;

/**
 * The compiled binary registers the extension bundles (`NAME.tar.gz`) it embeds, by SQL name; they are used
 * instead of the package's files.
 *
 * @example
 * ```ts
 * usePGliteExtensionBundles({ pg_trgm: "/$bunfs/root/pg_trgm.tar.gz" });
 * ```
 */
export function usePGliteExtensionBundles(bundles: Record<string, string>): void {
  embedded = bundles;
}

const CREATE_EXTENSION = /\bcreate\s+extension\s+(?:if\s+not\s+exists\s+)?(?:"([^"]+)"|([\w-]+))/gi;

/**
 * The extensions `migrations` create (up and down scripts), with the first file asking for each. A regex over the
 * text without comments and string literals: enough to decide what to load before the run.
 *
 * @example
 * ```ts
 * requiredExtensions(migrations); // Map { "pg_trgm" => "migrations/003_search.up.sql" }
 * ```
 */
export function requiredExtensions(migrations: readonly Migration[]): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of migrations) {
    for (const [text, file] of [[m.up, m.source?.up], [m.down ?? "", m.source?.down]] as const) {
      const bare = text.replace(/\/\*[\s\S]*?\*\//g, " ").replace(/--[^\r\n]*/g, " ").replace(/'(?:[^']|'')*'/g, "''");
      for (const match of bare.matchAll(CREATE_EXTENSION)) {
        const name = (match[1] ?? match[2]).toLowerCase();
        if (!found.has(name)) found.set(name, file ?? `migration ${m.version}`);
      }
    }
  }
  return found;
}

/**
 * The `extensions` option for `PGlite.create` holding `names` (and what they need), loaded lazily. An extension
 * PGlite does not bundle is `INVALID_MIGRATION` naming it and, from `where`, the file that asks for it.
 *
 * @example
 * ```ts
 * const db = await PGlite.create({ extensions: await pgliteExtensions(["pg_trgm", "ltree"]) });
 * ```
 */
export async function pgliteExtensions(
  names: Iterable<string>,
  where: ReadonlyMap<string, string> = new Map(),
): Promise<Record<string, PGliteExtension>> {
  const wanted = new Set<string>();
  const add = (name: string) => {
    if (wanted.has(name) || BUILT_IN.has(name)) return;
    if (!(name in BUNDLED)) {
      const file = where.get(name);
      throw new MigrationError(
        "INVALID_MIGRATION",
        `${file ? `${file}: ` : ""}PGlite has no extension "${name}"${file ? " (CREATE EXTENSION)" : ""}; it bundles: ${PGLITE_EXTENSIONS.join(", ")}. Run these migrations on a PostgreSQL server (--db postgres://…) instead`,
        { file },
      );
    }
    wanted.add(name);
    for (const dep of REQUIRES[name] ?? []) add(dep);
  };
  for (const name of names) add(name.trim().toLowerCase());
  const out: Record<string, PGliteExtension> = {};
  for (const name of wanted) {
    const key = name.replace(/-/g, "_");
    const path = embedded?.[name];
    out[key] = path === undefined ? await BUNDLED[name]() : {
      name: key,
      // PGlite streams a bundle from disk, which an embedded file is not: copy it out for the run.
      async setup() {
        const dir = await mkdtemp(join(tmpdir(), "orchwf-pglite-ext-"));
        const file = join(dir, `${name}.tar.gz`);
        await writeFile(file, await readFile(path));
        return {
          bundlePath: pathToFileURL(file),
          sharedPreloadLibraries: name === "pg_stat_statements" ? [name] : undefined,
          close: () => rm(dir, { recursive: true, force: true }),
        };
      },
    };
  }
  return out;
}

/**
 * Extension names for a PGlite database that runs `migrations`: those they create, plus `extra` (`--extensions
 * a,b`). Throws for one PGlite lacks, naming the file.
 *
 * @example
 * ```ts
 * const extensions = await extensionsFor(migrations, ["hstore"]);
 * ```
 */
export function extensionsFor(migrations: readonly Migration[], extra: readonly string[] = []): Promise<Record<string, PGliteExtension>> {
  const where = requiredExtensions(migrations);
  return pgliteExtensions([...where.keys(), ...extra.filter((e) => e.trim() !== "")], where);
}
