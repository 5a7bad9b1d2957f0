/**
 * The one redaction (src/core/redact.ts), directly: passwords with `@`, `:`, `/`, `%`, spaces and unicode, in
 * URLs, key=value strings, JSON and driver messages. And the library's ConnectionError masks what a real server
 * quotes back.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import postgres from "postgres";
import { ConnectionError, Migrator, toConnectionError } from "../src/mod.ts";
import { redactSecrets, redactText, redactUrl } from "../src/core/redact.ts";
import { postgresEngine } from "./helpers/engines.ts";
import { postgresServerUrl } from "./helpers/postgres-server.ts";

/** Passwords as users type them into a URL (unencoded), and the part that must never show. */
const PASSWORDS = ["p@ss", "pa:ss", "pa/ss", "100%sure", "pa ss", "pässwörd✓", "a@b:c/d%e f", "p#ss?x", "s3cret"];

describe("redactUrl / redactText", () => {
  for (const password of PASSWORDS) {
    test(`a URL whose password is ${JSON.stringify(password)}, unencoded and encoded`, () => {
      for (const written of [password, encodeURIComponent(password)]) {
        const url = `postgres://app:${written}@db.internal:5432/app?sslmode=require`;
        assert.equal(redactUrl(url), "postgres://app:****@db.internal:5432/app?sslmode=require");
        // Inside driver messages, quoted the ways drivers quote.
        for (const message of [`Invalid URL: '${url}'`, `connect to "${url}" failed`, `failed (${url}), retrying`, `${url}\nnext line`]) {
          const out = redactText(message);
          assert.ok(!out.includes(written), `${JSON.stringify(written)} printed in ${JSON.stringify(out)}`);
          assert.match(out, /postgres:\/\/app:\*\*\*\*@db\.internal:5432\/app/);
        }
      }
    });
  }

  test("URLs without a password, and other text, come back unchanged", () => {
    for (const text of ["postgres://app@db/app", "pglite:./data", "postgres://db:5432/app", "see https://pglite.dev", "a@b c:d"]) {
      assert.equal(redactText(text), text);
    }
  });

  test("two URLs on one line: both passwords masked", () => {
    const out = redactText("copy postgres://a:one1@h1/d to postgresql://b:two2@h2:6432/d");
    assert.ok(!out.includes("one1") && !out.includes("two2"), out);
  });

  test("key=value strings (libpq), query strings and JSON", () => {
    assert.equal(redactText("host=h user=u password=x1 dbname=d"), "host=h user=u password=**** dbname=d");
    assert.equal(redactText("host=h password = 'it\\'s a secret' dbname=d"), "host=h password = **** dbname=d");
    assert.equal(redactText("host=h password='pässwörd ✓' dbname=d"), "host=h password=**** dbname=d");
    assert.equal(redactText("postgres://h/d?user=u&password=p%40ss&sslmode=off"), "postgres://h/d?user=u&password=****&sslmode=off");
    assert.equal(redactText("PGPASSWORD=s3cret psql"), "PGPASSWORD=**** psql");
    assert.equal(redactText('options {"host":"h","password":"p\\"s@ss"}'), 'options {"host":"h","password":"****"}');
  });
});

describe("redactSecrets", () => {
  test("masks a known password anywhere: as written, URL-encoded, JSON-escaped; the longest first", () => {
    assert.equal(redactSecrets("auth for s3cret failed", ["s3cret"]), "auth for **** failed");
    assert.equal(redactSecrets('{"message":"bad \\"q\\"uote"}', ['bad "q"uote']), '{"message":"****"}');
    assert.equal(redactSecrets("user pa%20ss@x", ["pa ss"]), "user ****@x");
    assert.equal(redactSecrets("pässwörd✓ and pässwörd", ["pässwörd", "pässwörd✓"]), "**** and ****");
    assert.equal(redactSecrets("id 42", ["42"]), "id 42"); // too short to mask alone
  });
});

describe("ConnectionError masks what it quotes", () => {
  test("a message quoting a URL", () => {
    const err = new ConnectionError("cannot connect to postgres://app:p@ss/w0rd@db/app: refused");
    assert.equal(err.message, "cannot connect to postgres://app:****@db/app: refused");
    assert.equal(err.code, "CONNECTION_FAILED");
  });

  test("a real PostgreSQL error that quotes a URL, through toConnectionError and through the Migrator", { timeout: 60_000 }, async (t) => {
    if (!(await postgresEngine.available())) return t.skip("no PostgreSQL server here");
    const base = new URL((await postgresServerUrl())!);
    // A database name that is (by mistake) a whole URL: the server answers `database "<it>" does not exist` (3D000).
    const quoted = "postgres://app:p@ss:w0rd/x@db.internal/app";
    const sql = postgres({ host: base.hostname, port: Number(base.port || 5432), user: decodeURIComponent(base.username), database: quoted, max: 1, onnotice: () => {} });
    try {
      const raw = await sql`select 1`.then(() => undefined, (e: Error) => e);
      assert.ok(raw && raw.message.includes("p@ss:w0rd/x"), `the server quotes it: ${raw?.message}`);
      const converted = toConnectionError(raw);
      assert.ok(converted instanceof ConnectionError);
      assert.ok(!converted.message.includes("w0rd"), converted.message);
      const fromMigrator = await new Migrator(sql).migrate().then(() => undefined, (e: Error) => e);
      assert.ok(fromMigrator instanceof ConnectionError, String(fromMigrator));
      assert.ok(!fromMigrator.message.includes("w0rd"), fromMigrator.message);
      assert.match(fromMigrator.message, /postgres:\/\/app:\*\*\*\*@db\.internal\/app/);
    } finally {
      await sql.end({ timeout: 1 });
    }
  });
});
