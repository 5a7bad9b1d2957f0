/** src/builtin.ts must be exactly what scripts/embed-sql.ts makes of sql/. */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { test } from "node:test";
import { renderBuiltin } from "../scripts/embed-sql.ts";

test("src/builtin.ts is in sync with sql/ (run `npm run embed-sql` after editing sql/)", async () => {
  const onDisk = await readFile(new URL("../src/builtin.ts", import.meta.url), "utf8");
  assert.equal(onDisk, await renderBuiltin());
});

test("the first built-in migration is the Go package's 001", async () => {
  const { orchwfMigrations } = await import("../src/mod.ts");
  assert.equal(orchwfMigrations[0].version, "001");
  assert.equal(orchwfMigrations[0].description, "Create OrchWF tables");
  assert.equal(orchwfMigrations[0].source?.up, "sql/001_create_orchwf_tables.up.sql");
});
