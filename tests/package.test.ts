/**
 * The npm package as a user gets it: `npm pack` (which builds dist/ through the `prepack` script), the tarball
 * installed into an empty project with the user's own PGlite (`npm i ./tgz @electric-sql/pglite`), then imported
 * from Node 20, Bun and Deno (`npm:` specifier) to run quickSetup on PGlite and on PostgreSQL 15, its types and the
 * README's TypeScript examples checked by tsc, its dependency tree checked (one PGlite, `npm ls` clean), and its
 * bin run by each runtime.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { postgresEngine, type TestDatabase } from "./helpers/engines.ts";
import { bunBin, cleanEnv, denoBin, root } from "./helpers/cli.ts";

const LONG = { timeout: 600_000 };
let project = "";
let server: TestDatabase | undefined;
let readmeExamples: string[] = [];

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

/**
 * The README's TypeScript blocks that import the package, one file each. A block that uses a client it did not
 * make (`sql`) gets it declared; Bun-only blocks (`from "bun"`) need Bun's types and are left out.
 */
function writeReadmeExamples(): string[] {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]).filter((b) => /from "@orchwf\/migrate/.test(b) && !/from "bun"/.test(b));
  return blocks.map((block, i) => {
    const file = `readme-${i + 1}.ts`;
    const prelude = /\bsql\b/.test(block) && !/const sql\b/.test(block) ? `import type { Sql } from "postgres";\ndeclare const sql: Sql;\n` : "";
    writeFileSync(join(project, file), `${prelude}${block}export {};\n`);
    return file;
  });
}

/** examples/testing_example/runners: one file per test runner, the same three tests. */
const RUNNER_EXAMPLES = { bun: "bun-notes.ts", deno: "deno-notes.ts", node: "node-notes.mjs", vitest: "vitest-notes.ts" } as const;

function run(command: string, args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  // NODE_TEST_CONTEXT would tell a child `node --test` that it runs inside this file's runner.
  const { NODE_TEST_CONTEXT: _, ...parent } = cleanEnv({ NO_COLOR: "1", ...env });
  const r = spawnSync(command, args, { cwd: project, env: parent, encoding: "utf8", timeout: 300_000 });
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
  // What the README tells a user to install (pglite-tools, an optional peer, is left out on purpose).
  const vitest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).devDependencies.vitest;
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball, "@electric-sql/pglite", "@types/node", `vitest@${vitest}`], {
    cwd: project,
    stdio: ["ignore", "ignore", "inherit"],
  });
  rmSync(packs, { recursive: true, force: true });
  writeFileSync(join(project, "check.mjs"), CHECK.replace("SPECIFIER", "@orchwf/migrate"));
  writeFileSync(join(project, "check-deno.mjs"), `import process from "node:process";\n${CHECK.replace("SPECIFIER", "npm:@orchwf/migrate").replace('"@electric-sql/pglite"', '"npm:@electric-sql/pglite"').replace('"postgres"', '"npm:postgres"')}`);
  writeFileSync(join(project, "types.ts"), TYPES);
  // The runner examples, each in its own folder as the notes.test file a user saves.
  for (const [runner, example] of Object.entries(RUNNER_EXAMPLES)) {
    mkdirSync(join(project, "runners", runner), { recursive: true });
    copyFileSync(join(root, "examples/testing_example/runners", example), join(project, "runners", runner, `notes.test${extname(example)}`));
  }
  readmeExamples = writeReadmeExamples();
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

  test("one PGlite in the consumer's tree, the user's; npm ls exits 0; no prepare script published", LONG, () => {
    const ls = run("npm", ["ls", "--all"]);
    assert.equal(ls.code, 0, `npm ls:\n${ls.stdout}\n${ls.stderr}`);
    const copies = run("find", ["node_modules", "-type", "f", "-path", "*/@electric-sql/pglite/package.json"]).stdout.trim().split("\n");
    assert.deepEqual(copies, ["node_modules/@electric-sql/pglite/package.json"], "exactly one @electric-sql/pglite");
    assert.ok(!existsSync(join(project, "node_modules/@electric-sql/pglite-tools")), "the optional peer is not installed by default");
    const pkg = JSON.parse(readFileSync(join(project, "node_modules/@orchwf/migrate/package.json"), "utf8"));
    assert.equal(pkg.scripts?.prepare, undefined, "no install-time build script reaches consumers");
    assert.equal(pkg.dependencies["@electric-sql/pglite"], undefined);
    assert.match(pkg.peerDependencies["@electric-sql/pglite"], /^\^0\.5\./);
    assert.equal(pkg.peerDependenciesMeta["@electric-sql/pglite-tools"]?.optional, true);
  });

  test("without pglite-tools: dump falls back to the snapshot dumper and says so; --dumper pglite-tools is USAGE", LONG, () => {
    const dump = run("node", ["node_modules/.bin/orchwf-migrate", "dump", "--from", "files", "--json"]);
    assert.equal(dump.code, 0, `${dump.stdout}\n${dump.stderr}`);
    const json = JSON.parse(dump.stdout);
    assert.equal(json.dumper, "snapshot");
    assert.match(json.sql, /CREATE TABLE/);
    assert.match(dump.stderr, /@electric-sql\/pglite-tools .*is not installed/);
    const forced = run("node", ["node_modules/.bin/orchwf-migrate", "dump", "--from", "files", "--dumper", "pglite-tools"]);
    assert.equal(forced.code, 2, `${forced.stdout}\n${forced.stderr}`);
    assert.match(forced.stderr, /the pglite-tools dumper needs @electric-sql\/pglite-tools .*not installed: npm i -D @electric-sql\/pglite-tools/);
  });

  test("the README's TypeScript examples compile with tsc --strict, NodeNext, skipLibCheck", LONG, () => {
    assert.ok(readmeExamples.some((f) => readFileSync(join(project, f), "utf8").includes("let db: PGlite;")), "the typed createTestDatabase example is checked");
    const r = run("node", [join(root, "node_modules/typescript/bin/tsc"), "--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext", "--skipLibCheck", ...readmeExamples]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  });

  // The first test of a process may wait for a cold start under load: generous per-test limits, not a measurement.
  const runners = {
    bun: [bunBin, ["test", "--timeout", "120000", "./runners/bun/notes.test.ts"], /^\s*(\d+) pass$/m],
    deno: [denoBin, ["test", "-A", "--node-modules-dir=manual", "runners/deno/notes.test.ts"], /ok \| (\d+) passed/],
    node: ["node", ["--test", "--test-reporter=spec", "runners/node/notes.test.mjs"], /^ℹ pass (\d+)$/m],
    vitest: ["node", ["node_modules/vitest/vitest.mjs", "run", "--testTimeout=120000", "--hookTimeout=120000", "runners/vitest/"], /Tests\s+(\d+) passed/],
  } as const;
  for (const [name, [command, args, passed]] of Object.entries(runners)) {
    test(`createTestDatabase() under ${name === "node" ? "node --test" : name === "vitest" ? "Vitest" : `${name} test`}: 3 tests, one commits, the next is clean`, LONG, () => {
      const r = run(command, [...args]);
      const out = `${r.stdout}\n${r.stderr}`;
      assert.equal(r.code, 0, out);
      assert.equal(Number(passed.exec(out)?.[1]), 3, out);
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
