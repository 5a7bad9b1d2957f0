/**
 * The version table: create (or upgrade the Go package's), read, record, remove.
 * Compatible with `orchwf_migrations` as the Go `orchwf/migrate` created it; our extra columns are added in place.
 * @module
 */
import { createHash } from "node:crypto";
import type { Queryable } from "../drivers/driver.ts";
import type { Migration } from "../core/migration.ts";
import { checksum, REPEATABLE_PREFIX } from "../core/migration.ts";
import type { AppliedRow } from "../core/plan.ts";
import { checkVersionRows, inspectVersionTable } from "./history-shape.ts";
import { permissionDenied } from "../core/error-codes.ts";
import { qualifiedName, quoteIdent, quoteLiteral } from "../core/sql-text.ts";

export type { AppliedRow } from "../core/plan.ts";

/** Columns this tool adds to the Go package's table, with their definitions. */
const EXTRA_COLUMNS: Record<string, string> = {
  checksum: "TEXT",
  execution_ms: "INTEGER",
  dirty: "BOOLEAN NOT NULL DEFAULT false",
};

/**
 * applied_at is a timestamp without time zone (the Go package's column): we store the instant as its UTC wall time,
 * whatever the session's TimeZone (the column's CURRENT_TIMESTAMP default would store the session's local time).
 */
const APPLIED_NOW = "(now() AT TIME ZONE 'UTC')";

/** Whether a schema of exactly this name exists (read from the catalog: no statement that could raise a NOTICE). */
async function schemaExists(q: Queryable, schema: string): Promise<boolean> {
  const rows = await q.query<{ found: boolean }>("SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS found", [schema]);
  return rows[0]?.found === true;
}

/**
 * A version's hash on the server: PostgreSQL's own 64-bit text hash (11+), five times cheaper than an MD5 per row
 * on a long history. The client never computes it: the server reports the digest, and the next step's expected
 * digest is that number plus the hash of the one version applied since, evaluated by the server.
 */
function versionHashSql(version: string): string {
  return `hashtextextended(${version}, 0)`;
}

/**
 * The versions a run believes the table holds, with an order-independent digest (the sum of each version's hash,
 * as a SQL expression) that the server can compare without sending the versions back.
 *
 * @example
 * ```ts
 * const known = VersionSet.of(["001", "002"], "1234567").with("003");
 * known.size; // 3
 * ```
 */
export class VersionSet {
  private constructor(readonly versions: readonly string[], private readonly digestSql: string) {}

  /** The set of `versions` (as the table spells them) whose digest the server reported (decimal text). */
  static of(versions: readonly string[], digest: string): VersionSet {
    return new VersionSet([...versions], decimal(digest));
  }

  /** This set plus `version`. O(1) in the size of the set apart from the copy-free append. */
  with(version: string): VersionSet {
    const versions = this.versions as string[];
    versions.push(version); // the old set is not used again by the run that owns it
    return new VersionSet(versions, this.digestWith(version));
  }

  /** The digest of this set plus `version`, as a SQL expression (the set itself is left as it is). */
  digestWith(version: string): string {
    return `${this.digestSql} + ${versionHashSql(quoteLiteral(version))}`;
  }

  /** The same versions with the digest the server just reported for them (keeps the expression one term long). */
  reported(digest: string): VersionSet {
    return new VersionSet(this.versions, decimal(digest));
  }

  get size(): number {
    return this.versions.length;
  }

  /** The digest as a SQL expression. */
  get digest(): string {
    return this.digestSql;
  }
}

/** A digest the server reported, checked to be a number before it becomes SQL text. */
function decimal(digest: string): string {
  if (!/^-?\d+$/.test(digest)) throw new Error(`unexpected version digest from the server: ${JSON.stringify(digest)}`);
  return `(${digest})::numeric`;
}

/**
 * The version table of one (schema, table) pair.
 *
 * @example
 * ```ts
 * const history = new History(undefined, "orchwf_migrations");
 * const rows = await history.read(driver);
 * ```
 */
