/**
 * Methods that only read (RFC 9110 §9.2.1, as SPEC §4 and §8 name them): they may run
 * concurrently under `parallel: 'reads'`, a batch of them needs no `Idempotency-Key`, and
 * their start is not recorded.
 */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Methods whose second run changes nothing more than the first (RFC 9110 §9.2.2, SPEC §8). */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'OPTIONS',
  'PUT',
  'DELETE',
]);
