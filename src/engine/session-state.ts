/**
 * Each migration starts with the session state the run started with. A migration may `SET search_path`,
 * `SET ROLE` or `RESET ALL` at session level; PostgreSQL keeps that after COMMIT, so the next migration (and our
 * own bookkeeping) would follow it. Before recording a migration, in the same transaction, the session's
 * settings are put back: the role, the settings the session had SET when the run started (a library user's own
 * `SET`s included), and every other session-level setting to its connection default. Nothing is reset that
 * the run did not see changed, so a client passed in keeps its settings.
 * @module
 */
import { quoteLiteral } from "../core/sql-text.ts";
import type { Queryable } from "../drivers/driver.ts";

/** The session state at the start of a run. */
export interface SessionBaseline {
  /** `session_user`: changed by SET SESSION AUTHORIZATION (which SET ROLE does not touch). */
  sessionUser?: string;
  /** `current_setting('role')`: "none" unless the session did SET ROLE. */
  role: string;
  /** Settings the session had changed with SET (source "session"), as pg_settings spells their values. */
  settings: [name: string, setting: string][];
}

/** Settings that are per transaction or ours: never touched. */
const SKIPPED = "s.name NOT LIKE 'transaction\\_%' AND s.name NOT LIKE 'orchwf.%'";

/**
 * Reads the session's baseline (one query).
 *
 * @example
 * ```ts
 * const baseline = await readBaseline(driver);
 * ```
 */
export async function readBaseline(q: Queryable): Promise<SessionBaseline> {
  const [row] = await q.query<{ sessionuser: string; role: string; settings: string }>(
    `SELECT session_user::text AS sessionuser, current_setting('role') AS role,
       (SELECT coalesce(json_agg(json_build_array(s.name, s.setting)), '[]')::text FROM pg_settings s
        WHERE s.source = 'session' AND ${SKIPPED}) AS settings`,
  );
  return { sessionUser: row.sessionuser, role: row.role, settings: JSON.parse(row.settings) };
}

/**
 * PL/pgSQL statements (for our bookkeeping DO block) that put the session back to `baseline`: the session user
 * first; then, with no role set (the session user's own privileges), `RESET ALL`, which puts every setting back to
 * its reset value (the connection's own, as the server, the database, the role and the client's startup packet gave
 * it) and leaves the role and the session user alone; then the settings the session had SET when the run started,
 * set again; the run's role last, so that our own statements run as the run's user. RESET ALL is also cheap: reading
 * `pg_settings` to find what the migration changed cost 0.5-0.9 ms a migration, a third of a small one's whole time.
 *
 * @example
 * ```ts
 * const restore = restoreStatements({ role: "none", settings: [] });
 * ```
 */
export function restoreStatements(baseline: SessionBaseline): string[] {
  const role = quoteLiteral(baseline.role);
  // The role and the session user have statements of their own (a setting set under a role it outranks, e.g. by
  // a superuser session before SET ROLE, is set again before the role is).
  const settings = baseline.settings.filter(([name]) => name !== "role" && name !== "session_authorization");
  return [
    // SET SESSION AUTHORIZATION is checked against the user who logged in, whoever the migration became.
    ...(baseline.sessionUser === undefined ? [] : [
      `IF session_user::text <> ${quoteLiteral(baseline.sessionUser)} THEN EXECUTE format('SET SESSION AUTHORIZATION %I', ${
        quoteLiteral(baseline.sessionUser)
      }); END IF`,
    ]),
    `IF current_setting('role') <> 'none' THEN PERFORM set_config('role', 'none', false); END IF`,
    "RESET ALL",
    ...settings.map(([name, setting]) => `PERFORM set_config(${quoteLiteral(name)}, ${quoteLiteral(setting)}, false)`),
    ...(baseline.role === "none" ? [] : [`PERFORM set_config('role', ${role}, false)`]),
  ];
}

/**
 * The statement that puts a session back to `baseline` on its own (a no-transaction migration's connection).
 *
 * @example
 * ```ts
 * await conn.exec(restoreSessionSql(ctx.baseline));
 * ```
 */
export function restoreSessionSql(baseline: SessionBaseline): string {
  return `DO $orchwf$ BEGIN ${restoreStatements(baseline).map((s) => `${s};`).join(" ")} END $orchwf$`;
}
