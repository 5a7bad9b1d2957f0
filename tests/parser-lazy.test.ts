/**
 * The parser's WebAssembly is loaded only when SQL must be read: `status()` and an up-to-date `migrate()` never load
 * it; a `migrate()` with something pending does. Checked in a fresh Bun subprocess (module state is per process).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { test } from "node:test";
import { bunBin, root } from "./helpers/cli.ts";

const SCRIPT = `
import { PGlite } from "@electric-sql/pglite";
import { Migrator } from ${JSON.stringify(join(root, "src/mod.ts"))};
import { loadedParser } from ${JSON.stringify(join(root, "src/sources/parser.ts"))};
const db = await PGlite.create();
const migrator = new Migrator(db, { migrations: [{ version: "1", description: "t", up: "CREATE TABLE t (id int);" }] });
const seen = [];
await migrator.status();
seen.push(loadedParser() !== undefined);
await migrator.migrate();
seen.push(loadedParser() !== undefined);
console.log(JSON.stringify(seen));
await db.close();
`;

test("status() does not load the parser; migrate() with a pending migration does", { timeout: 180_000 }, async () => {
  const out = await new Promise<string>((resolve, reject) => {
    execFile(bunBin, ["--eval", SCRIPT], { cwd: root, timeout: 170_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(String(stdout));
    });
  });
  assert.deepEqual(JSON.parse(out.trim().split("\n").pop()!), [false, true]);
});
