/**
 * Keeps passwords out of everything the package prints: connection URLs and any text that may quote one
 * (driver and server error messages often do). The one redaction of the package: errors.ts (ConnectionError)
 * and the CLI's output both go through here.
 * @module
 */

/** What replaces a password. */
const MASK = "****";

/**
 * The URL with its password replaced by `****`; anything that is not a URL comes back as it was.
 *
 * @example
 * ```ts
 * redactUrl("postgres://app:s3cret@db:5432/app"); // "postgres://app:****@db:5432/app"
 * ```
 */
export function redactUrl(url: string): string {
  return redactText(url);
}

/**
 * `scheme://user:password@host` anywhere in a text. Users type passwords unencoded, so the password may hold
 * `@`, `:`, `/`, `?`, `#`, `%`, spaces: it runs to the LAST `@` on the line that is followed by something
 * host-like, without crossing into another URL. Masking too much is the safe way to be wrong.
 */
const URL_WITH_PASSWORD =
  /([a-z][a-z0-9+.-]*:\/\/)([^\s:/@]*):((?:(?![a-z][a-z0-9+.-]*:\/\/)[^\r\n])*)@(?=[^\s@/?#'"]*(?:[\s/?#'",;)\]}]|$))/gi;

/** `password=...` in key/value connection strings (libpq style, quoted values with `\'` escapes) and query strings. */
const PASSWORD_PARAM = /((?:^|[^a-z0-9_])(?:pg)?password\s*=\s*)('(?:[^'\\\r\n]|\\.)*'|[^\s&;,]+)/gi;

/** `"password": "..."` in JSON (a driver's options object printed in a message). */
const PASSWORD_JSON = /("(?:pg)?password"\s*:\s*)"(?:[^"\\]|\\.)*"/gi;

/**
 * `text` with the password of every URL (and every `password=` parameter) in it replaced by `****`.
 *
 * @example
 * ```ts
 * redactText("cannot connect to postgres://app:s3cret@db/app"); // "cannot connect to postgres://app:****@db/app"
 * ```
 */
export function redactText(text: string): string {
  return text
    .replace(URL_WITH_PASSWORD, (_all, scheme: string, user: string) => `${scheme}${user}:${MASK}@`)
    .replace(PASSWORD_PARAM, (_all, key: string) => `${key}${MASK}`)
    .replace(PASSWORD_JSON, (_all, key: string) => `${key}"${MASK}"`);
}

/**
 * Also masks known secrets wherever they appear (a driver may quote the password alone), as written, URL-encoded
 * and JSON-escaped. Secrets shorter than 3 characters are not masked alone (they would mask half the text).
 *
 * @example
 * ```ts
 * redactSecrets("password s3cret rejected", ["s3cret"]); // "password **** rejected"
 * ```
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = redactText(text);
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < 3) continue;
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
    forms.add(JSON.stringify(secret).slice(1, -1));
  }
  // Longest first: a secret that contains another is masked whole.
  for (const form of [...forms].sort((a, b) => b.length - a.length)) out = out.split(form).join(MASK);
  return out;
}
