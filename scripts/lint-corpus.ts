/**
 * Runs `lint` over other projects' migration directories (not part of this repository) and prints, per directory,
 * the files, the time after the parser is loaded, and the findings per rule; with --show RULE, each finding of it.
 *   bun scripts/lint-corpus.ts DIR... [--show RULE]
 * Files are read leniently (`VERSION_name.up.sql`; an empty file or a repeated version is skipped) because the point
 * is the linter on real SQL, not these projects' naming.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { sqlParser } from "../src/core/split.ts";
import { hasStatements, type Migration, migrationFromFiles, parseFileName } from "../src/core/migration.ts";
import { lintMigrations } from "../src/lint/lint.ts";

const args = process.argv.slice(2);
const show = args.includes("--show") ? args[args.indexOf("--show") + 1] : undefined;
const dirs = args.filter((a, i) => !a.startsWith("--") && args[i - 1] !== "--show");
await sqlParser();
for (const dir of dirs) {
  const seen = new Set<string>();
  const migrations: Migration[] = [];
  for (const name of readdirSync(dir).sort()) {
    const parsed = parseFileName(name);
    if (!parsed || parsed.direction !== "up" || seen.has(BigInt(parsed.version).toString())) continue;
    const up = readFileSync(join(dir, name), "utf8");
    if (!hasStatements(up)) continue;
    seen.add(BigInt(parsed.version).toString());
    migrations.push(migrationFromFiles({ version: parsed.version, name: parsed.name, up, upFile: join(dir, name) }));
  }
  const t0 = performance.now();
  const report = await lintMigrations(migrations);
  const ms = performance.now() - t0;
  const byRule = new Map<string, number>();
  for (const f of report.findings) byRule.set(f.rule, (byRule.get(f.rule) ?? 0) + 1);
  console.log(`${dir}: ${migrations.length} files, ${ms.toFixed(0)} ms (${((ms / migrations.length) * 300).toFixed(0)} ms per 300), ${report.errors} errors, ${report.warnings} warnings`);
  for (const [rule, n] of [...byRule].sort((a, b) => b[1] - a[1])) console.log(`  ${String(n).padStart(5)}  ${rule}`);
  for (const f of report.findings.filter((f) => f.rule === show)) console.log(`    ${f.file}:${f.line}:${f.column} ${f.message}`);
}
