/**
 * `@batch/core`'s OpenAPI path items and the reading-list document, checked by a real
 * OpenAPI parser for every combination of options; and the parser does fail a broken one.
 */
import { type BatchFormat, batchPaths } from '@batch/core';
import { openApiDocument } from '@batch/reading-list';
import { compileErrors, validate } from '@readme/openapi-parser';
import { describe, expect, it } from 'vitest';

type Document = Parameters<typeof validate>[0];

async function errorsOf(document: unknown): Promise<string> {
  const result = await validate(structuredClone(document) as Document);
  return result.valid ? '' : compileErrors(result);
}

const info = { title: 'test', version: '1.0.0' };

describe('batchPaths in an OpenAPI 3.1 document', () => {
  const formats: Array<readonly BatchFormat[] | undefined> = [undefined, ['json'], ['multipart']];
  for (const format of formats) {
    for (const asyncBatches of [true, false]) {
      for (const idempotencyKeys of [true, false]) {
        it(`is valid: formats ${String(format)}, async ${asyncBatches}, keys ${idempotencyKeys}`, async () => {
          const paths = batchPaths('/v1/$batch', {
            formats: format,
            asyncBatches,
            idempotencyKeys,
            maxRequests: 20,
            security: [{ bearer: [] }],
          });
          const document = {
            openapi: '3.1.0',
            info,
            paths,
            components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
          };
          expect(await errorsOf(document)).toBe('');
        });
      }
    }
  }

  it('fails when broken (the parser is not a rubber stamp)', async () => {
    const paths = batchPaths('/batch') as Record<string, { post?: { responses: unknown } }>;
    const broken = structuredClone(paths);
    const post = broken['/batch']?.post as { responses: Record<string, unknown> };
    post.responses['200'] = { content: {} }; // no description
    expect(await errorsOf({ openapi: '3.1.0', info, paths: broken })).not.toBe('');
    // Two batch routes with one operationId are refused too.
    expect(
      await errorsOf({
        openapi: '3.1.0',
        info,
        paths: { ...batchPaths('/a/batch'), ...batchPaths('/b/batch') },
      }),
    ).toMatch(/operationId/i);
  });
});

describe("the reading-list API's document", () => {
  it('is valid with the batch route wherever it is mounted', async () => {
    for (const path of ['/batch', '/v1/batch', '/odata/$batch']) {
      const document = openApiDocument({ path, maxRequests: 10, formats: ['json', 'multipart'] });
      expect(await errorsOf(document)).toBe('');
      expect(Object.keys(document.paths)).toContain(path);
    }
  });
});
