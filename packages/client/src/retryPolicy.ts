// The client's retry rules (SPEC §6, §8): which batches and items may be sent again, when,
// and the Idempotency-Key that makes a batch of writes safe to resend.

/** Methods a server may run twice without harm (RFC 9110 §9.2.1). */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isSafeMethod(method: string): boolean {
  return SAFE_METHODS.has(method.toUpperCase());
}

/**
 * Answers of the batch request that say its answer was lost or is not ready yet: a keyed
 * batch still running elsewhere (`409`), a proxy or gateway that lost it (`502`, `504`), a
 * server that could not take it now (`503`).
 */
export const LOST_ANSWER_STATUSES: ReadonlySet<number> = new Set([409, 502, 503, 504]);

/** Item answers retried on their own when they carry `Retry-After` and are safe to repeat. */
export const RETRY_LATER_STATUSES: ReadonlySet<number> = new Set([429, 503]);

/**
 * `Retry-After` (RFC 9110 §10.2.3) as milliseconds from `now`: delay-seconds or an
 * HTTP-date (a date in the past is `0`). `undefined` when absent or unreadable.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now = Date.now(),
): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  if (!/[a-z]/i.test(text)) return undefined; // a bare number with a sign or a dot
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Exponential backoff with full jitter (a random delay in `0 … min(maxMs, baseMs · 2^attempt)`),
 * never shorter than the server's `Retry-After`.
 */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.max(retryAfterMs ?? 0, Math.floor(random() * ceiling));
}

/**
 * A fresh `Idempotency-Key` value: a Structured Fields string holding a random UUID
 * (`"8e03978e-…"`, 38 characters: within the draft's and SPEC §8's 1–255).
 */
export function newIdempotencyKey(): string {
  const crypto = globalThis.crypto;
  if (typeof crypto.randomUUID === 'function') return `"${crypto.randomUUID()}"`;
  // Browsers offer randomUUID in secure contexts only; getRandomValues everywhere.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `"${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}"`;
}

/** Resolves after `ms`, or at once when `ms` is 0. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