export class History {
  /** Quoted, possibly schema-qualified table name. */
  readonly qualified: string;
  /** The schema the user named (undefined: the search_path decides); the lock key depends on it alone. */
  readonly lockSchema: string | undefined;
  /** Advisory lock key (a bigint as decimal text) shared by every runner of this table. */
  readonly lockKey: string;

  /**
   * `named.lockSchema` is the schema as the user named it (none: the search_path decides; default `schema`); the
   * lock key depends on it alone, so runs that resolved the schema and runs that did not still exclude each other.
   */
  constructor(readonly schema: string | undefined, readonly table: string, named?: { lockSchema: string | undefined }) {
    this.qualified = qualifiedName(schema, table);
    const lockSchema = named ? named.lockSchema : schema;
    this.lockSchema = lockSchema;
    const digest = createHash("sha256").update(`orchwf-migrate\0${lockSchema ?? ""}\0${table}`).digest();
    this.lockKey = new DataView(digest.buffer, digest.byteOffset, 8).getBigInt64(0).toString();
  }

  /**
   * Where this table is, resolved once per run so that no statement of ours follows a search_path a migration
   * changed: its own schema when it exists, else the schema it would be created in (`current_schema()`).
   * Also says whether it has every column we need. One query.
   */
  async locate(q: Queryable): Promise<{ located: History; ready: boolean }> {
    if (this.schema !== undefined) return { located: this, ready: await this.isReady(q) };
    const [row] = await q.query<{ found: string | null; current: string | null; columns: string }>(
      `SELECT (SELECT n.nspname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)) AS found,
         current_schema()::text AS current,
         (SELECT coalesce(json_agg(attname::text), '[]')::text FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped) AS columns`,
      [this.qualified],
    );
    const have = new Set(JSON.parse(row.columns) as string[]);
    const ready = have.has("version") && Object.keys(EXTRA_COLUMNS).every((c) => have.has(c));
    const schema = row.found ?? row.current ?? undefined; // no schema at all: left to the server's error
    return { located: schema === undefined ? this : new History(schema, this.table, { lockSchema: this.schema }), ready };
  }

  /** True when the table exists and has every column we need (the common, fast path); refuses a table not ours. */
  async isReady(q: Queryable): Promise<boolean> {
    return (await this.guard("read", () => inspectVersionTable(q, this.qualified))).kind === "ready";
  }

  /** A missing privilege on the version table is PERMISSION_DENIED, with the GRANT that fixes it. */
  private async guard<T>(doing: "create" | "read", step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (err) {
      throw permissionDenied(err, this.qualified, doing) ?? err;
    }
  }

  /** Creates the table, or adds our columns to the Go package's. Run under the migration lock. */
  ensure(q: Queryable): Promise<void> {
    return this.guard("create", () => this.create(q));
  }

  /**
   * Creates what is missing, and only that, as the catalog shows it: a statement that would skip an existing object
   * (`IF NOT EXISTS`) sends a NOTICE to the user's client, which prints it (postgres.js without `onnotice`).
   */
  private async create(q: Queryable): Promise<void> {
    const shape = await inspectVersionTable(q, this.qualified);
    if (shape.kind === "ready") return; // never ALTER a table that is not ours
    const statements: string[] = [];
    // Only a schema the user named is created (CREATE SCHEMA needs a right on the database, even IF NOT EXISTS).
    if (this.lockSchema !== undefined && !(await schemaExists(q, this.lockSchema))) {
      statements.push(`CREATE SCHEMA ${quoteIdent(this.lockSchema)}`);
    }
    if (shape.kind === "absent") {
      const extra = Object.entries(EXTRA_COLUMNS);
      statements.push(`CREATE TABLE ${this.qualified} (
  version VARCHAR(255) PRIMARY KEY,
  description TEXT,
  applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
${extra.map(([name, type]) => `  ${name} ${type}`).join(",\n")}
)`);
    } else {
      statements.push(`ALTER TABLE ${this.qualified} ${shape.missing.map((name) => `ADD COLUMN ${name} ${EXTRA_COLUMNS[name]}`).join(", ")}`);
    }
    await q.exec(statements.join(";\n"));
  }

