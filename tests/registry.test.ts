/**
 * The CLI as a user starts it from an empty directory, through a real npm registry: verdaccio (a devDependency,
 * run by Bun: it asks for Node 22) on a free port with its own storage, proxying everything else to
 * registry.npmjs.org. Both packed tarballs are published to it, `@orchwf/migrate` and the unscoped
 * `orchwf-migrate` (packages/orchwf-migrate), then `bunx orchwf-migrate up`, `npx orchwf-migrate status` and
 * `deno run -A npm:@orchwf/migrate/cli status` run in an empty directory with a fresh HOME and fresh caches.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { after, before, describe, test } from "node:test";
import { bunBin, denoBin, root } from "./helpers/cli.ts";

const LONG = { timeout: 600_000 };
let work = "";
let registry = "";
let verdaccio: ChildProcess | undefined;
let verdaccioLog = "";

/** A port nothing listens on now (the kernel picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** verdaccio's configuration: our two names are local only (publishable), every other name proxies npmjs. */
function verdaccioConfig(dir: string): string {
  return [
    `storage: ${join(dir, "storage")}`,
    "auth:",
    "  htpasswd:",
    `    file: ${join(dir, "htpasswd")}`,
    "uplinks:",
    "  npmjs:",
    "    url: https://registry.npmjs.org/",
    "    timeout: 120s",
    "packages:",
    "  '@orchwf/migrate':",
    "    access: $all",
    "    publish: $authenticated",
    "  'orchwf-migrate':",
    "    access: $all",
    "    publish: $authenticated",
    "  '**':",
    "    access: $all",
    "    proxy: npmjs",
    // Its "http address" line is a warning: the one line this test waits for.
    "log: { type: stdout, format: pretty, level: warn }",
    "",
  ].join("\n");
}

/** Starts verdaccio and resolves once it listens; rejects if it exits first. */
async function startVerdaccio(dir: string, port: number): Promise<void> {
  writeFileSync(join(dir, "config.yaml"), verdaccioConfig(dir));
  const child = spawn(bunBin, [join(root, "node_modules/verdaccio/bin/verdaccio"), "--config", join(dir, "config.yaml"), "--listen", `127.0.0.1:${port}`], {
    cwd: dir,
    env: { ...userEnv(join(dir, "verdaccio-home")) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  verdaccio = child;
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      verdaccioLog = (verdaccioLog + chunk.toString()).slice(-20_000);
      if (/http address/.test(verdaccioLog)) resolve();
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`verdaccio exited (${code}) before listening:\n${verdaccioLog}`)));
  });
}

/** The environment of a user with nothing installed: a fresh HOME and caches, our registry, no npm_* of a parent npm run. */
function userEnv(home: string): Record<string, string> {
  mkdirSync(home, { recursive: true });
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !/^(npm_|NPM_|BUN_|DENO_|XDG_|NODE_OPTIONS$|NODE_TEST_CONTEXT$|ORCHWF_DB_URL$|DATABASE_URL$|NO_COLOR$|FORCE_COLOR$)/.test(k)) env[k] = v;
  }
  return {
    ...env,
    HOME: home,
    XDG_CACHE_HOME: join(home, ".cache"),
    ...(registry
      ? {
        npm_config_registry: registry,
        NPM_CONFIG_REGISTRY: registry,
        BUN_CONFIG_REGISTRY: registry,
        npm_config_cache: join(home, ".npm"),
        BUN_INSTALL_CACHE_DIR: join(home, ".bun-cache"),
        DENO_DIR: join(home, ".deno"),
      }
      : {}),
    NO_COLOR: "1",
  };
}

/** Packs a package directory into its own folder (both tarballs are named orchwf-migrate-X.tgz). */
function pack(dir: string, into: string): string {
  mkdirSync(into, { recursive: true });
  execFileSync("npm", ["pack", "--pack-destination", into, "--no-audit", "--no-fund"], {
    cwd: dir,
    env: { ...process.env, PATH: `${join(root, "node_modules/.bin")}:${process.env.PATH}` },
    stdio: ["ignore", "ignore", "inherit"],
  });
  return join(into, readdirSync(into).find((f) => f.endsWith(".tgz"))!);
}

