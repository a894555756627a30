/** The window of `RATE_LIMIT`: it counts requests per minute. */
export const RATE_LIMIT_WINDOW_MS = 60_000;

/**
 * The example apps' rate limit: `RATE_LIMIT`, requests per minute per client address, a
 * positive integer; unset or empty: no limiter. Anything else throws, so that a typo does
 * not silently leave the API unlimited.
 */
export function rateLimitFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const value = env.RATE_LIMIT?.trim();
  if (value === undefined || value === '') return undefined;
  if (!/^[1-9][0-9]*$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw new Error(`RATE_LIMIT must be a positive integer (requests per minute), not ${value}`);
  return Number(value);
}

/** The body of a `429` from the example apps' limiters (problem+json, SPEC §5's shape). */
export const TOO_MANY_REQUESTS = {
  type: 'about:blank',
  title: 'Too Many Requests',
  status: 429,
  detail: 'the rate limit of this client address is reached: retry later',
} as const;