  /**
   * Every recorded version. Never writes: no rows when the table does not exist yet, and a Go-era table
   * without our columns reads as rows without checksum.
   */
  read(q: Queryable): Promise<AppliedRow[]> {
    return this.guard("read", () => this.readAny(q));
  }

  private async readAny(q: Queryable): Promise<AppliedRow[]> {
    const shape = await inspectVersionTable(q, this.qualified);
    if (shape.kind === "absent") return [];
    return this.select(q, (column) => shape.columns.has(column));
  }

  /** Like `read`, for when the table is known to be ready (inside the locked transaction). */
  readExisting(q: Queryable): Promise<AppliedRow[]> {
    return this.guard("read", () => this.select(q, () => true));
  }

  private async select(q: Queryable, has: (column: string) => boolean): Promise<AppliedRow[]> {
    const column = (name: string) => (has(name) ? name : "NULL");
    // Aliases of one lower-case word survive a client's column-name transform (postgres.js `transform: postgres.camel`
    // turns applied_at into appliedAt). applied_at (timestamp without time zone, a UTC wall time) is read as ISO text,
    // so neither the session's TimeZone and DateStyle nor the client's date parsing can shift it.
    const rows = await q.query<{
      version: string;
      description: string | null;
      checksum: string | null;
      appliedat: string | null;
      executionms: number | string | null;
      dirty: boolean | null;
    }>(
      `SELECT version, description, ${column("checksum")} AS checksum,
              to_char(applied_at, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS appliedat,
              ${column("execution_ms")} AS executionms, ${column("dirty")} AS dirty
       FROM ${this.qualified}`,
    );
    checkVersionRows(this.qualified, rows);
    return rows.map((r) => ({
      version: r.version,
      description: r.description,
      checksum: r.checksum,
      appliedAt: r.appliedat === null ? null : new Date(r.appliedat),
      executionMs: r.executionms === null ? null : Number(r.executionms),
      dirty: r.dirty === true,
    }));
  }

  /**
   * One SELECT returning one row: `versions`, the table's (version, dirty, repeatable's checksum) triples as JSON
   * text, or NULL when the table holds exactly `known` and nothing is dirty (checked on the server by count and
   * digest, so a step of a long run moves a few bytes, not the whole history); and `digest`, the table's digest.
   */
  versionReadSql(known?: VersionSet): string {
    const all = `(SELECT coalesce(json_agg(json_build_array(version, coalesce(dirty, false), ` +
      `CASE WHEN starts_with(version, '${REPEATABLE_PREFIX}') THEN checksum END)), '[]')::text FROM ${this.qualified})`;
    const same = known === undefined ? "false" : `s.n = ${known.size} AND s.d = ${known.digest} AND NOT s.dirty`;
    return `SELECT CASE WHEN ${same} THEN NULL ELSE ${all} END AS versions, s.d::text AS digest
FROM (SELECT count(*) AS n, coalesce(sum(${versionHashSql("version")}), 0) AS d, coalesce(bool_or(dirty), false) AS dirty FROM ${this.qualified}) s`;
  }

  /**
   * A boolean SQL expression: the table holds exactly `known`, none dirty (the check of `versionReadSql`, without
   * the read). The one-message step (folded-step.ts) guards its migration with it.
   */
  unchangedSql(known: VersionSet): string {
    return `(SELECT count(*) = ${known.size} AND coalesce(sum(${versionHashSql("version")}), 0) = ${known.digest} AND NOT coalesce(bool_or(dirty), false) FROM ${this.qualified})`;
  }

  /**
   * Just versions, failure marks and (for repeatables, re-applied when it changes) checksums: all the locked step
   * before each migration needs, and far cheaper to fetch.
   */
  async readVersions(q: Queryable): Promise<{ version: string; dirty: boolean; checksum: string | null }[]> {
    const rows = await this.guard("read", () =>
      q.query<{ version: string; dirty: boolean | null; checksum: string | null }>(
        `SELECT version, dirty, CASE WHEN starts_with(version, '${REPEATABLE_PREFIX}') THEN checksum END AS checksum FROM ${this.qualified}`,
      )
    );
    checkVersionRows(this.qualified, rows);
    return rows.map((r) => ({ version: r.version, dirty: r.dirty === true, checksum: r.checksum }));
  }

