import { type BatchOptions, encodeBatchRequest } from '@batch/core';
import { describe, expect, it } from 'vitest';
import type { Listening } from './listen.js';

/** Starts an example app with its batch route at `batchPath`, mounted with `batch`. */
export type StartMounted = (mount: {
  batchPath: string;
  batch: BatchOptions;
}) => Promise<Listening>;

/**
 * Registers the check that an example app's `GET /` describes the batch route it actually
 * mounted — `@batch/client` reads `maxRequests` from there, and a client picks its path and
 * format from it — and that the route behaves as described.
 */
export function serviceInfoTest(framework: string, start: StartMounted): void {
  describe(`${framework} example app: GET /`, () => {
    it('describes the batch route the app mounted: its path, maxRequests and formats', async () => {
      const api = await start({
        batchPath: '/v1/batch',
        batch: { maxRequests: 3, formats: ['json'] },
      });
      try {
        const response = await fetch(`${api.url}/`);
        expect(response.status).toBe(200);
        const info = (await response.json()) as { batch: unknown };
        expect(info.batch).toEqual({ path: '/v1/batch', maxRequests: 3, formats: ['json'] });
        // And the route is what it says: there, at most 3 items, JSON only.
        const post = (format: 'json' | 'multipart', items: number, path = '/v1/batch') => {
          const encoded = encodeBatchRequest(
            format,
            Array.from({ length: items }, () => ({ target: '/v1/articles' })),
          );
          return fetch(api.url + path, {
            method: 'POST',
            headers: { 'content-type': encoded.contentType },
            body: encoded.body as Uint8Array<ArrayBuffer>,
          }).then(async (answer) => {
            await answer.arrayBuffer();
            return answer.status;
          });
        };
        expect(await post('json', 3)).toBe(200);
        expect(await post('json', 4)).toBe(400);
        expect(await post('multipart', 1)).toBe(415);
        expect(await post('json', 1, '/batch')).not.toBe(200);
      } finally {
        await api.close();
      }
    });
  });
}
