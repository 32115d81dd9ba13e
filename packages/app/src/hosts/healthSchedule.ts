/** How often the page asks a listed host that answers for its health. */
export const healthCheckIntervalMs = 15_000;

/** The longest the page waits between two checks of a host that keeps failing them. */
export const longestHealthCheckIntervalMs = 10 * 60_000;

/**
 * When to ask a listed host again, after `failedInARow` failed checks: every 15 s while it
 * answers, then twice as long after each failure (30 s, 1 min, … up to 10 min), so a dead host,
 * or a URL registered to point at someone else's server, is not asked every 15 s forever.
 */
export function nextHealthCheckMs(failedInARow: number): number {
  return Math.min(healthCheckIntervalMs * 2 ** failedInARow, longestHealthCheckIntervalMs);
}

/** The failed checks in a row after one more check: none once the host answers. */
export function failedInARowAfter(previous: number | undefined, ok: boolean): number {
  return ok ? 0 : (previous ?? 0) + 1;
}
