/**
 * postgres:// URLs read the way libpq reads them, turned into postgres.js options: IPv6 hosts in brackets, unix
 * socket directories (`?host=/var/run/postgresql` or a percent-encoded host), several hosts, `?password=`, `?user=`,
 * `?dbname=`, `?port=`, and `sslmode` with libpq's meaning. What postgres.js cannot do is refused, clearly.
 *
 * The password is found and masked BEFORE the URL is parsed, so a URL too broken to parse (a password with an
 * unencoded `/` or space) is never printed with it; when a `/`, `?` or `#` in the user name or password cuts the URL
 * short, the error shows no part of either (see brokenUserinfo).
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { checkServerIdentity } from "node:tls";
import { MigrationError } from "../core/errors.ts";

/** What `sslmode` may be, in libpq's order from least to most safe. */
export const SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] as const;
/** One of libpq's sslmode values. */
export type SslMode = (typeof SSL_MODES)[number];

/** The connection a URL names, ready for postgres.js. */
export interface PostgresTarget {
  /** Host names or addresses (IPv6 without brackets); a unix socket directory when `socket` is set. */
  hosts: string[];
  ports: number[];
  /** Unix socket file (`DIR/.s.PGSQL.PORT`) when the host is a directory. */
  socket?: string;
  database?: string;
  user?: string;
  password?: string;
  sslmode: SslMode;
  /** The postgres.js `ssl` option for `sslmode` (false for a unix socket, which libpq never encrypts). */
  ssl: boolean | "prefer" | Record<string, unknown>;
  /** Other query parameters: sent to the server as run-time settings (e.g. `application_name`, `options`). */
  settings: Record<string, string>;
  /** `connect_timeout` from the URL, in seconds. */
  connectTimeoutSeconds?: number;
  /** `target_session_attrs` from the URL. */
  targetSessionAttrs?: string;
  /** The URL with its password masked: safe to print. */
  label: string;
  /** Texts to mask in any output (the password as written and decoded). */
  secrets: string[];
}

const MASK = "****";

/**
 * Where the password is in a URL, found without parsing it: from the first `:` after `scheme://` to the LAST `@`
 * before the query, so a password with an unencoded `@`, `/`, `?`, `#` or space is covered whole. It may mask more
 * than the password (never less).
 */
function passwordSpan(url: string): { start: number; end: number } | undefined {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  if (!scheme) return undefined;
  const rest = url.slice(scheme[0].length);
  const at = rest.lastIndexOf("@");
  if (at < 0) return undefined;
  const colon = rest.indexOf(":");
  if (colon < 0 || colon > at) return undefined;
  return { start: scheme[0].length + colon + 1, end: scheme[0].length + at };
}

/**
 * The URL with its password masked, computed before (and without) parsing it.
 *
 * @example
 * ```ts
 * maskUrl("postgres://app:pa/ss word@db/app"); // "postgres://app:****@db/app"
 * ```
 */
