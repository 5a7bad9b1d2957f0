/**
 * The benchmark's workload: N small migrations (tables, indexes, data, a function, an ALTER), written once
 * per tool in that tool's own file format, plus the concatenation `psql -1 -f` runs as the physical limit.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** One migration of the workload. */
export interface BenchMigration {
  /** 1-based sequence number. */
  index: number;
  name: string;
  up: string;
  down: string;
}

/** Migration i (1-based) of the workload: a cycle of five kinds working on table bench_<group>. */
export function benchMigration(index: number): BenchMigration {
  const group = Math.floor((index - 1) / 5);
  const t = `bench_${group}`;
  switch ((index - 1) % 5) {
    case 0:
      return {
        index,
        name: `create_${t}`,
        up: `CREATE TABLE ${t} (\n  id bigserial PRIMARY KEY,\n  name text NOT NULL,\n  qty integer NOT NULL DEFAULT 0,\n  created_at timestamptz NOT NULL DEFAULT now()\n);\n`,
        down: `DROP TABLE ${t};\n`,
      };
    case 1:
      return { index, name: `index_${t}`, up: `CREATE INDEX ${t}_name_idx ON ${t} (name);\n`, down: `DROP INDEX ${t}_name_idx;\n` };
    case 2:
      return {
        index,
        name: `seed_${t}`,
        up: `INSERT INTO ${t} (name, qty)\nSELECT 'item ' || g, g FROM generate_series(1, 20) AS g;\n`,
        down: `DELETE FROM ${t};\n`,
      };
    case 3:
      return {
        index,
        name: `function_${t}_total`,
        up: `CREATE FUNCTION ${t}_total() RETURNS bigint\nLANGUAGE sql STABLE AS $$\n  SELECT coalesce(sum(qty), 0) FROM ${t}\n$$;\n`,
        down: `DROP FUNCTION ${t}_total();\n`,
      };
    default:
      return {
        index,
        name: `update_${t}`,
        up: `ALTER TABLE ${t} ADD COLUMN note text;\nUPDATE ${t} SET qty = qty + 1, note = 'even' WHERE id % 2 = 0;\n`,
        down: `ALTER TABLE ${t} DROP COLUMN note;\nUPDATE ${t} SET qty = qty - 1 WHERE id % 2 = 0;\n`,
      };
  }
}

/** The whole workload. */
export function benchMigrations(n: number): BenchMigration[] {
  return Array.from({ length: n }, (_, i) => benchMigration(i + 1));
}

/** Tables the workload creates: how a run is checked to have applied everything. */
export function expectedTables(n: number): number {
  return Math.ceil(n / 5);
}

/** Directories, one per format, under `root`. */
export interface WorkloadDirs {
  /** `NNNN_name.up.sql` / `.down.sql`: ours (golang-migrate convention). */
  ours: string;
  /** `NNNN_name.sql` with `-- migrate:up` / `-- migrate:down`. */
  dbmate: string;
  /** `NNNN_name.sql` with `-- Up Migration` / `-- Down Migration`. */
  nodePgMigrate: string;
  /** `NNNN.do.name.sql` / `NNNN.undo.name.sql`. */
  postgrator: string;
  /** Every up script concatenated, for `psql -1 -f`. */
  concatenated: string;
}

/** Writes the workload in every format under `root`. */
export function writeWorkload(root: string, n: number): WorkloadDirs {
  const dirs: WorkloadDirs = {
    ours: join(root, "ours"),
    dbmate: join(root, "dbmate"),
    nodePgMigrate: join(root, "node-pg-migrate"),
    postgrator: join(root, "postgrator"),
    concatenated: join(root, "all.sql"),
  };
  for (const dir of [dirs.ours, dirs.dbmate, dirs.nodePgMigrate, dirs.postgrator]) mkdirSync(dir, { recursive: true });
  const width = Math.max(4, String(n).length);
  const all: string[] = [];
  for (const m of benchMigrations(n)) {
    const v = String(m.index).padStart(width, "0");
    writeFileSync(join(dirs.ours, `${v}_${m.name}.up.sql`), m.up);
    writeFileSync(join(dirs.ours, `${v}_${m.name}.down.sql`), m.down);
    writeFileSync(join(dirs.dbmate, `${v}_${m.name}.sql`), `-- migrate:up\n${m.up}\n-- migrate:down\n${m.down}`);
    writeFileSync(join(dirs.nodePgMigrate, `${v}_${m.name}.sql`), `-- Up Migration\n${m.up}\n-- Down Migration\n${m.down}`);
    writeFileSync(join(dirs.postgrator, `${v}.do.${m.name}.sql`), m.up);
    writeFileSync(join(dirs.postgrator, `${v}.undo.${m.name}.sql`), m.down);
    all.push(m.up);
  }
  writeFileSync(dirs.concatenated, all.join("\n"));
  return dirs;
}
