import { describe, expect, it } from 'vitest';
import { decodeBatchRequest } from './decodeBatchRequest.js';
import { bytes, chunked, settle } from './testing.js';

describe('JsonBatchWatcher', () => {
  it('counts an escape cut by a chunk boundary as it counts it whole', async () => {
    const text = JSON.stringify({
      requests: [
        { path: '/a', body: 'a', headers: { 'Content-Type': 'text/plain' } },
        { path: '/a', body: '\na' },
      ],
    });
    const backslash = text.indexOf('\\n');
    const limits = { maxItemBodyBytes: 0 };
    const describe = async (body: Uint8Array | AsyncIterable<Uint8Array>) => {
      const outcome = await settle(() =>
        decodeBatchRequest({ contentType: 'application/json', body }, limits),
      );
      return outcome.ok ? 'ok' : (outcome.error as { errors: unknown }).errors;
    };
    const whole = await describe(bytes(text));
    expect(whole).toEqual([{ pointer: '/requests/0/body', detail: 'body is larger than 0 bytes' }]);
    for (const cut of [backslash, backslash + 1, backslash + 2])
      expect(await describe(chunked(bytes(text), [cut]))).toEqual(whole);
  });
});
