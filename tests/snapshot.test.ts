/** snapshotSchema and diffSnapshots on PGlite and PostgreSQL: every kind of object, canonical and readable. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { describeChanges, diffSnapshots, snapshotSchema, snapshotToText } from "../src/schema/snapshot.ts";
import { verifyMigrations } from "../src/schema/verify-migrations.ts";
import { engines } from "./helpers/engines.ts";

const SCHEMA = `
CREATE SCHEMA app;
CREATE TYPE app.mood AS ENUM ('happy', 'sad');
CREATE DOMAIN app.email AS text NOT NULL CHECK (VALUE LIKE '%@%');
CREATE TYPE app.pair AS (a int, b text);
CREATE SEQUENCE app.invoice_numbers START 1000 INCREMENT 10;
CREATE TABLE app.users (
  id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  address app.email,
  mood app.mood DEFAULT 'happy',
  name text COLLATE "C" UNIQUE,
  shout text GENERATED ALWAYS AS (upper(name)) STORED
);
COMMENT ON TABLE app.users IS 'people';
CREATE INDEX users_lower_name ON app.users (lower(name)) WHERE name IS NOT NULL;
ALTER TABLE app.users ENABLE ROW LEVEL SECURITY;
CREATE POLICY own ON app.users FOR SELECT USING (name = current_user);
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER users_touch BEFORE UPDATE ON app.users FOR EACH ROW EXECUTE FUNCTION app.touch();
CREATE VIEW app.happy_users AS SELECT id, name FROM app.users WHERE mood = 'happy';
CREATE TABLE public.orchwf_migrations (version text PRIMARY KEY);
`;

for (const engine of engines) {
  describe(`schema snapshot on ${engine.name}`, () => {
    test("lists every kind of object, sorted, leaving out the version table", async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const d = await engine.open();
      try {
        const empty = await snapshotSchema(d.db, { excludeTables: ["public.orchwf_migrations"] });
        assert.deepEqual(empty.objects.map((o) => `${o.kind} ${o.name}`), ["extension plpgsql", "schema public"]);
        for (const statement of SCHEMA.split(/;\n/).filter((s) => s.trim())) await d.query(statement);
        const full = await snapshotSchema(d.db, { excludeTables: ["public.orchwf_migrations"] });
        const names = full.objects.map((o) => `${o.kind} ${o.name}`);
        assert.deepEqual(names, [...names].sort((a, b) => {
          const [x, y] = [full.objects[names.indexOf(a)], full.objects[names.indexOf(b)]];
          return x.kind < y.kind ? -1 : x.kind > y.kind ? 1 : x.name < y.name ? -1 : x.name > y.name ? 1 : 0;
        }));
        const lines = snapshotToText(full).split("\n");
        const expect = [
          "column app.users.address: app.email",
          "column app.users.id: integer NOT NULL GENERATED ALWAYS AS IDENTITY",
          "column app.users.mood: app.mood DEFAULT 'happy'::app.mood",
          "column app.users.name: text COLLATE \"C\"",
          "column app.users.shout: text GENERATED ALWAYS AS (upper(name)) STORED",
          "composite type app.pair: a integer, b text",
          "constraint app.users.users_name_key: UNIQUE (name)",
          "constraint app.users.users_pkey: PRIMARY KEY (id)",
          "enum app.mood: 'happy', 'sad'",
          "index app.users_lower_name: CREATE INDEX users_lower_name ON app.users USING btree (lower(name)) WHERE (name IS NOT NULL)",
          "schema app",
          "sequence app.invoice_numbers: AS bigint START 1000 INCREMENT 10 MINVALUE 1 MAXVALUE 9223372036854775807 CACHE 1",
          "table app.users: ROW LEVEL SECURITY COMMENT 'people'",
          "trigger app.users.users_touch: CREATE TRIGGER users_touch BEFORE UPDATE ON app.users FOR EACH ROW EXECUTE FUNCTION app.touch()",
        ];
        for (const line of expect) assert.ok(lines.includes(line), `missing: ${line}\nin:\n${lines.join("\n")}`);
        for (const prefix of ["domain app.email: text NOT NULL", "constraint app.email.", "function app.touch()", "view app.happy_users",
          "policy app.users.own: PERMISSIVE FOR SELECT TO public USING", "sequence app.users_id_seq: AS integer"]) {
          assert.ok(lines.some((l) => l.startsWith(prefix)), `missing: ${prefix}…\nin:\n${lines.join("\n")}`);
        }
        assert.ok(!lines.some((l) => l.includes("orchwf_migrations")), "the version table is left out");
        assert.deepEqual(diffSnapshots(full, await snapshotSchema(d.db, { excludeTables: ["public.orchwf_migrations"] })), []);
        const onlyPublic = await snapshotSchema(d.db, { schemas: ["public"] });
        assert.ok(onlyPublic.objects.every((o) => !o.name.startsWith("app.")));
        assert.ok(onlyPublic.objects.some((o) => o.name === "public.orchwf_migrations"));
      } finally {
        await d.close();
      }
    });

    test("diffs read as what was added, removed and changed", async (t) => {
      if (!(await engine.available())) return t.skip("no PostgreSQL server here");
      const d = await engine.open();
      try {
        await d.query("CREATE TABLE t (a int DEFAULT 1, b int)");
        const before = await snapshotSchema(d.db);
        await d.query("ALTER TABLE t ALTER COLUMN a SET DEFAULT 2");
        await d.query("ALTER TABLE t DROP COLUMN b");
        await d.query("CREATE INDEX t_a ON t (a)");
        const changes = diffSnapshots(before, await snapshotSchema(d.db));
        assert.deepEqual(describeChanges(changes), [
          "changed: column public.t.a\n      was: integer DEFAULT 1\n      now: integer DEFAULT 2",
          "removed: column public.t.b integer",
          "added: index t_a ON public.t USING btree (a)",
        ]);
        const withT = await snapshotSchema(d.db);
        await d.query("CREATE TABLE u (id int PRIMARY KEY, name text)");
        assert.deepEqual(describeChanges(diffSnapshots(withT, await snapshotSchema(d.db)), {
          added: "left behind by down",
          removed: "removed by down",
          changed: "changed by down",
        }), ["left behind by down: table public.u (with 2 columns, 1 constraint, 1 index)"]);
      } finally {
        await d.close();
      }
    });
  });
}

test("verify runs no-transaction migrations too", async () => {
  const report = await verifyMigrations([
    { version: "1", description: "t", up: "CREATE TABLE t (a int)", down: "DROP TABLE t" },
    {
      version: "2",
      description: "concurrent index",
      up: "CREATE INDEX CONCURRENTLY t_a ON t (a)",
      down: "DROP INDEX CONCURRENTLY t_a",
      transaction: false,
    },
  ]);
  assert.deepEqual(report.migrations.map((m) => m.status), ["verified", "verified"]);
  assert.deepEqual(report.migrations[1].changes.map((c) => `${c.change} ${c.kind} ${c.name}`), ["added index public.t_a"]);
});
