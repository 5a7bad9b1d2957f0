/**
 * Tries `diff` on other projects' histories (not part of this repository): for each migration k, the desired
 * schema is the pg_dump of migrations 1..k, the history is 1..k-1. The written migration must be proven, and,
 * checked here with pg_dump (PGlite's, in WebAssembly): applied after the history its dump equals the desired dump
 * (statements compared as a set), and its down gives back the history's dump.
 *   bun scripts/diff-corpus.ts DIR... [--format F] [--from N] [--replace TEXT=VALUE] [--prelude SQL]
 * --prelude runs SQL before the history, for what a project expects to exist (its tool's version table, a schema).
 * Prints one line per step that is not proven or not equal, and a summary per directory.
 */
import process from "node:process";
import { dumpDatabase, dumpMigrations } from "../src/schema/dump.ts";
import { planNextMigration, statementsToSql } from "../src/schema/next-migration.ts";
import { replayMigrations } from "../src/schema/replay.ts";
import { scratchPGlite } from "../src/schema/scratch-pglite.ts";
import { extensionsFor } from "../src/sources/extensions.ts";
import { loadMigrations } from "../src/sources/load.ts";
import type { MigrationFormat } from "../src/sources/detect.ts";
import type { Migration } from "../src/core/migration.ts";

const args = process.argv.slice(2);
const option = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const replacements = args.flatMap((a, i) => (args[i - 1] === "--replace" ? [a.split("=") as [string, string]] : []));
const dirs = args.filter((a, i) => !a.startsWith("--") && !["--format", "--from", "--replace", "--prelude"].includes(args[i - 1]));
const prelude = option("--prelude");
const from = Number(option("--from") ?? 1);

/**
 * A dump's statements as a set (comments and blank lines dropped; the version table's rows left out). PostgreSQL 18
 * names NOT NULL constraints, after the table's name when the column was made: a table the history renamed keeps
 * the old name in them, which no snapshot compares (PostgreSQL 15 has no such names): the names are left out.
 */
function statements(sql: string): Set<string> {
  return new Set(
    sql.split(/;\n/).map((s) => s.replace(/^--.*$/gm, "").replace(/CONSTRAINT \S+ NOT NULL/g, "NOT NULL").trim())
      .filter((s) => s !== "" && !/orchwf_migrations/.test(s)),
  );
}

/** What differs between the statements one side lacks and the other side has, line by line, briefly. */
function lines(missing: string[], extra: string[]): string[] {
  const a = new Set(missing.flatMap((s) => s.split("\n")));
  const b = new Set(extra.flatMap((s) => s.split("\n")));
  const onlyA = [...a].filter((l) => !b.has(l)).map((l) => `- ${l.trim()}`);
  const onlyB = [...b].filter((l) => !a.has(l)).map((l) => `+ ${l.trim()}`);
  const moved = onlyA.length + onlyB.length === 0 && missing.length > 0 ? ["(the same lines in another order: column order)"] : [];
  return [...onlyA, ...onlyB, ...moved].slice(0, 12);
}

function difference(a: Set<string>, b: Set<string>): string[] {
  return [...a].filter((s) => !b.has(s));
}

for (const dir of dirs) {
  let migrations: Migration[] = await loadMigrations(dir, { format: option("--format") as MigrationFormat | undefined });
  migrations = migrations.map((m) => {
    let up = m.up;
    for (const [text, value] of replacements) up = up.replaceAll(text, value);
    return { ...m, up };
  });
  // The prelude is part of every history: it runs first, with the first migration.
  if (prelude !== undefined && migrations.length > 0) migrations[0] = { ...migrations[0], up: `${prelude};\n${migrations[0].up}` };
  let proven = 0, equal = 0, empty = 0, tried = 0, unsupported = 0, renamed = 0, columnOrder = 0;
  for (let k = from; k < migrations.length + 1; k++) {
    const history = migrations.slice(0, k - 1);
    const desired = migrations.slice(0, k);
    let desiredDump: string;
    try {
      desiredDump = (await dumpMigrations(desired, { withoutVersionTable: true })).sql;
    } catch (err) {
      console.log(`${dir} ${migrations[k - 1].version}: the history does not replay: ${(err as Error).message.split("\n")[0]}`);
      break;
    }
    tried++;
    let next = await planNextMigration(history, desiredDump, { desiredLabel: `dump of 1..${k}` });
    // A user follows the rename hints (a rename is never guessed): the same, with the renames they name.
    const hinted: Record<string, string> = {};
    for (const hint of next.up.renameHints) {
      const m = /--rename (\S+)=(\S+)/.exec(hint);
      if (m) hinted[m[1]] = m[2];
    }
    if (Object.keys(hinted).length > 0) {
      renamed++;
      next = await planNextMigration(history, desiredDump, { desiredLabel: `dump of 1..${k}`, renames: hinted });
    }
    if (next.empty) {
      empty++;
      continue;
    }
    if (next.up.unsupported.length > 0) unsupported++;
    if (!next.proven) {
      console.log(`${dir} ${migrations[k - 1].version}: not proven: ${next.failed ?? ""} ${JSON.stringify([...next.up.unsupported, ...next.upDiffers, ...next.downDiffers]).slice(0, 600)}`);
      continue;
    }
    proven++;
    // pg_dump after the up, and after the down, against the desired dump and the history's.
    // The written up may create extensions the history does not: the scratch loads those of 1..k.
    const extensions = await extensionsFor(desired);
    const replay = await replayMigrations(history, { createPGlite: () => scratchPGlite({ extensions }) });
    try {
      const historyDump = statements((await dumpDatabase(replay.pglite!, { withoutVersionTable: true })).sql);
      await replay.driver.transaction((tx) => tx.exec(statementsToSql(next.up.statements)));
      const afterUp = statements((await dumpDatabase(replay.pglite!, { withoutVersionTable: true })).sql);
      await replay.driver.transaction((tx) => tx.exec(statementsToSql(next.down.statements)));
      const afterDown = statements((await dumpDatabase(replay.pglite!, { withoutVersionTable: true })).sql);
      const want = statements(desiredDump);
      const upMissing = difference(want, afterUp), upExtra = difference(afterUp, want);
      const downMissing = difference(historyDump, afterDown), downExtra = difference(afterDown, historyDump);
      const sortedColumns = (list: string[]) => new Set(list.map((st) => st.split("\n").map((l) => l.replace(/,$/, "")).sort().join("\n")));
      const sameButOrder = (a: string[], b: string[]) => difference(sortedColumns(a), sortedColumns(b)).length === 0 && difference(sortedColumns(b), sortedColumns(a)).length === 0;
      if (upMissing.length + upExtra.length + downMissing.length + downExtra.length === 0) equal++;
      else if (sameButOrder(upMissing, upExtra) && sameButOrder(downMissing, downExtra)) {
        columnOrder++;
        console.log(`${dir} ${migrations[k - 1].version}: equal but for the order of columns in ${[...upMissing, ...downMissing].map((st) => /^CREATE TABLE (\S+)/.exec(st)?.[1]).join(", ")}`);
      } else {
        console.log(`${dir} ${migrations[k - 1].version}: pg_dump differs: ${JSON.stringify({ up: lines(upMissing, upExtra), down: lines(downMissing, downExtra) })}`);
      }
    } finally {
      await replay.close();
    }
  }
  console.log(`${dir}: ${tried} steps, ${empty} without a schema change, ${proven} proven (${renamed} with the renames the hints name), ${equal} equal by pg_dump both ways, ${columnOrder} equal but for the order of columns, ${unsupported} with unsupported objects`);
}
