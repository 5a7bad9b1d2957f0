/**
 * Runs every example in examples/migration_example as a user would, on the runtime running this test
 * (bun, deno, or node with tsx: `npm test` runs this file under all three), against in-memory PGlite and,
 * through ORCHWF_DB_URL, a fresh PostgreSQL database. cli.sh runs once the CLI is in the tree.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { postgresEngine } from "./helpers/engines.ts";

/** A fresh PGlite (initdb in WebAssembly) takes seconds on a busy machine; Bun's default limit is 5 s. */
const TIMEOUT_MS = 120_000;
/** cli.sh starts the CLI eight times, each on a fresh PGlite: 16 s on a quiet machine, over 120 s seen at load 7. */
const CLI_SH_TIMEOUT_MS = 300_000;
const root = fileURLToPath(new URL("..", import.meta.url));
const runtime = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";

/** How this runtime runs a TypeScript file. */
function tsCommand(file: string): [string, string[]] {
  if (runtime === "deno") return [process.execPath, ["run", "-A", file]];
  if (runtime === "node") return [process.execPath, ["--import", "tsx", file]];
  return [process.execPath, [file]];
}

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], env: Record<string, string | undefined>): Promise<Outcome> {
  const merged: Record<string, string | undefined> = { ...process.env, ORCHWF_DB_URL: undefined, DATABASE_URL: undefined, NO_COLOR: "1", ...env };
  const childEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(merged)) if (value !== undefined) childEnv[key] = value;
  return new Promise((resolve) => {
    execFile(command, args, { cwd: root, env: childEnv, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Each example and what its output must say. */
const EXAMPLES: { file: string; expect: RegExp[] }[] = [
  {
    file: "quick_setup.ts",
    expect: [/^001\s+applied\s+Create OrchWF tables$/m],
  },
  {
    file: "custom_migrations.ts",
    expect: [/^applied 100 workflow tags$/m, /^rolled back 101$/m, /^applied 101 tag lookup index again$/m, /current version: 101, 0 pending/],
  },
  {
    file: "migrations_dir.ts",
    expect: [
      /loaded 3 migrations from /,
      /applied 20250103000000 index customer emails/,
      /same e-mail: refused by the unique index \(SQLSTATE 23505\)/,
      /customers table after the rollback: gone/,
      /current version: 20250103000000, 0 pending/,
    ],
  },
  {
    file: "error_handling.ts",
    expect: [
      /SQL error at examples\/migration_example\/migrations_with_error\/20250201000000_create_invoices\.up\.sql:6:14 \(SQLSTATE 42704\)/,
      /> 6 \| {3}line_count INTEGR NOT NULL DEFAULT 0\n\s+\| {14}\^/,
      /invoices table absent, version recorded 0 times/,
      /current version: 001, 1 pending/,
    ],
  },
  {
    file: "orchwf_usage.ts",
    expect: [
      /after insert: updated_at = created_at: true/,
      /: completed$/m,
      /after update: updated_at moved past created_at: true/,
      /step 3 ship: completed/,
      /events recorded: 4/,
      /left after deleting the workflow: 0/,
    ],
  },
];

const serverMissing = (await postgresEngine.available()) ? false : "no PostgreSQL server here";
const cliMissing = !existsSync(`${root}/src/cli/main.ts`) ? "the CLI (src/cli/main.ts) is not in this tree yet" : false;
if (cliMissing) console.log(`*** examples/migration_example/cli.sh skipped: ${cliMissing} ***`);

/** Runs `fn` with a fresh PostgreSQL database's URL. */
async function withServerDatabase(fn: (url: string) => Promise<void>): Promise<void> {
  const d = await postgresEngine.open();
  try {
    await fn(d.url!);
  } finally {
    await d.close();
  }
}

// Under Node every example process also loads tsx and initialises PGlite (7 s each here): Node runs the examples
// on PostgreSQL only, Bun and Deno on both.
const pgliteSkip = runtime === "node" ? "PGlite examples run under Bun and Deno" : false;

for (const target of ["PGlite", "PostgreSQL"] as const) {
  const skip = target === "PostgreSQL" ? serverMissing : pgliteSkip;
  describe(`examples on ${runtime} with ${target}`, () => {
    for (const example of EXAMPLES) {
      test(example.file, { skip, timeout: TIMEOUT_MS }, async () => {
        const [command, args] = tsCommand(`examples/migration_example/${example.file}`);
        const check = async (env: Record<string, string | undefined>) => {
          const out = await run(command, args, env);
          assert.equal(out.code, 0, `${example.file} exited ${out.code}\n${out.stdout}\n${out.stderr}`);
          for (const pattern of example.expect) assert.match(out.stdout, pattern);
        };
        if (target === "PGlite") await check({});
        else await withServerDatabase((url) => check({ ORCHWF_DB_URL: url }));
      });
    }

    test("cli.sh", { skip: skip || cliMissing, timeout: CLI_SH_TIMEOUT_MS }, async () => {
      const check = async (env: Record<string, string | undefined>) => {
        const out = await run("bash", ["examples/migration_example/cli.sh"], { ORCHWF_RUNTIME: runtime, ...env });
        assert.equal(out.code, 0, `cli.sh exited ${out.code}\n${out.stdout}\n${out.stderr}`);
        assert.match(out.stdout, /applied\s+001\s+Create OrchWF tables/);
        assert.match(out.stdout, /applied\s+20250103000000\s+index customer emails/);
        assert.match(out.stdout, /rolled back\s+20250103000000/);
        assert.match(out.stdout, /exit code: 3 \(3 = pending\)/);
        assert.match(out.stdout, /"current": "20250102000000",\s+"pending": 1/);
      };
      if (target === "PGlite") await check({});
      else await withServerDatabase((url) => check({ ORCHWF_DB_URL: url }));
    });
  });
}
