/**
 * Durations as users write them (`500`, `500ms`, `10s`, `2m`, `1h`): one grammar for CLI flags and file directives.
 * @module
 */

/**
 * Milliseconds of `text` (a bare number is milliseconds), or undefined when it is not a duration.
 *
 * @example
 * ```ts
 * durationMs("2s"); // 2000
 * durationMs("soon"); // undefined
 * ```
 */
export function durationMs(text: string | number): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(String(text));
  if (!match) return undefined;
  const unit = (match[2] ?? "ms").toLowerCase();
  const factor = unit === "ms" ? 1 : unit === "s" ? 1000 : unit === "m" ? 60_000 : 3_600_000;
  return Math.round(Number(match[1]) * factor);
}
