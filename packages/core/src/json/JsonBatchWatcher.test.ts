import { describe, expect, it } from 'vitest';
import { BatchError } from '../model/BatchError.js';
import { bytes, chunked, settle } from '../testing.js';
import { decodeBatchRequest } from '../wire/decodeBatchRequest.js';
import { JsonBatchWatcher } from './JsonBatchWatcher.js';

interface Verdict {
  /** `'ok'` when the watcher let every byte by, else the pointers and code of its error. */
  verdict: string;
  /** How many bytes it had been given when it threw (all of them when it did not). */
  read: number;
}

/**
 * What the watcher alone makes of `chunks` under `maxItemBodyBytes`: its own verdict, while
 * reading (no `JSON.parse`, no validation after it).
 */
function watch(chunks: Uint8Array[], maxItemBodyBytes: number): Verdict {
  const watcher = new JsonBatchWatcher({ maxRequests: 100, maxItemBodyBytes, maxJsonDepth: 256 });
  let read = 0;
  for (const chunk of chunks) {
    read += chunk.length;
    try {
      watcher.push(chunk);
    } catch (error) {
      if (!(error instanceof BatchError)) throw error;
      const pointers = error.errors.map((entry) => ('pointer' in entry ? entry.pointer : ''));
      return { verdict: `${pointers.join(',')} ${error.code}`, read };
    }
  }
  return { verdict: 'ok', read };
}

/** `data` cut at `cuts` (sorted, in range). */
function cut(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [0, ...cuts, data.length];
  return points.slice(1).map((end, i) => data.subarray(points[i], end));
}

describe('JsonBatchWatcher', () => {
  it('counts an escape cut by a chunk boundary as it counts it whole', async () => {
    // Escapes of every kind in the second item's body (\uXXXX too), then plain bytes.
    const text = JSON.stringify({
      requests: [
        { path: '/a', body: 'a', headers: { 'Content-Type': 'text/plain' } },
        { path: '/a', body: `\n\\"\u00e9x\u0001\n${'a'.repeat(40)}` },
      ],
    });
    const data = bytes(text);
    const escapes = [...text.matchAll(/\\/g)].map((match) => match.index);
    expect(escapes.length).toBeGreaterThanOrEqual(5);
    // The watcher's verdict on the whole text, for every limit up to past the body's size.
    const limits = Array.from({ length: 48 }, (_, limit) => limit);
    const whole = limits.map((limit) => watch([data], limit).verdict);
    // It does reject, and names the item whose body passed the limit (the second: the
    // first body's lower bound is within every limit here) — until the limit is past the
    // body's lower bound.
    expect(whole[0]).toBe('/requests/1/body item_body_too_large');
    expect(whole.at(-1)).toBe('ok');
    const firstOk = whole.indexOf('ok');
    expect(firstOk).toBeGreaterThan(1);
    expect(whole.slice(firstOk).every((verdict) => verdict === 'ok')).toBe(true);
    // Cut at each escape's backslash, just after it, and two after: the same verdict at
    // every limit (a backslash counted in one chunk and its character in the next must
    // not count the escape as 2 bytes, or as none).
    for (const backslash of escapes) {
      for (const at of [backslash, backslash + 1, backslash + 2]) {
        for (const [i, limit] of limits.entries())
          expect(watch(cut(data, [at]), limit).verdict, `cut at ${at}, limit ${limit}`).toBe(
            whole[i],
          );
      }
    }
    // Every byte its own chunk: the same verdicts, each given while reading — before the
    // end of the item whose body passed the limit (its `}` may be what tips the count).
    const bytewise = Array.from(data, (_, i) => data.subarray(i, i + 1));
    const endOfItem = bytes(text.slice(0, text.lastIndexOf('a"}') + 3)).length;
    for (const [i, limit] of limits.entries()) {
      const { verdict, read } = watch(bytewise, limit);
      expect(verdict, `bytewise, limit ${limit}`).toBe(whole[i]);
      if (verdict !== 'ok') expect(read).toBeLessThanOrEqual(endOfItem);
    }
  });

  it('decodeBatchRequest gives the same answer whatever the chunks', async () => {
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
    for (const at of [backslash, backslash + 1, backslash + 2])
      expect(await describe(chunked(bytes(text), [at]))).toEqual(whole);
  });
});