function run(command: string, args: string[], cwd: string, env: Record<string, string>): { code: number; out: string } {
  const r = spawnSync(command, args, { cwd, env, encoding: "utf8", timeout: 300_000 });
  return { code: r.status ?? -1, out: `${r.stdout}\n${r.stderr}` };
}

let empty = "";
let userHome = "";

before(async () => {
  work = mkdtempSync(join(tmpdir(), "orchwf-registry-"));
  const port = await freePort();
  await startVerdaccio(work, port);
  registry = `http://127.0.0.1:${port}/`;
  // A user to publish as (verdaccio's htpasswd: the first PUT creates it and answers with a token).
  const res = await fetch(`${registry}-/user/org.couchdb.user:publisher`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "publisher", password: "publisher-secret" }),
  });
  const { token } = (await res.json()) as { token: string };
  assert.ok(token, "verdaccio made the publisher");
  const npmrc = join(work, "publisher.npmrc");
  writeFileSync(npmrc, `registry=${registry}\n//127.0.0.1:${port}/:_authToken=${token}\n`);
  // The root pack runs prepack (build, and the unscoped package set to the same version) before the second pack.
  const scoped = pack(root, join(work, "packs/scoped"));
  const unscoped = pack(join(root, "packages/orchwf-migrate"), join(work, "packs/unscoped"));
  for (const tarball of [scoped, unscoped]) {
    execFileSync("npm", ["publish", tarball, "--registry", registry, "--no-audit"], {
      cwd: work,
      env: { ...userEnv(join(work, "publisher-home")), NPM_CONFIG_USERCONFIG: npmrc },
      stdio: ["ignore", "ignore", "inherit"],
    });
  }
  empty = join(work, "empty");
  mkdirSync(empty);
  userHome = join(work, "home");
});

after(async () => {
  if (verdaccio && verdaccio.exitCode === null) {
    const exited = new Promise((resolve) => verdaccio!.once("exit", resolve));
    verdaccio.kill();
    await exited;
  }
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("published to a registry, run from an empty directory", () => {
  test("the unscoped orchwf-migrate has our version and depends on @orchwf/migrate at it", LONG, async () => {
    const ours = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
    const doc = (await (await fetch(`${registry}orchwf-migrate`)).json()) as { "dist-tags": { latest: string }; versions: Record<string, { bin: Record<string, string>; dependencies: Record<string, string> }> };
    assert.equal(doc["dist-tags"].latest, ours.version);
    const published = doc.versions[ours.version];
    assert.deepEqual(published.dependencies, { "@orchwf/migrate": ours.version });
    assert.ok(published.bin["orchwf-migrate"], "its bin is orchwf-migrate");
  });

  test("bunx orchwf-migrate up --db pglite:./x", LONG, () => {
    const r = run(bunBin, ["x", "orchwf-migrate", "up", "--db", "pglite:./x"], empty, userEnv(userHome));
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /1 migration applied; current version 001/);
  });

  test("npx orchwf-migrate status --db pglite:./x", LONG, () => {
    const r = run("npx", ["--yes", "orchwf-migrate", "status", "--db", "pglite:./x"], empty, userEnv(userHome));
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /current version: 001, 0 pending/);
  });

  test("deno run -A npm:@orchwf/migrate/cli status --db pglite:./x", LONG, () => {
    // Deno 2.9 installs no npm version younger than 24 hours unless told: this one was published a moment ago.
    const r = run(denoBin, ["run", "-A", "--minimum-dependency-age=0", "npm:@orchwf/migrate/cli", "status", "--db", "pglite:./x"], empty, userEnv(userHome));
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /current version: 001, 0 pending/);
    assert.deepEqual(readdirSync(empty).sort(), ["x"], "nothing but the database was written to the directory");
  });
});
