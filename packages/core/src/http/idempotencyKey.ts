/**
 * The batch's `Idempotency-Key` (SPEC §8, IETF httpapi draft): a Structured Fields string
 * (`"8e03978e-…"`) or a bare token of visible ASCII (what Stripe's clients send), 1–255
 * characters. Returns the key, `undefined` when the header is absent, or the reason it is
 * not a key.
 */
export function parseIdempotencyKey(
  values: readonly string[],
): { key: string } | { problem: string } | undefined {
  if (values.length === 0) return undefined;
  if (values.length > 1) return { problem: 'Idempotency-Key must be given once' };
  const raw = values[0]!.trim();
  let key = raw;
  if (raw.startsWith('"')) {
    // RFC 8941 §3.3.3: printable ASCII, `\"` and `\\` escapes, closed by a quote at the end.
    if (raw.length < 2 || !raw.endsWith('"'))
      return { problem: 'Idempotency-Key: unclosed string' };
    key = '';
    for (let i = 1; i < raw.length - 1; i++) {
      let c = raw.charCodeAt(i);
      if (c === 0x5c) {
        c = raw.charCodeAt(++i);
        if (i >= raw.length - 1 || (c !== 0x22 && c !== 0x5c))
          return { problem: 'Idempotency-Key: bad escape in its string' };
      } else if (c === 0x22 || c < 0x20 || c > 0x7e) {
        return { problem: 'Idempotency-Key: its string holds a character strings may not' };
      }
      key += String.fromCharCode(c);
    }
  } else {
    for (let i = 0; i < raw.length; i++) {
      const c = raw.charCodeAt(i);
      if (c <= 0x20 || c > 0x7e)
        return { problem: 'Idempotency-Key must be a string ("…") or visible ASCII' };
    }
  }
  if (key.length < 1 || key.length > 255)
    return { problem: 'Idempotency-Key must hold 1 to 255 characters' };
  return { key };
}
