/**
 * The npm package as a user gets it: `npm pack` (which builds dist/ through the `prepare` script), the tarball
 * installed into an empty project, then imported from Node 20, Bun and Deno (`npm:` specifier) to run quickSetup
 * on PGlite and on PostgreSQL 15, its types checked by tsc, and its bin run by each runtime.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { postgresEngine, type TestDatabase } from "./helpers/engines.ts";
import { bunBin, cleanEnv, denoBin, root } from "./helpers/cli.ts";

const LONG = { timeout: 600_000 };
let project = "";
let server: TestDatabase | undefined;

const CHECK = `
import { Migrator, quickSetup, orchwfMigrations } from "SPECIFIER";
import { PGlite } from "@electric-sql/pglite";
const out = {};
const lite = await PGlite.create();
await quickSetup(lite);
out.pglite = (await new Migrator(lite).status()).current;
await lite.close();
const url = process.env.CHECK_PG_URL;
if (url) {
  const { default: postgres } = await import("postgres");
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  await quickSetup(sql);
  await quickSetup(sql); // idempotent
  out.postgres = (await new Migrator(sql).status()).current;
  await sql.end();
}
out.builtins = orchwfMigrations.length;
console.log(JSON.stringify(out));
`;

const TYPES = `
import { quickSetup, Migrator, MigrationError, type Migration, type StatusReport } from "@orchwf/migrate";
import { createTestDatabase } from "@orchwf/migrate/testing";
const m: Migration = { version: "001", description: "x", up: "SELECT 1" };
export async function check(db: object): Promise<StatusReport> {
  await quickSetup(db as never, { timeoutMs: 1000 });
  const e: MigrationError | undefined = undefined;
  void e; void createTestDatabase;
  return await new Migrator(db as never, { migrations: [m] }).status();
}
`;

function run(command: string, args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(command, args, { cwd: project, env: cleanEnv({ NO_COLOR: "1", ...env }), encoding: "utf8", timeout: 300_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

before(async () => {
  const packs = mkdtempSync(join(tmpdir(), "orchwf-pack-"));
  execFileSync("npm", ["pack", "--pack-destination", packs, "--no-audit", "--no-fund"], {
    cwd: root,
    env: { ...process.env, PATH: `${join(root, "node_modules/.bin")}:${process.env.PATH}` },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const tarball = join(packs, readdirSync(packs).find((f) => f.endsWith(".tgz"))!);
  project = mkdtempSync(join(tmpdir(), "orchwf-consumer-"));
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball], { cwd: project, stdio: ["ignore", "ignore", "inherit"] });
  rmSync(packs, { recursive: true, force: true });
  writeFileSync(join(project, "check.mjs"), CHECK.replace("SPECIFIER", "@orchwf/migrate"));
  writeFileSync(join(project, "check-deno.mjs"), `import process from "node:process";\n${CHECK.replace("SPECIFIER", "npm:@orchwf/migrate").replace('"@electric-sql/pglite"', '"npm:@electric-sql/pglite"').replace('"postgres"', '"npm:postgres"')}`);
  writeFileSync(join(project, "types.ts"), TYPES);
  if (await postgresEngine.available()) server = await postgresEngine.open();
});

after(async () => {
  await server?.close();
  if (project) rmSync(project, { recursive: true, force: true });
});

describe("the npm package, installed from its tarball", () => {
  test("ships compiled ESM with types, engines and the bin; not the tests or the binary", LONG, () => {
    const pkg = JSON.parse(readFileSync(join(project, "node_modules/@orchwf/migrate/package.json"), "utf8"));
    assert.equal(pkg.exports["."].import, "./dist/lib/mod.js");
    assert.equal(pkg.exports["."].types, "./dist/lib/mod.d.ts");
    assert.ok(pkg.engines.node);
    const installed = join(project, "node_modules/@orchwf/migrate");
    for (const file of ["dist/lib/mod.js", "dist/lib/mod.d.ts", "dist/lib/testing.js", "dist/lib/cli/main.js", "dist/orchwf-migrate.js", "sql/001_create_orchwf_tables.up.sql"]) {
      assert.ok(readdirSync(join(installed, file, "..")).includes(file.split("/").pop()!), `${file} is shipped`);
    }
    assert.ok(!readdirSync(join(installed, "dist")).includes("orchwf-migrate") , "the 100 MB binary is not shipped");
    assert.ok(!readdirSync(installed).includes("tests"));
    assert.ok(!/from "\.[^"]*\.ts"/.test(readFileSync(join(installed, "dist/lib/mod.d.ts"), "utf8")), ".d.ts imports point at .js");
  });

  for (const runtime of ["node", "bun", "deno"] as const) {
    test(`${runtime}: import the library, quickSetup on PGlite and PostgreSQL 15 (when a server is available)`, LONG, () => {
      const env: Record<string, string> = server?.url ? { CHECK_PG_URL: server.url } : {};
      const r = runtime === "node"
        ? run("node", ["check.mjs"], env)
        : runtime === "bun"
        ? run(bunBin, ["check.mjs"], env)
        : run(denoBin, ["run", "-A", "--node-modules-dir=manual", "check-deno.mjs"], env);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
      assert.equal(out.pglite, "001");
      assert.ok(out.builtins >= 1);
      if (server) assert.equal(out.postgres, "001");
    });
  }

  test("the types compile for a TypeScript user (tsc, NodeNext)", LONG, () => {
    const r = run("node", [join(root, "node_modules/typescript/bin/tsc"), "--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext", "--skipLibCheck", "types.ts"]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  });

  test("the bin runs on Node (npx), Bun (bunx --bun) and Deno (npm:…/cli)", LONG, () => {
    const runs = {
      node: run("node", ["node_modules/.bin/orchwf-migrate", "status", "--db", "pglite:memory", "--json"]),
      bun: run(bunBin, ["x", "--bun", "orchwf-migrate", "status", "--db", "pglite:memory", "--json"]),
      deno: run(denoBin, ["run", "-A", "--node-modules-dir=manual", "npm:@orchwf/migrate/cli", "status", "--db", "pglite:memory", "--json"]),
    };
    for (const [name, r] of Object.entries(runs)) {
      assert.equal(r.code, 0, `${name}: ${r.stdout}\n${r.stderr}`);
      assert.deepEqual(JSON.parse(r.stdout).migrations.map((m: { state: string }) => m.state), ["pending"], name);
    }
    const version = run("node", ["node_modules/.bin/orchwf-migrate", "--version"]);
    assert.match(version.stdout, /^orchwf-migrate \d+\.\d+\.\d+\n$/);
    const noDb = run("node", ["node_modules/.bin/orchwf-migrate", "up"]);
    assert.equal(noDb.code, 2, "no database named in a non-interactive run");
  });
});
