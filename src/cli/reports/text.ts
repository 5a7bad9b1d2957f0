/**
 * Escaping shared by the report renderers.
 * @module
 */

/**
 * Text made safe inside XML content and double-quoted attributes. Characters XML 1.0 cannot carry at all (C0
 * controls but tab and newline) become U+FFFD; a report must parse whatever a migration's name holds.
 *
 * @example
 * ```ts
 * xmlEscape(`a < "b"`); // "a &lt; &quot;b&quot;"
 * ```
 */
export function xmlEscape(text: string): string {
  return text
    // deno-lint-ignore no-control-regex -- removing what XML cannot carry is the point
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "\ufffd")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;")
    .replace(/\r/g, "&#13;")
    .replace(/\n/g, "&#10;");
}

/**
 * A path as a relative URI reference with forward slashes (SARIF's `artifactLocation.uri`): each segment
 * percent-encoded, so spaces and `#` survive.
 *
 * @example
 * ```ts
 * uriOf("db/migrations/001 init.up.sql"); // "db/migrations/001%20init.up.sql"
 * ```
 */
export function uriOf(path: string): string {
  const slashed = path.replace(/\\/g, "/");
  const absolute = slashed.startsWith("/");
  const encoded = slashed.split("/").map((segment) => encodeURIComponent(segment)).join("/");
  return absolute ? `file://${encoded}` : encoded.replace(/^\.\//, "");
}
