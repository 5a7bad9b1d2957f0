/**
 * CI reports: `lint` and `validate --format sarif|junit|github`, `verify --format junit`, run for real (the CLI on
 * Bun in a subprocess). SARIF is checked against what the SARIF 2.1.0 schema requires of the objects we write
 * (required properties, types, enums, no properties the schema does not define), JUnit with a strict XML parser
 * and the JUnit structure CI systems read; locations are compared with the `--json` output of the same run.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { bunRunner, runWith } from "./helpers/cli.ts";
import { parseXml, type XmlElement } from "./helpers/xml.ts";
import { renderGithub } from "../src/cli/reports/github.ts";
import { renderCheckJunit } from "../src/cli/reports/junit.ts";
import { renderSarif } from "../src/cli/reports/sarif.ts";

const LONG = { timeout: 120_000 };
const cli = (args: string[]) => runWith(bunRunner, args);
const base = mkdtempSync(join(tmpdir(), "orchwf-reports-"));
after(() => rmSync(base, { recursive: true, force: true }));

/** A directory whose name needs escaping in XML, URIs and workflow commands. */
function dirWith(files: Record<string, string>): string {
  const dir = join(mkdtempSync(join(base, "r&d, <x> ")), "migrations");
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const LINTED = {
  "001_t.up.sql": "CREATE TABLE t (id int);\n",
  "001_t.down.sql": "DROP TABLE t;\n",
  "002_bad.up.sql": "-- a comment\nALTER TABLE t ADD COLUMN x int;\n  CREATE INDEX i ON t (id);\n",
  "002_bad.down.sql": "DROP INDEX i;\nALTER TABLE t DROP COLUMN x;\n",
  "003_meta.up.sql": "SELECT 1;\n\\i other.sql\n",
};

/** Keys the SARIF 2.1.0 schema defines on each object we write (its objects forbid any other property). */
const ALLOWED: Record<string, string[]> = {
  log: ["$schema", "version", "runs", "inlineExternalProperties", "properties"],
  run: ["tool", "automationDetails", "originalUriBaseIds", "results", "invocations", "artifacts", "properties"],
  driver: ["name", "version", "semanticVersion", "informationUri", "rules", "fullName", "properties"],
  rule: ["id", "name", "shortDescription", "fullDescription", "help", "helpUri", "defaultConfiguration", "properties"],
  result: ["ruleId", "ruleIndex", "level", "message", "locations", "properties", "kind"],
  physicalLocation: ["artifactLocation", "region"],
  artifactLocation: ["uri", "uriBaseId", "index"],
  region: ["startLine", "startColumn", "endLine", "endColumn"],
};

function onlyKeys(value: Record<string, unknown>, kind: string): void {
  for (const key of Object.keys(value)) assert.ok(ALLOWED[kind].includes(key), `SARIF ${kind} has a property the schema does not define: ${key}`);
}

/** Checks a SARIF 2.1.0 log's required structure; returns its results as "ruleId file line:column level". */
function checkSarif(text: string): string[] {
  const log = JSON.parse(text);
  onlyKeys(log, "log");
  assert.equal(log.version, "2.1.0");
  assert.equal(typeof log.$schema, "string");
  assert.ok(Array.isArray(log.runs) && log.runs.length === 1);
  const run = log.runs[0];
  onlyKeys(run, "run");
  const driver = run.tool.driver;
  onlyKeys(driver, "driver");
  assert.equal(driver.name, "orchwf-migrate");
  assert.ok(Array.isArray(driver.rules) && driver.rules.length > 0);
  const ids = new Set<string>();
  for (const rule of driver.rules) {
    onlyKeys(rule, "rule");
    assert.equal(typeof rule.id, "string");
    assert.ok(!ids.has(rule.id), `rule ${rule.id} listed twice`);
    ids.add(rule.id);
    assert.ok(typeof rule.shortDescription?.text === "string" && rule.shortDescription.text.length > 0, `rule ${rule.id} has no description`);
  }
  assert.ok(Array.isArray(run.results));
  return run.results.map((r: Record<string, any>) => {
    onlyKeys(r, "result");
    assert.ok(ids.has(r.ruleId), `result names an unlisted rule ${r.ruleId}`);
    assert.equal(driver.rules[r.ruleIndex].id, r.ruleId, "ruleIndex points at the rule");
    assert.ok(["none", "note", "warning", "error"].includes(r.level));
    assert.ok(typeof r.message.text === "string" && r.message.text.length > 0);
    assert.equal(r.locations.length, 1);
    const { physicalLocation: p } = r.locations[0];
    onlyKeys(p, "physicalLocation");
    onlyKeys(p.artifactLocation, "artifactLocation");
    onlyKeys(p.region, "region");
    const uri: string = p.artifactLocation.uri;
    assert.ok(!/[\s\\<>"]/.test(uri), `not a URI: ${uri}`);
    const file = decodeURIComponent(new URL(uri, "file:///").pathname);
    assert.ok(Number.isInteger(p.region.startLine) && p.region.startLine >= 1);
    assert.ok(Number.isInteger(p.region.startColumn) && p.region.startColumn >= 1);
    return `${r.ruleId} ${file} ${p.region.startLine}:${p.region.startColumn} ${r.level}`;
  });
}

/** Checks JUnit XML's structure (counts agree with the cases); returns its suites. */
function checkJunit(text: string): XmlElement[] {
  const root = parseXml(text);
  assert.equal(root.name, "testsuites");
  let tests = 0;
  let failures = 0;
  for (const suite of root.children) {
    assert.equal(suite.name, "testsuite");
    assert.ok(suite.attributes.name);
    const cases = suite.children;
    for (const c of cases) {
      assert.equal(c.name, "testcase");
      assert.ok(c.attributes.name && c.attributes.classname);
      for (const child of c.children) assert.ok(["failure", "skipped", "system-out"].includes(child.name), child.name);
      assert.ok(c.children.filter((x) => x.name === "failure").length <= 1);
    }
    const failed = cases.filter((c) => c.children.some((x) => x.name === "failure")).length;
    assert.equal(Number(suite.attributes.tests), cases.length);
    assert.equal(Number(suite.attributes.failures), failed);
    assert.equal(Number(suite.attributes.skipped), cases.filter((c) => c.children.some((x) => x.name === "skipped")).length);
    tests += cases.length;
    failures += failed;
  }
  assert.equal(Number(root.attributes.tests), tests);
  assert.equal(Number(root.attributes.failures), failures);
  return root.children;
}

describe("lint and validate reports", () => {
  test("lint --format sarif: every finding of --json, at its file, line and column, with its rule described", LONG, async () => {
    const dir = dirWith(LINTED);
    const json = await cli(["lint", "--dir", dir, "--json"]);
    const findings = JSON.parse(json.stdout).findings as { rule: string; file: string; line: number; column: number; severity: string }[];
    assert.equal(findings.length, 3, json.stdout);
    const sarif = await cli(["lint", "--dir", dir, "--format", "sarif"]);
    assert.equal(sarif.code, 1, sarif.stderr);
    assert.deepEqual(checkSarif(sarif.stdout), findings.map((f) => `${f.rule} ${f.file} ${f.line}:${f.column} ${f.severity}`));
    assert.ok(findings.some((f) => f.rule === "index-not-concurrent" && f.line === 3 && f.column === 3), "the indented statement's column");
    assert.ok(findings.some((f) => f.rule === "psql-meta-command" && f.line === 2));
  });

  test("validate --format sarif and --format junit: the problems, and one passing case per clean file", LONG, async () => {
    const dir = dirWith(LINTED);
    const sarif = await cli(["validate", "--dir", dir, "--format", "sarif"]);
    assert.equal(sarif.code, 1, sarif.stderr);
    assert.deepEqual(checkSarif(sarif.stdout), [`psql-meta-command ${join(dir, "003_meta.up.sql")} 2:1 error`]);
    const junit = await cli(["validate", "--dir", dir, "--format", "junit"]);
    assert.equal(junit.code, 1);
    const suites = checkJunit(junit.stdout);
    assert.deepEqual(suites.map((s) => s.attributes.name), ["001_t.up.sql", "001_t.down.sql", "002_bad.up.sql", "002_bad.down.sql", "003_meta.up.sql"].map((f) => join(dir, f)));
    const failure = suites[4].children[0].children[0];
    assert.equal(failure.name, "failure");
    assert.equal(failure.attributes.type, "psql-meta-command");
    assert.ok(failure.text.includes(`${join(dir, "003_meta.up.sql")}:2:1`), failure.text);
  });

  test("lint --format junit: errors fail, notes pass with their message; lint --format github: one annotation each", LONG, async () => {
    const dir = dirWith(LINTED);
    const junit = await cli(["lint", "--dir", dir, "--format", "junit"]);
    assert.equal(junit.code, 1);
    const bad = checkJunit(junit.stdout).find((s) => s.attributes.name.endsWith("002_bad.up.sql"))!;
    const byRule = new Map(bad.children.map((c) => [c.attributes.name.split(" ")[0], c]));
    assert.equal(byRule.get("index-not-concurrent")?.children[0].name, "failure");
    assert.equal(byRule.get("require-lock-timeout")?.children[0].name, "system-out");

    const github = await cli(["lint", "--dir", dir, "--format", "github"]);
    assert.equal(github.code, 1);
    const lines = github.stdout.trim().split("\n");
    const annotations = lines.filter((l) => l.startsWith("::"));
    const file = join(dir, "002_bad.up.sql").replace(/%/g, "%25").replace(/:/g, "%3A").replace(/,/g, "%2C");
    assert.ok(annotations.some((a) => a.startsWith(`::error file=${file},line=3,col=3,title=lint%3A index-not-concurrent::`)), annotations.join("\n"));
    assert.equal(annotations.length, 3);
    for (const a of annotations) assert.match(a, /^::(error|warning|notice) file=[^,:]+,line=\d+,col=\d+,title=[^,:]+::[^\n]+$/);
    assert.match(lines[lines.length - 1], /^lint: 2 errors, 0 warnings, 1 note in 3 files$/);
  });

  test("a clean directory: SARIF with no results, JUnit all passing, exit 0", LONG, async () => {
    const dir = dirWith({ "001_t.up.sql": "CREATE TABLE t (id int);\n" });
    const sarif = await cli(["lint", "--dir", dir, "--format", "sarif"]);
    assert.equal(sarif.code, 0, sarif.stderr);
    assert.deepEqual(checkSarif(sarif.stdout), []);
    const junit = await cli(["validate", "--dir", dir, "--format", "junit"]);
    assert.equal(junit.code, 0);
    assert.equal(checkJunit(junit.stdout)[0].children.length, 1);
  });

  test("--format names the directory's format and the report's: both at once; misuse is a usage error", LONG, async () => {
    const dir = dirWith({ "20240101000000_t.sql": "-- migrate:up\nCREATE TABLE t (id int);\n-- migrate:down\nDROP TABLE t;\n" });
    const both = await cli(["lint", "--dir", dir, "--format", "dbmate", "--format", "sarif"]);
    assert.equal(both.code, 0, both.stderr);
    assert.deepEqual(checkSarif(both.stdout), []);
    for (const [args, words] of [
      [["lint", "--dir", dir, "--format", "sarif", "--json"], "--json"],
      [["verify", "--dir", dir, "--format", "sarif"], "verify writes no sarif report"],
      [["status", "--db", "pglite:memory", "--dir", dir, "--format", "junit"], "status writes no report"],
    ] as const) {
      const run = await cli([...args]);
      assert.equal(run.code, 2, `${args.join(" ")}: ${run.stdout}${run.stderr}`);
      assert.ok(run.stderr.includes(words), run.stderr);
    }
  });
});

describe("verify --format junit", () => {
  test("one case per migration: a down that does not reverse its up fails, naming what it left behind", LONG, async () => {
    const dir = dirWith({
      "001_t.up.sql": "CREATE TABLE t (id int);\n",
      "001_t.down.sql": "DROP TABLE t;\n",
      "002_i.up.sql": "CREATE INDEX i ON t (id);\n",
      "002_i.down.sql": "SELECT 1;\n",
    });
    const run = await cli(["verify", "--dir", dir, "--format", "junit"]);
    assert.equal(run.code, 1, run.stderr);
    const [suite] = checkJunit(run.stdout);
    assert.deepEqual(suite.children.map((c) => [c.attributes.name, c.children.map((x) => x.name).join()]), [["001 t", ""], ["002 i", "failure"]]);
    assert.ok(suite.children[1].children[0].text.includes("left behind by down: index"), suite.children[1].children[0].text);
    assert.ok(suite.children[1].attributes.classname.endsWith("002_i.up.sql"));
  });
});

describe("renderers", () => {
  const report = {
    command: "lint",
    rules: [{ id: "r", summary: "a rule" }],
    files: ["a b/c#1.sql"],
    results: [{ rule: "r", level: "warning" as const, file: "a b/c#1.sql", version: "1", line: 2, column: 5, message: "50% <done>, \"really\"\nnext\u0001" }],
  };

  test("SARIF: a relative file is a percent-encoded URI under %SRCROOT%", () => {
    assert.deepEqual(checkSarif(renderSarif(report)), ["r /a b/c#1.sql 2:5 warning"]);
    const location = JSON.parse(renderSarif(report)).runs[0].results[0].locations[0].physicalLocation.artifactLocation;
    assert.deepEqual(location, { uri: "a%20b/c%231.sql", uriBaseId: "%SRCROOT%" });
  });

  test("JUnit: names and messages with markup and control characters still parse", () => {
    const [suite] = checkJunit(renderCheckJunit(report));
    assert.equal(suite.children[0].children[0].text, "a b/c#1.sql:2:5: warning r: 50% <done>, \"really\"\nnext\ufffd");
  });

  test("GitHub: %, newlines and the property separators are encoded", () => {
    const [line] = renderGithub(report).split("\n");
    assert.equal(line, "::warning file=a b/c#1.sql,line=2,col=5,title=lint%3A r::50%25 <done>, \"really\"%0Anext\u0001");
  });
});
