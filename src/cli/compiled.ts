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
// pg_dump in WebAssembly (dump, squash) looks for pg_dump.wasm next to its module: scripts/build.ts keeps asset
// names as they are (--asset-naming), so this embedded copy is found at /$bunfs/root/pg_dump.wasm.
import pgDumpWasm from "../../node_modules/@electric-sql/pglite-tools/dist/pg_dump.wasm" with { type: "file" };
import pglitePackage from "../../node_modules/@electric-sql/pglite/package.json" with { type: "json" };
import pgliteToolsPackage from "../../node_modules/@electric-sql/pglite-tools/package.json" with { type: "json" };
import { usePackageVersion } from "../schema/disk-cache.ts";
import { usePGliteAssets } from "./pglite-assets.ts";
import { useParserWasm } from "../sources/parser.ts";
import { usePGliteExtensionBundles } from "../sources/extensions.ts";
// PGlite's bundled extensions, loaded only when the migrations (or --extensions) ask for them.
import ext_amcheck from "../../node_modules/@electric-sql/pglite/dist/amcheck.tar.gz" with { type: "file" };
import ext_auto_explain from "../../node_modules/@electric-sql/pglite/dist/auto_explain.tar.gz" with { type: "file" };
import ext_bloom from "../../node_modules/@electric-sql/pglite/dist/bloom.tar.gz" with { type: "file" };
import ext_btree_gin from "../../node_modules/@electric-sql/pglite/dist/btree_gin.tar.gz" with { type: "file" };
import ext_btree_gist from "../../node_modules/@electric-sql/pglite/dist/btree_gist.tar.gz" with { type: "file" };
import ext_citext from "../../node_modules/@electric-sql/pglite/dist/citext.tar.gz" with { type: "file" };
import ext_cube from "../../node_modules/@electric-sql/pglite/dist/cube.tar.gz" with { type: "file" };
import ext_dict_int from "../../node_modules/@electric-sql/pglite/dist/dict_int.tar.gz" with { type: "file" };
import ext_dict_xsyn from "../../node_modules/@electric-sql/pglite/dist/dict_xsyn.tar.gz" with { type: "file" };
import ext_earthdistance from "../../node_modules/@electric-sql/pglite/dist/earthdistance.tar.gz" with { type: "file" };
import ext_file_fdw from "../../node_modules/@electric-sql/pglite/dist/file_fdw.tar.gz" with { type: "file" };
import ext_fuzzystrmatch from "../../node_modules/@electric-sql/pglite/dist/fuzzystrmatch.tar.gz" with { type: "file" };
import ext_hstore from "../../node_modules/@electric-sql/pglite/dist/hstore.tar.gz" with { type: "file" };
import ext_intarray from "../../node_modules/@electric-sql/pglite/dist/intarray.tar.gz" with { type: "file" };
import ext_isn from "../../node_modules/@electric-sql/pglite/dist/isn.tar.gz" with { type: "file" };
import ext_lo from "../../node_modules/@electric-sql/pglite/dist/lo.tar.gz" with { type: "file" };
import ext_ltree from "../../node_modules/@electric-sql/pglite/dist/ltree.tar.gz" with { type: "file" };
import ext_moddatetime from "../../node_modules/@electric-sql/pglite/dist/spi.tar.gz" with { type: "file" };
import ext_pageinspect from "../../node_modules/@electric-sql/pglite/dist/pageinspect.tar.gz" with { type: "file" };
import ext_pg_buffercache from "../../node_modules/@electric-sql/pglite/dist/pg_buffercache.tar.gz" with { type: "file" };
import ext_pg_freespacemap from "../../node_modules/@electric-sql/pglite/dist/pg_freespacemap.tar.gz" with { type: "file" };
import ext_pg_stat_statements from "../../node_modules/@electric-sql/pglite/dist/pg_stat_statements.tar.gz" with { type: "file" };
import ext_pg_surgery from "../../node_modules/@electric-sql/pglite/dist/pg_surgery.tar.gz" with { type: "file" };
import ext_pg_trgm from "../../node_modules/@electric-sql/pglite/dist/pg_trgm.tar.gz" with { type: "file" };
import ext_pg_visibility from "../../node_modules/@electric-sql/pglite/dist/pg_visibility.tar.gz" with { type: "file" };
import ext_pg_walinspect from "../../node_modules/@electric-sql/pglite/dist/pg_walinspect.tar.gz" with { type: "file" };
import ext_pgcrypto from "../../node_modules/@electric-sql/pglite/dist/pgcrypto.tar.gz" with { type: "file" };
import ext_seg from "../../node_modules/@electric-sql/pglite/dist/seg.tar.gz" with { type: "file" };
import ext_tablefunc from "../../node_modules/@electric-sql/pglite/dist/tablefunc.tar.gz" with { type: "file" };
import ext_tcn from "../../node_modules/@electric-sql/pglite/dist/tcn.tar.gz" with { type: "file" };
import ext_tsm_system_rows from "../../node_modules/@electric-sql/pglite/dist/tsm_system_rows.tar.gz" with { type: "file" };
import ext_tsm_system_time from "../../node_modules/@electric-sql/pglite/dist/tsm_system_time.tar.gz" with { type: "file" };
import ext_unaccent from "../../node_modules/@electric-sql/pglite/dist/unaccent.tar.gz" with { type: "file" };
import ext_uuid_ossp from "../../node_modules/@electric-sql/pglite/dist/uuid-ossp.tar.gz" with { type: "file" };
import { runCli } from "./main.ts";

declare const Bun: { file(path: string): { arrayBuffer(): Promise<ArrayBuffer> } };

void pgDumpWasm;

// Part of the keys of the on-disk cache (initdb's output, replays for drift and dump).
usePackageVersion("@electric-sql/pglite", pglitePackage.version);
usePackageVersion("@electric-sql/pglite-tools", pgliteToolsPackage.version);
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
usePGliteExtensionBundles({
  "amcheck": ext_amcheck,
  "auto_explain": ext_auto_explain,
  "bloom": ext_bloom,
  "btree_gin": ext_btree_gin,
  "btree_gist": ext_btree_gist,
  "citext": ext_citext,
  "cube": ext_cube,
  "dict_int": ext_dict_int,
  "dict_xsyn": ext_dict_xsyn,
  "earthdistance": ext_earthdistance,
  "file_fdw": ext_file_fdw,
  "fuzzystrmatch": ext_fuzzystrmatch,
  "hstore": ext_hstore,
  "intarray": ext_intarray,
  "isn": ext_isn,
  "lo": ext_lo,
  "ltree": ext_ltree,
  "moddatetime": ext_moddatetime,
  "pageinspect": ext_pageinspect,
  "pg_buffercache": ext_pg_buffercache,
  "pg_freespacemap": ext_pg_freespacemap,
  "pg_stat_statements": ext_pg_stat_statements,
  "pg_surgery": ext_pg_surgery,
  "pg_trgm": ext_pg_trgm,
  "pg_visibility": ext_pg_visibility,
  "pg_walinspect": ext_pg_walinspect,
  "pgcrypto": ext_pgcrypto,
  "seg": ext_seg,
  "tablefunc": ext_tablefunc,
  "tcn": ext_tcn,
  "tsm_system_rows": ext_tsm_system_rows,
  "tsm_system_time": ext_tsm_system_time,
  "unaccent": ext_unaccent,
  "uuid-ossp": ext_uuid_ossp,
});

await runCli();
