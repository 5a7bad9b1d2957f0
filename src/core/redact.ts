/**
 * Keeps passwords out of everything the CLI prints: connection URLs and any text that may quote one
 * (driver error messages often do).
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
 * `scheme://user:password@` in a URL, anywhere in a text. The password runs to the last `@` before the
 * host, so a password containing `@` or `:` (unencoded) is masked whole.
 */
const URL_WITH_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/)([^\s:/@]*):([^\s/]*)@(?=[^\s@/]*(?:[\s/?#]|$))/gi;

/** `password=...` in key/value connection strings (libpq style) and query strings. */
const PASSWORD_PARAM = /((?:^|[\s?&;])password\s*=\s*)('[^']*'|[^\s&;]+)/gi;

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
    .replace(PASSWORD_PARAM, (_all, key: string) => `${key}${MASK}`);
}

/**
 * Also masks a known secret wherever it appears (a driver may quote the password alone).
 *
 * @example
 * ```ts
 * redactSecrets("password s3cret rejected", ["s3cret"]); // "password **** rejected"
 * ```
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = redactText(text);
  for (const secret of secrets) {
    if (secret.length >= 3) out = out.split(secret).join(MASK);
  }
  return out;
}
