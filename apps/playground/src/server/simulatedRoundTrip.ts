/**
 * The request header that asks the server to wait before it handles a request, to simulate
 * a network round trip: a whole number of milliseconds. The playground sets it on its own
 * requests; no other client is slowed unless it sends it.
 */
export const SIMULATED_RTT_HEADER = 'x-playground-rtt';

/** The longest simulated round trip, in milliseconds. */
export const MAX_SIMULATED_RTT_MS = 2000;

/**
 * The delay a request asks for in `X-Playground-RTT`: `0` when it has none, the number of
 * milliseconds for `0`…`2000`, or an error message for any other value (answered with a 400).
 */
export function simulatedRoundTrip(
  header: string | string[] | undefined,
): { delayMs: number } | { error: string } {
  if (header === undefined) return { delayMs: 0 };
  const value = Array.isArray(header) ? header.join(',') : header.trim();
  if (/^\d{1,4}$/.test(value) && Number(value) <= MAX_SIMULATED_RTT_MS) {
    return { delayMs: Number(value) };
  }
  return {
    error: `X-Playground-RTT must be a whole number of milliseconds from 0 to ${MAX_SIMULATED_RTT_MS}, not "${value.slice(0, 40)}"`,
  };
}
