/** Polling with a bound: a condition that never comes true fails the test with a message, never a silent long wait. */

/**
 * Resolves once `check()` is true; rejects after `timeoutMs`, or as soon as `abandon` settles (e.g. the process
 * expected to make it true exited).
 */
export async function pollUntil(
  check: () => Promise<boolean>,
  options: { what: string; timeoutMs?: number; intervalMs?: number; abandon?: Promise<unknown> },
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let gone: unknown;
  let isGone = false;
  options.abandon?.then((value) => {
    gone = value;
    isGone = true;
  }, (err) => {
    gone = err;
    isGone = true;
  });
  for (;;) {
    if (await check()) return;
    if (isGone) throw new Error(`gave up waiting for ${options.what}: ${JSON.stringify(gone)}`);
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${options.what} after ${options.timeoutMs ?? 30_000} ms`);
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
  }
}
