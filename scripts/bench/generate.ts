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

/**
 * Migration i (1-based) of the realistic history: modules of ten migrations, each module a customer table and an
 * order table with a foreign key, seed data, an updated_at trigger, a view, an enum added then backfilled, an
 * enum value added, constraints and partial indexes, and a column change with a backfill.
 */
export function realisticMigration(index: number): BenchMigration {
  const k = Math.floor((index - 1) / 10);
  const [c, o, st] = [`app_customer_${k}`, `app_order_${k}`, `app_status_${k}`];
  const m = (name: string, up: string, down: string): BenchMigration => ({ index, name: `${name}_${k}`, up, down });
  switch ((index - 1) % 10) {
    case 0:
      return m(
        "create_customers",
        `CREATE TABLE ${c} (
  id bigserial PRIMARY KEY,
  email text NOT NULL UNIQUE,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE ${c} IS 'customers of module ${k}';
`,
        `DROP TABLE ${c};
`,
      );
    case 1:
      return m(
        "create_orders",
        `CREATE TABLE ${o} (
  id bigserial PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES ${c} (id) ON DELETE CASCADE,
  total numeric(12, 2) NOT NULL DEFAULT 0,
  placed_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ${o}_customer_idx ON ${o} (customer_id);
CREATE INDEX ${o}_placed_idx ON ${o} (placed_at DESC);
`,
        `DROP TABLE ${o};
`,
      );
    case 2:
      return m(
        "seed",
        `INSERT INTO ${c} (email, name)
SELECT 'c' || g || '@example.test', 'Customer ' || g FROM generate_series(1, 200) AS g;
INSERT INTO ${o} (customer_id, total)
SELECT 1 + (g % 200), (g % 97) * 1.5 FROM generate_series(1, 1000) AS g;
`,
        `DELETE FROM ${o};
DELETE FROM ${c};
`,
      );
    case 3:
      return m(
        "updated_at_triggers",
        `CREATE FUNCTION ${c}_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END
$$;
CREATE TRIGGER ${c}_touch BEFORE UPDATE ON ${c} FOR EACH ROW EXECUTE FUNCTION ${c}_touch();
CREATE TRIGGER ${o}_touch BEFORE UPDATE ON ${o} FOR EACH ROW EXECUTE FUNCTION ${c}_touch();
`,
        `DROP TRIGGER ${o}_touch ON ${o};
DROP TRIGGER ${c}_touch ON ${c};
DROP FUNCTION ${c}_touch();
`,
      );
    case 4:
      return m(
        "totals_view",
        `CREATE VIEW ${c}_totals AS
SELECT c.id, c.email, count(o.id) AS orders, coalesce(sum(o.total), 0) AS spent
FROM ${c} c LEFT JOIN ${o} o ON o.customer_id = c.id
GROUP BY c.id, c.email;
`,
        `DROP VIEW ${c}_totals;
`,
      );
    case 5:
      return m(
        "order_status_enum",
        `CREATE TYPE ${st} AS ENUM ('new', 'paid', 'shipped');
ALTER TABLE ${o} ADD COLUMN status ${st} NOT NULL DEFAULT 'new';
`,
        `ALTER TABLE ${o} DROP COLUMN status;
DROP TYPE ${st};
`,
      );
    case 6:
      return m(
        "backfill_status",
        `UPDATE ${o} SET status = CASE id % 3 WHEN 0 THEN 'paid' WHEN 1 THEN 'shipped' ELSE 'new' END::${st};
CREATE INDEX ${o}_status_idx ON ${o} (status);
`,
        `DROP INDEX ${o}_status_idx;
UPDATE ${o} SET status = 'new';
`,
      );
    case 7:
      return m("enum_add_refunded", `ALTER TYPE ${st} ADD VALUE 'refunded';
`, `-- an enum value cannot be dropped
SELECT 1;
`);
    case 8:
      return m(
        "constraints",
        `ALTER TABLE ${o} ADD CONSTRAINT ${o}_total_nonnegative CHECK (total >= 0);
CREATE INDEX ${o}_paid_idx ON ${o} (placed_at) WHERE status = 'paid';
`,
        `DROP INDEX ${o}_paid_idx;
ALTER TABLE ${o} DROP CONSTRAINT ${o}_total_nonnegative;
`,
      );
    default:
      return m(
        "split_name",
        `ALTER TABLE ${c} ADD COLUMN first_name text, ADD COLUMN last_name text;
UPDATE ${c} SET first_name = split_part(name, ' ', 1), last_name = split_part(name, ' ', 2);
CREATE OR REPLACE VIEW ${c}_totals AS
SELECT c.id, c.email, count(o.id) AS orders, coalesce(sum(o.total), 0) AS spent, c.last_name
FROM ${c} c LEFT JOIN ${o} o ON o.customer_id = c.id
GROUP BY c.id, c.email, c.last_name;
`,
        `DROP VIEW ${c}_totals;
ALTER TABLE ${c} DROP COLUMN first_name, DROP COLUMN last_name;
`,
      );
  }
}

/** One workload: its migrations and how a run is checked to have applied them all. */
export interface Workload {
  migrations: BenchMigration[];
  /** A query returning one row `{ n }`, and the n it must return. */
  check: { sql: string; expected: number };
}

/** N generated small migrations. */
export function smallWorkload(n: number): Workload {
  return {
    migrations: benchMigrations(n),
    check: { sql: "SELECT count(*)::int AS n FROM pg_class WHERE relkind = 'r' AND relname ~ '^bench_[0-9]+$'", expected: expectedTables(n) },
  };
}

/** N migrations of the realistic history (300 by default). */
export function realisticWorkload(n: number): Workload {
  const migrations = Array.from({ length: n }, (_, i) => realisticMigration(i + 1));
  const tables = new Set(migrations.flatMap((m) => m.name.startsWith("create_") ? [m.name] : [])).size;
  return { migrations, check: { sql: "SELECT count(*)::int AS n FROM pg_class WHERE relkind = 'r' AND relname ~ '^app_(customer|order)_[0-9]+$'", expected: tables } };
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
export function writeWorkload(root: string, migrations: BenchMigration[]): WorkloadDirs {
  const dirs: WorkloadDirs = {
    ours: join(root, "ours"),
    dbmate: join(root, "dbmate"),
    nodePgMigrate: join(root, "node-pg-migrate"),
    postgrator: join(root, "postgrator"),
    concatenated: join(root, "all.sql"),
  };
  for (const dir of [dirs.ours, dirs.dbmate, dirs.nodePgMigrate, dirs.postgrator]) mkdirSync(dir, { recursive: true });
  const width = Math.max(4, String(migrations.length).length);
  const all: string[] = [];
  for (const m of migrations) {
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
