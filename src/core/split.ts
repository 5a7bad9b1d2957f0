/**
 * Splits a SQL script into statements, aware of quotes, dollar quotes and comments.
 * Used to run no-transaction migrations statement by statement, and to place runtime errors.
 * @module
 */

/** One statement and where it starts in the script (a JS string index). */
export interface Statement {
  text: string;
  offset: number;
}

/**
 * Statements of `script`, each without its trailing semicolon; empty and comment-only ones dropped.
 *
 * @example
 * ```ts
 * splitStatements("SELECT 1; DO $$ BEGIN PERFORM 2; END $$;").map((s) => s.text);
 * // ["SELECT 1", " DO $$ BEGIN PERFORM 2; END $$"]
 * ```
 */
export function splitStatements(script: string): Statement[] {
  const out: Statement[] = [];
  let start = 0;
  let meaningful = false; // has the current statement anything but white space and comments?
  let i = 0;
  const push = (end: number) => {
    if (meaningful) out.push({ text: script.slice(start, end), offset: start });
    start = end + 1;
    meaningful = false;
  };
  while (i < script.length) {
    const c = script[i];
    const next = script[i + 1];
    if (c === "-" && next === "-") {
      const nl = script.indexOf("\n", i);
      i = nl === -1 ? script.length : nl + 1;
    } else if (c === "/" && next === "*") {
      i = skipBlockComment(script, i);
    } else if (c === "'") {
      const escapes = i > 0 && /[eE]/.test(script[i - 1]) && !/[\w$]/.test(script[i - 2] ?? "");
      i = skipQuoted(script, i, "'", escapes);
      meaningful = true;
    } else if (c === '"') {
      i = skipQuoted(script, i, '"', false);
      meaningful = true;
    } else if (c === "$" && !/[\w$]/.test(script[i - 1] ?? "")) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(script.slice(i, i + 64));
      if (tag) {
        const close = script.indexOf(tag[0], i + tag[0].length);
        i = close === -1 ? script.length : close + tag[0].length;
      } else i++;
      meaningful = true;
    } else if (c === ";") {
      push(i);
      i++;
    } else {
      if (!/\s/.test(c)) meaningful = true;
      i++;
    }
  }
  push(script.length);
  return out;
}

function skipBlockComment(s: string, i: number): number {
  let depth = 0; // Postgres block comments nest
  while (i < s.length) {
    if (s[i] === "/" && s[i + 1] === "*") {
      depth++;
      i += 2;
    } else if (s[i] === "*" && s[i + 1] === "/") {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else i++;
  }
  return i;
}

function skipQuoted(s: string, i: number, quote: string, backslashEscapes: boolean): number {
  i++;
  while (i < s.length) {
    if (backslashEscapes && s[i] === "\\") i += 2;
    else if (s[i] === quote && s[i + 1] === quote) i += 2;
    else if (s[i] === quote) return i + 1;
    else i++;
  }
  return i;
}
