/** The pure planner: states, pending order, rollback targets. No database. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { checksum, type Migration, MigrationError } from "../src/mod.ts";
import type { AppliedRow } from "../src/engine/history.ts";
import { pendingMigrations, resolveTarget, rollbackTargets, statusEntries } from "../src/core/plan.ts";

const m = (version: string, down = true): Migration => ({
  version,
  description: `m${version}`,
  up: `SELECT ${version}`,
  ...(down ? { down: `SELECT -${version}` } : {}),
});
const row = (version: string, sum: string | null = checksum(`SELECT ${Number(version)}`), dirty = false): AppliedRow => ({
  version,
  description: null,
  checksum: sum,
  appliedAt: new Date("2026-01-01T00:00:00Z"),
  executionMs: 5,
  dirty,
});

describe("status", () => {
  test("applied, pending, modified, missing and failed, in version order", () => {
    const list = [m("1"), m("2"), m("3"), m("5")];
    const rows = [row("1"), row("2", "bad"), row("4"), row("5", null, true)];
    assert.deepEqual(
      statusEntries(list, rows).map((e) => `${e.version}:${e.state}`),
      ["1:applied", "2:modified", "3:pending", "4:missing", "5:failed"],
    );
  });
  test("a row without checksum (written by the Go package) counts as applied", () => {
    assert.equal(statusEntries([m("1")], [row("1", null)])[0].state, "applied");
  });
  test("a row '1' matches the file version '001'", () => {
    const [e] = statusEntries([{ ...m("001"), up: "SELECT 1" }], [row("1")]);
    assert.equal(e.state, "applied");
  });
});

describe("pending", () => {
  test("lowest first, including a gap below the highest applied, and bounded by `to`", () => {
    const list = [m("1"), m("2"), m("3"), m("4")];
    assert.deepEqual(pendingMigrations(list, [row("1"), row("3")]).map((x) => x.version), ["2", "4"]);
    assert.deepEqual(pendingMigrations(list, [row("1")], "3").map((x) => x.version), ["2", "3"]);
  });
  test("an unknown `to` is an error", () => {
    assert.throws(() => resolveTarget([m("1")], "7"), (e: unknown) => (e as MigrationError).code === "UNKNOWN_VERSION");
    assert.equal(resolveTarget([m("001")], "1"), "001");
  });
});

describe("rollback targets", () => {
  const list = [m("1"), m("2"), m("3", false), m("4")];
  test("newest first: one by default, `steps`, or all above `to`", () => {
    const rows = [row("1"), row("2"), row("4")];
    assert.deepEqual(rollbackTargets(list, rows, {}).map((x) => x.version), ["4"]);
    assert.deepEqual(rollbackTargets(list, rows, { steps: 2 }).map((x) => x.version), ["4", "2"]);
    assert.deepEqual(rollbackTargets(list, rows, { to: "1" }).map((x) => x.version), ["4", "2"]);
    assert.deepEqual(rollbackTargets(list, rows, { to: "0" }).map((x) => x.version), ["4", "2", "1"]);
  });
  test("refuses up front when one of them has no down script", () => {
    const rows = [row("1"), row("2"), row("3"), row("4")];
    assert.throws(() => rollbackTargets(list, rows, { steps: 2 }), (e: unknown) => {
      assert.equal((e as MigrationError).code, "MISSING_DOWN");
      assert.match((e as Error).message, /migration 3 .*no down script/);
      return true;
    });
  });
  test("refuses a version recorded as applied that no migration has", () => {
    assert.throws(() => rollbackTargets(list, [row("1"), row("9")], {}), (e: unknown) => (e as MigrationError).code === "UNKNOWN_VERSION");
  });
});
