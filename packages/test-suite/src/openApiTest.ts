import { compileErrors, validate } from '@readme/openapi-parser';
import { describe, expect, it } from 'vitest';
import type { StartMounted } from './serviceInfoTest.js';

type Document = Parameters<typeof validate>[0];

interface PathItems {
  [path: string]: Record<string, unknown> | undefined;
}

/** Fetches `GET /openapi.json` and checks it with a real OpenAPI parser; returns its paths. */
async function fetchValidDocument(url: string): Promise<PathItems> {
  const response = await fetch(`${url}/openapi.json`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const document = (await response.json()) as { openapi: string; paths: PathItems };
  expect(document.openapi).toBe('3.1.0');
  // The parser dereferences the document it is given: give it a copy.
  const result = await validate(structuredClone(document) as Document);
  expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
  return document.paths;
}

/**
 * Registers the check that an example app serves its whole API's OpenAPI 3.1 document at
 * `GET /openapi.json` — the reading-list routes and the batch route where it is mounted,
 * described with the options it was mounted with — valid by `@readme/openapi-parser`.
 */
export function openApiTest(framework: string, start: StartMounted): void {
  describe(`${framework} example app: GET /openapi.json`, () => {
    it('is a valid OpenAPI 3.1 document of the whole API, the batch route at /batch', async () => {
      const api = await start({ batchPath: '/batch', batch: {} });
      try {
        const paths = await fetchValidDocument(api.url);
        expect(Object.keys(paths)).toEqual([
          '/articles',
          '/articles/{id}',
          '/batch',
          '/batch/jobs/{id}',
        ]);
        expect(Object.keys(paths['/articles'] ?? {})).toEqual(['get', 'post']);
        expect(Object.keys(paths['/articles/{id}'] ?? {})).toEqual([
          'parameters',
          'get',
          'put',
          'patch',
          'delete',
        ]);
        const batch = paths['/batch']?.post as {
          requestBody: { content: Record<string, unknown> };
        };
        expect(Object.keys(batch.requestBody.content)).toEqual([
          'application/json',
          'multipart/mixed',
        ]);
      } finally {
        await api.close();
      }
    });

    it('describes the batch route where and as the app mounted it', async () => {
      const api = await start({
        batchPath: '/v1/batch',
        batch: { maxRequests: 3, formats: ['json'] },
      });
      try {
        const paths = await fetchValidDocument(api.url);
        expect(paths['/batch']).toBeUndefined();
        expect(paths['/v1/batch/jobs/{id}']).toBeDefined();
        const post = paths['/v1/batch']?.post as {
          requestBody: {
            content: Record<string, { schema: { properties: { requests: { maxItems: number } } } }>;
          };
        };
        expect(Object.keys(post.requestBody.content)).toEqual(['application/json']);
        expect(
          post.requestBody.content['application/json']?.schema.properties.requests.maxItems,
        ).toBe(3);
      } finally {
        await api.close();
      }
    });
  });
}
