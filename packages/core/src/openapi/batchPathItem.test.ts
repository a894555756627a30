import { describe, expect, it } from 'vitest';
import {
  batchMonitorPath,
  batchPathItem,
  batchPaths,
  jsonBatchRequestSchema,
  PROBLEM_CONTENT_TYPE,
} from '../index.js';

interface Operation {
  operationId: string;
  parameters: Array<{ name: string; in: string }>;
  requestBody: { required: boolean; content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<
    string,
    { content?: Record<string, unknown>; headers?: Record<string, unknown>; description: string }
  >;
}

const postOf = (item: Record<string, unknown>) => item.post as Operation;

describe('batchPathItem', () => {
  it('describes POST with both formats, every answer and both request headers by default', () => {
    const item = batchPathItem('/batch');
    expect(Object.keys(item)).toEqual(['post']);
    const post = postOf(item);
    expect(Object.keys(post.requestBody.content)).toEqual(['application/json', 'multipart/mixed']);
    expect(post.requestBody.content['multipart/mixed']?.schema).toMatchObject({
      type: 'string',
      format: 'binary',
    });
    expect(Object.keys(post.responses).sort()).toEqual(
      ['200', '202', '400', '405', '409', '413', '415', '422', '431', '503'].sort(),
    );
    expect(Object.keys(post.responses['200']?.content ?? {})).toEqual([
      'application/json',
      'application/jsonl',
      'multipart/mixed',
    ]);
    for (const status of ['400', '405', '409', '413', '415', '422', '431', '503']) {
      expect(Object.keys(post.responses[status]?.content ?? {}), status).toEqual([
        PROBLEM_CONTENT_TYPE,
      ]);
    }
    expect(post.responses['202']?.headers).toHaveProperty('Location');
    expect(post.responses['405']?.headers).toHaveProperty('Allow');
    expect(post.parameters.map((parameter) => [parameter.name, parameter.in])).toEqual([
      ['Idempotency-Key', 'header'],
      ['Prefer', 'header'],
    ]);
    const schema = post.requestBody.content['application/json']?.schema as {
      properties: { requests: { maxItems: number } };
    };
    expect(schema.properties.requests.maxItems).toBe(100);
  });

  it('follows the route options: maxRequests, formats, no async, no idempotency', () => {
    const post = postOf(
      batchPathItem('/v1/batch', {
        maxRequests: 3,
        formats: ['json'],
        asyncBatches: false,
        idempotencyKeys: false,
        operationId: 'runBatch',
        security: [{ bearer: [] }],
      }),
    );
    expect(post.operationId).toBe('runBatch');
    expect(Object.keys(post.requestBody.content)).toEqual(['application/json']);
    expect(Object.keys(post.responses['200']?.content ?? {})).toEqual([
      'application/json',
      'application/jsonl',
    ]);
    expect(Object.keys(post.responses).sort()).toEqual(
      ['200', '400', '405', '413', '415', '431'].sort(),
    );
    expect(post.parameters.map((parameter) => parameter.name)).toEqual(['Prefer']);
    expect(post.responses['415']?.description).toContain('accepted: application/json');
    expect(post.responses['415']?.description).not.toContain('multipart');
    const schema = post.requestBody.content['application/json']?.schema as {
      properties: { requests: { maxItems: number } };
    };
    expect(schema.properties.requests.maxItems).toBe(3);

    const multipartOnly = postOf(batchPathItem('/batch', { formats: ['multipart'] }));
    expect(Object.keys(multipartOnly.requestBody.content)).toEqual(['multipart/mixed']);
    expect(Object.keys(multipartOnly.responses['200']?.content ?? {})).toEqual(['multipart/mixed']);
  });

  it('is a fresh object every time, sharing nothing with the frozen schemas', () => {
    const first = postOf(batchPathItem('/batch'));
    const schema = first.requestBody.content['application/json']?.schema as Record<string, unknown>;
    expect(Object.isFrozen(schema)).toBe(false);
    schema.title = 'changed';
    expect(jsonBatchRequestSchema.title).toBe('JSON batch request');
    expect(
      postOf(batchPathItem('/batch')).requestBody.content['application/json']?.schema.title,
    ).toBe('JSON batch request');
  });
});

describe('batchPaths', () => {
  it('holds the batch route and its monitor (SPEC §9), marked as such', () => {
    const paths = batchPaths('/v1/batch');
    expect(Object.keys(paths)).toEqual(['/v1/batch', '/v1/batch/jobs/{id}']);
    expect(batchMonitorPath('/batch/')).toBe('/batch/jobs/{id}');
    const monitor = paths['/v1/batch/jobs/{id}'] as Record<string, unknown> & {
      get: { operationId: string; responses: Record<string, unknown> };
      delete: { operationId: string; responses: Record<string, unknown> };
    };
    expect(monitor['x-batch-spec']).toBe('SPEC §9');
    expect(monitor.get.operationId).toBe('batchJobStatus');
    expect(Object.keys(monitor.get.responses).sort()).toEqual(['200', '202', '404']);
    expect(monitor.delete.operationId).toBe('batchJobCancel');
    expect(Object.keys(monitor.delete.responses).sort()).toEqual(['204', '404']);
  });

  it('leaves the monitor out with asyncBatches: false', () => {
    expect(Object.keys(batchPaths('/batch', { asyncBatches: false }))).toEqual(['/batch']);
  });
});
