/**
 * `--ddl-lock-timeout DURATION` and `--lock-retries N` as the Migrator's `ddlLockTimeoutMs` and `lockRetries`.
 * @module
 */
import type { CommandContext } from "./context.ts";
import { parseDuration, usage } from "./options.ts";

/** The longest lock_timeout PostgreSQL accepts (INT_MAX ms). */
const MAX_MS = 2_147_483_647;

/**
 * The lock-retry options given (absent ones stay undefined: the Migrator's defaults apply).
 *
 * @example
 * ```ts
 * new Migrator(db, { ...lockRetryOptions(ctx) });
 * ```
 */
export function lockRetryOptions(ctx: CommandContext): { ddlLockTimeoutMs?: number; lockRetries?: number } {
  const options: { ddlLockTimeoutMs?: number; lockRetries?: number } = {};
  const timeout = ctx.string("ddl-lock-timeout");
  if (timeout !== undefined) {
    const from = ctx.source("ddl-lock-timeout");
    options.ddlLockTimeoutMs = parseDuration(timeout, from);
    if (options.ddlLockTimeoutMs > MAX_MS) throw usage(`${from} ${timeout} is too long: at most ${MAX_MS} ms (about 24 days)`);
  }
  const retries = ctx.string("lock-retries");
  if (retries !== undefined) {
    const from = ctx.source("lock-retries");
    if (!/^\s*\d+\s*$/.test(retries) || Number(retries) > 1000) throw usage(`${from} expects a whole number of retries from 0 to 1000; got ${JSON.stringify(retries)}`);
    options.lockRetries = Number(retries);
  }
  return options;
}