  /** A repeatable migration's earlier row is replaced when it runs again. */
  private replacing(migration: Migration): string {
    return migration.repeatable ? `DELETE FROM ${this.qualified} WHERE version = ${quoteLiteral(migration.version)};\n` : "";
  }

  /**
   * `record` as SQL text, appended to the migration's own script so both go in one round trip. The execution
   * time is measured by the server: from the script's arrival (statement_timestamp()) to this statement.
   */
  recordStatement(migration: Migration): string {
    const values = [migration.version, migration.description, checksum(migration.up)].map(quoteLiteral).join(", ");
    return `${this.replacing(migration)}INSERT INTO ${this.qualified} (version, description, checksum, execution_ms, dirty, applied_at) VALUES (${values}, ` +
      `round(extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000), false, ${APPLIED_NOW})`;
  }

  /**
   * Claims a no-transaction migration before its first statement runs: a dirty row without an execution time
   * ("running"). Committed at once, so other runners (on any connection, also behind PgBouncer) wait for it,
   * and a runner that dies part way leaves the row dirty for a person to resolve.
   */
  async claim(q: Queryable, migration: Migration): Promise<void> {
    if (migration.repeatable) await q.exec(this.replacing(migration));
    await q.query(
      `INSERT INTO ${this.qualified} (version, description, checksum, execution_ms, dirty, applied_at) VALUES ($1, $2, $3, NULL, true, ${APPLIED_NOW})`,
      [migration.version, migration.description, checksum(migration.up)],
    );
  }

  /** `claim` as SQL text, for the message that commits it. */
  claimStatement(migration: Migration): string {
    const values = [migration.version, migration.description, checksum(migration.up)].map(quoteLiteral).join(", ");
    return `${this.replacing(migration)}INSERT INTO ${this.qualified} (version, description, checksum, execution_ms, dirty, applied_at) VALUES (${values}, NULL, true, ${APPLIED_NOW})`;
  }

  /** `remove` as SQL text, for the message that commits it. */
  removeStatement(version: string): string {
    return `DELETE FROM ${this.qualified} WHERE version = ${quoteLiteral(version)}`;
  }

  /** Marks a recorded version as being rolled back outside a transaction (dirty, "running"). */
  async claimForRollback(q: Queryable, version: string): Promise<void> {
    await q.query(`UPDATE ${this.qualified} SET dirty = true, execution_ms = NULL WHERE version = $1`, [version]);
  }

  /** Marks a claimed version as cleanly applied (or, with `dirty`, failed part way) after `executionMs`. */
  async settle(q: Queryable, version: string, executionMs: number, dirty = false): Promise<void> {
    await q.query(`UPDATE ${this.qualified} SET dirty = $2, execution_ms = $3 WHERE version = $1`, [
      version,
      dirty,
      Math.round(executionMs),
    ]);
  }

  /** A person says a failed version is complete: clean row, checksum of the current SQL when known. */
  async resolveApplied(q: Queryable, version: string, migration?: Migration): Promise<void> {
    await q.query(
      `UPDATE ${this.qualified} SET dirty = false, execution_ms = coalesce(execution_ms, 0),
         checksum = coalesce($2, checksum) WHERE version = $1`,
      [version, migration ? checksum(migration.up) : null],
    );
  }

  /** Forgets `version` (after its down ran). */
  async remove(q: Queryable, version: string): Promise<void> {
    await q.query(`DELETE FROM ${this.qualified} WHERE version = $1`, [version]);
  }

  /** Records `migration` as applied without having run it (`baseline`): no execution time, like a Go-era row. */
  async recordBaseline(q: Queryable, migration: Migration): Promise<void> {
    if (migration.repeatable) await q.exec(this.replacing(migration));
    await q.query(
      `INSERT INTO ${this.qualified} (version, description, checksum, execution_ms, dirty, applied_at) VALUES ($1, $2, $3, NULL, false, ${APPLIED_NOW})`,
      [migration.version, migration.description, checksum(migration.up)],
    );
  }
}