export function maskUrl(url: string): string {
  const span = passwordSpan(url);
  const masked = span ? `${url.slice(0, span.start)}${MASK}${url.slice(span.end)}` : url;
  return masked.replace(/([?&]password=)[^&#]*/gi, `$1${MASK}`);
}

/**
 * Every spelling of the URL's password (as written, percent-decoded), found without parsing the URL; for masking.
 *
 * @example
 * ```ts
 * urlSecrets("postgres://app:s%2Fcret@db/app"); // ["s%2Fcret", "s/cret"]
 * ```
 */
export function urlSecrets(url: string): string[] {
  const found: string[] = [];
  const span = passwordSpan(url);
  if (span && span.end > span.start) found.push(url.slice(span.start, span.end));
  for (const m of url.matchAll(/[?&]password=([^&#]*)/gi)) if (m[1]) found.push(m[1]);
  const out = new Set<string>();
  for (const s of found) {
    out.add(s);
    out.add(decodeLoosely(s));
  }
  return [...out];
}

function decodeLoosely(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** libpq keywords postgres.js has no equivalent for: refused, rather than sent to the server as settings. */
const UNSUPPORTED = new Set([
  "passfile", "service", "sslpassword", "sslcrl", "sslcrldir", "sslsni", "sslcertmode", "requirepeer", "krbsrvname",
  "gsslib", "gssdelegation", "replication", "require_auth", "ssl_min_protocol_version", "ssl_max_protocol_version",
  "load_balance_hosts",
]);
/** libpq keywords whose default behaviour is what postgres.js does anyway: accepted and ignored. */
const IGNORED = new Set(["keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout", "sslcompression"]);

/**
 * Reads a postgres:// or postgresql:// URL as libpq would. Throws `USAGE` (never quoting the password) when it
 * cannot be read or asks for something unsupported.
 *
 * @example
 * ```ts
 * parsePostgresUrl("postgres://app@[::1]:5433/app?sslmode=disable").hosts; // ["::1"]
 * parsePostgresUrl("postgres://app@%2Fvar%2Frun%2Fpostgresql/app").socket;  // "/var/run/postgresql/.s.PGSQL.5432"
 * ```
 */
export function parsePostgresUrl(url: string, env: Record<string, string | undefined> = {}): PostgresTarget {
  try {
    return parseWellFormed(url, env);
  } catch (err) {
    throw brokenUserinfo(url, env) ?? err;
  }
}

/**
 * When the user name or password holds an unencoded `/`, `?` or `#`, the URL's parts end inside it, and whatever the
 * parser then complains about (`port "pa" is not a number`) may quote a piece of the password. This error replaces
 * it: no part of the user name or password, the host, port and database when they can be recovered (from the first
 * `@` after which the rest reads as a URL), and what to do. Undefined when no `@` comes after such a character.
 */
function brokenUserinfo(url: string, env: Record<string, string | undefined>): MigrationError | undefined {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)?.[0];
  if (!scheme) return undefined;
  const rest = url.slice(scheme.length);
  const firstEnd = rest.search(/[/?#]/);
  const lastAt = rest.lastIndexOf("@");
  if (firstEnd < 0 || lastAt < firstEnd) return undefined;
  let where = `${scheme}****@…`;
  for (let at = rest.indexOf("@"); at >= 0; at = rest.indexOf("@", at + 1)) {
    const candidate = `${scheme}${rest.slice(at + 1)}`;
    try {
      parseWellFormed(candidate, env);
    } catch {
      continue;
    }
    where = maskUrl(`${scheme}****@${rest.slice(at + 1)}`);
    break;
  }
  return new MigrationError(
    "USAGE",
    `invalid database URL ${where}: its user name or password holds a character that ends that part of a URL ("/", "?" or "#"), ` +
      `so the host cannot be found reliably (nothing of the user name or password is shown); ` +
      `percent-encode the user name and password (/ as %2F, ? as %3F, # as %23, @ as %40, space as %20), or leave the password out of the URL and set PGPASSWORD`,
  );
}

/** Reads a URL whose user name and password are percent-encoded (the normal case). */
function parseWellFormed(url: string, env: Record<string, string | undefined>): PostgresTarget {
  const label = maskUrl(url);
  const bad = (why: string) => new MigrationError("USAGE", `invalid database URL ${label}: ${why}`);
  const scheme = /^postgres(ql)?:\/\//i.exec(url);
  if (!scheme) throw bad("expected postgres://… or postgresql://…");
  let rest = url.slice(scheme[0].length);
  const hash = rest.indexOf("#");
  if (hash >= 0) rest = rest.slice(0, hash);
  const queryAt = rest.indexOf("?");
  const query = queryAt >= 0 ? rest.slice(queryAt + 1) : "";
  const beforeQuery = queryAt >= 0 ? rest.slice(0, queryAt) : rest;
  const at = beforeQuery.lastIndexOf("@");
  const slash = beforeQuery.indexOf("/");
  if (at >= 0 && slash >= 0 && slash < at) {
    throw bad(
      "the part before the host contains a \"/\": percent-encode the user name and password (/ as %2F, @ as %40, space as %20), or pass the password in PGPASSWORD",
    );
  }
  const authority = slash >= 0 ? beforeQuery.slice(0, slash) : beforeQuery;
  const path = slash >= 0 ? beforeQuery.slice(slash + 1) : "";
  const decode = (text: string, what: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      throw bad(`its ${what} has a bad percent-encoding`);
    }
  };

  let user: string | undefined;
  let password: string | undefined;
  let hostPart = authority;
  const userAt = authority.lastIndexOf("@");
  if (userAt >= 0) {
    const info = authority.slice(0, userAt);
    hostPart = authority.slice(userAt + 1);
    const colon = info.indexOf(":");
    user = decode(colon >= 0 ? info.slice(0, colon) : info, "user name") || undefined;
    password = colon >= 0 ? decode(info.slice(colon + 1), "password") : undefined;
  }
  let database = path ? decode(path, "database name") : undefined;

  const params = new Map<string, string>();
  for (const pair of query.split("&").filter(Boolean)) {
    const eq = pair.indexOf("=");
    if (eq < 0) throw bad(`query parameter ${JSON.stringify(pair)} has no "=value"`);
    params.set(decode(pair.slice(0, eq).replace(/\+/g, " "), "query"), decode(pair.slice(eq + 1), "query"));
  }
  const take = (key: string) => {
    const value = params.get(key);
    params.delete(key);
    return value;
  };

  let hosts: string[] = [];
  let ports: (number | undefined)[] = [];
  const portOf = (text: string) => {
    if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) throw bad(`port ${JSON.stringify(text)} is not a number from 1 to 65535`);
    return Number(text);
  };
  for (const item of hostPart ? hostPart.split(",") : []) {
    const v6 = /^\[([^\]]*)\](?::(.*))?$/.exec(item);
    if (v6) {
      hosts.push(decode(v6[1], "host"));
      ports.push(v6[2] ? portOf(v6[2]) : undefined);
      continue;
    }
    if (item.startsWith("[")) throw bad("an IPv6 host must be written in brackets, [::1]:5432");
    const colon = item.lastIndexOf(":");
    hosts.push(decode(colon >= 0 ? item.slice(0, colon) : item, "host"));
    ports.push(colon >= 0 && item.slice(colon + 1) !== "" ? portOf(item.slice(colon + 1)) : undefined);
  }
  const hostParam = take("host") ?? take("hostaddr");
  if (hostParam !== undefined) {
    hosts = hostParam.split(",");
    ports = hosts.map(() => undefined);
  }
  const portParam = take("port");
  if (portParam !== undefined) {
    const list = portParam.split(",").map(portOf);
    if (list.length !== 1 && list.length !== Math.max(1, hosts.length)) throw bad(`${list.length} ports for ${hosts.length} hosts`);
    ports = hosts.length <= 1 ? [list[0]] : hosts.map((_, i) => list[list.length === 1 ? 0 : i]);
  }
  if (hosts.filter(Boolean).length === 0) hosts = (env.PGHOST ?? "localhost").split(",");
  const fallbackPort = env.PGPORT ? portOf(env.PGPORT) : 5432;
  const portList = hosts.map((_, i) => ports[i] ?? fallbackPort); // libpq: a host without a port gets the default

  user = take("user") ?? user;
  password = take("password") ?? password;
  database = take("dbname") ?? database;

  let socket: string | undefined;
  if (hosts.some((h) => h.startsWith("/"))) {
    if (hosts.length > 1) throw bad("a unix socket directory cannot be combined with other hosts");
    socket = `${hosts[0].replace(/\/+$/, "")}/.s.PGSQL.${portList[0]}`;
  }

  const timeout = take("connect_timeout");
  let connectTimeoutSeconds: number | undefined;
  if (timeout !== undefined) {
    if (!/^\d+$/.test(timeout)) throw bad(`connect_timeout ${JSON.stringify(timeout)} is not a whole number of seconds`);
    connectTimeoutSeconds = Math.max(2, Number(timeout)) || undefined; // libpq: 0 means wait forever, and minimum 2
  }
  const targetSessionAttrs = take("target_session_attrs");
  const fallbackName = take("fallback_application_name");
  if (fallbackName !== undefined && !params.has("application_name")) params.set("application_name", fallbackName);

  for (const [key, value] of [...params]) {
    if (IGNORED.has(key)) params.delete(key);
    else if (key === "channel_binding" || key === "gssencmode") {
      if (value === "require") throw bad(`${key}=require is not supported (postgres.js does not do it); use ${key}=prefer or leave it out`);
      params.delete(key);
    } else if (UNSUPPORTED.has(key)) {
      throw bad(`the libpq parameter ${key} is not supported here; leave it out (PGPASSWORD and the URL carry the password)`);
    }
  }

  const sslParam = take("sslmode");
  const sslFlagParam = sslFlag(take("ssl"));
  const sslmode = sslModeOf(sslParam ?? sslFlagParam ?? env.PGSSLMODE ?? "prefer", bad);
  const files = { root: take("sslrootcert"), cert: take("sslcert"), key: take("sslkey") };
  const ssl = socket ? false : sslOption(sslmode, files, hosts, bad);

  return {
    hosts,
    ports: portList,
    socket,
    database,
    user,
    password,
    sslmode,
    ssl,
    settings: Object.fromEntries(params),
    connectTimeoutSeconds,
    targetSessionAttrs,
    label,
    secrets: urlSecrets(url),
  };
}

/** node-postgres' `?ssl=true` spelling. */
function sslFlag(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value === "false" || value === "0" ? "disable" : "require";
}

function sslModeOf(value: string, bad: (why: string) => MigrationError): SslMode {
  if ((SSL_MODES as readonly string[]).includes(value)) return value as SslMode;
  throw bad(`sslmode ${JSON.stringify(value)} is not one of ${SSL_MODES.join(", ")}`);
}

/**
 * The postgres.js `ssl` option for a libpq sslmode. `allow` starts without encryption (the caller retries with it
 * when the server demands it); `prefer` encrypts when the server can and does not check the certificate; `require`
 * too, but refuses an unencrypted server (and checks the certificate like verify-ca when a root certificate is given
 * or ~/.postgresql/root.crt exists, as libpq does); `verify-ca` checks the chain; `verify-full` the host name too.
 */
function sslOption(
  mode: SslMode,
  files: { root?: string; cert?: string; key?: string },
  hosts: string[],
  bad: (why: string) => MigrationError,
): PostgresTarget["ssl"] {
  if (mode === "disable" || mode === "allow") return false;
  if (mode === "prefer") return "prefer";
  const read = (file: string, what: string) => {
    try {
      return readFileSync(file, "utf8");
    } catch (err) {
      throw bad(`cannot read the ${what} ${file}: ${(err as Error).message}`);
    }
  };
  const defaultRoot = join(homedir(), ".postgresql", "root.crt");
  const rootFile = files.root ?? (existsSync(defaultRoot) ? defaultRoot : undefined);
  const client = {
    ...(files.cert ? { cert: read(files.cert, "client certificate (sslcert)") } : {}),
    ...(files.key ? { key: read(files.key, "client key (sslkey)") } : {}),
  };
  const verifyChain = mode !== "require" || rootFile !== undefined;
  if (!verifyChain) return { rejectUnauthorized: false, ...client };
  if (rootFile === undefined) {
    throw bad(
      `sslmode=${mode} checks the server's certificate, but there is no root certificate: give it with sslrootcert=FILE, use the system's trusted roots with sslrootcert=system, or use sslmode=require to encrypt without checking (libpq's rule)`,
    );
  }
  const ca = rootFile === "system" ? {} : { ca: read(rootFile, "root certificate (sslrootcert)") };
  const identity = mode === "verify-full"
    ? hosts.length === 1 ? { checkServerIdentity: (_: string, cert: Parameters<typeof checkServerIdentity>[1]) => checkServerIdentity(hosts[0], cert) } : {}
    : { checkServerIdentity: () => undefined }; // verify-ca: the chain only, any host name
  return { rejectUnauthorized: true, ...ca, ...client, ...identity };
}
