/**
 * URL passwords with an unencoded `/`, `?` or `#`: they cut the URL short, so the error shows no part of the user
 * name or password (text and --json), keeps host, port and database where they can be recovered, and says to
 * percent-encode it or use PGPASSWORD.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parsePostgresUrl } from "../src/cli/postgres-url.ts";
import { MigrationError } from "../src/core/errors.ts";
import { bunRunner, runWith } from "./helpers/cli.ts";

/** URL, what of the user name and password must never show, and the recoverable part that must. */
const CASES: [url: string, secret: string[], kept: string][] = [
  ["postgres://usrnm:Qx/Zk@dbhost:5432/appdb", ["usrnm", "Qx", "Zk"], "dbhost:5432/appdb"],
  ["postgres://usrnm:Qx#Zk?Wv@dbhost/appdb", ["usrnm", "Qx", "Zk", "Wv"], "dbhost/appdb"],
  ["postgres://usrnm:Qxy#Zk@dbhost:6543/appdb", ["usrnm", "Qxy", "Zk"], "dbhost:6543/appdb"],
  ["postgres://usrnm:Qx?Zk@dbhost:5433/appdb", ["usrnm", "Qx", "Zk"], "dbhost:5433/appdb"],
  ["postgres://usrnm:Qx/Zk#Wv?Jy@dbhost/appdb?sslmode=disable", ["usrnm", "Qx", "Zk", "Wv", "Jy"], "dbhost/appdb?sslmode=disable"],
];

function assertAdvice(message: string, url: string, secret: string[], kept: string): void {
  for (const piece of secret) assert.ok(!message.includes(piece), `${JSON.stringify(piece)} of ${url} printed: ${message}`);
  assert.ok(message.includes(`postgres://****@${kept}`), message);
  assert.match(message, /%2F/);
  assert.match(message, /%3F/);
  assert.match(message, /%23/);
  assert.match(message, /PGPASSWORD/);
}

describe("a password with an unencoded /, ? or #", () => {
  test("parsePostgresUrl refuses it (USAGE) without any part of the user name or password, keeping host, port and database", () => {
    for (const [url, secret, kept] of CASES) {
      const err = (() => {
        try {
          parsePostgresUrl(url, {});
        } catch (e) {
          return e;
        }
      })();
      assert.ok(err instanceof MigrationError, `${url} was accepted`);
      assert.equal(err.code, "USAGE");
      assertAdvice(err.message, url, secret, kept);
    }
  });

  test("URLs that are fine stay fine: @ in a query value, encoded characters", () => {
    assert.deepEqual(parsePostgresUrl("postgres://usr:pw@dbhost/appdb?application_name=me@box", {}).settings, { application_name: "me@box" });
    const target = parsePostgresUrl("postgres://usr:p%2Fq%23r%3Fs@dbhost:5433/appdb", {});
    assert.equal(target.password, "p/q#r?s");
    assert.deepEqual([target.hosts, target.ports, target.database], [["dbhost"], [5433], "appdb"]);
  });

  test("the CLI prints none of it, in text or --json", { timeout: 120_000 }, async () => {
    const runs = await Promise.all(CASES.flatMap(([url]) => [runWith(bunRunner, ["status", "--db", url]), runWith(bunRunner, ["status", "--json", "--db", url])]));
    CASES.forEach(([url, secret, kept], i) => {
      const [text, json] = [runs[2 * i], runs[2 * i + 1]];
      assert.equal(text.code, 2, text.stderr);
      assertAdvice(text.stderr, url, secret, kept);
      assert.equal(json.code, 2, json.stderr);
      for (const piece of secret) assert.ok(!json.stderr.includes(piece), json.stderr);
      const error = JSON.parse(json.stdout).error;
      assert.equal(error.code, "USAGE");
      assertAdvice(error.message, url, secret, kept);
    });
  });
});

test("--scratch URLs with such a password: refused with the same advice, nothing of them printed", { timeout: 120_000 }, async () => {
  const runs = await Promise.all(CASES.slice(0, 2).map(([url]) => runWith(bunRunner, ["dump", "--from", "files", "--scratch", url, "--json"])));
  CASES.slice(0, 2).forEach(([url, secret], i) => {
    const run = runs[i];
    assert.equal(run.code, 2, run.stderr);
    const error = JSON.parse(run.stdout).error;
    assert.equal(error.code, "USAGE");
    for (const piece of secret) assert.ok(!`${run.stdout}${run.stderr}`.includes(piece), `${piece} of ${url} printed`);
    assert.match(error.message, /%2F.*%3F.*%23.*PGPASSWORD/);
  });
});
