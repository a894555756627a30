import { describe, expect, it } from 'vitest';
import { encodeParsedJsonBatch } from './json/encodeParsedJsonBatch.js';
import { BatchError } from './model/BatchError.js';
import { decodeBatchRequest } from './wire/decodeBatchRequest.js';

const encoder = new TextEncoder();
const decodeJson = (text: string, limits = {}) =>
  decodeBatchRequest({ contentType: 'application/json', body: encoder.encode(text) }, limits);
const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

async function rejection(promise: Promise<unknown>): Promise<BatchError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(BatchError);
  return error as BatchError;
}

describe('defaults.body is shared, and the merged batch is bounded (SPEC §4 "Limits")', () => {
  it('gives every item that takes defaults.body whole the same bytes, encoded once', async () => {
    const body = { big: 'x'.repeat(10_000) };
    const { items } = await decodeJson(
      JSON.stringify({
        defaults: { method: 'POST', path: '/a', body },
        requests: Array.from({ length: 100 }, () => ({})),
      }),
    );
    expect(items).toHaveLength(100);
    const first = items[0]!.body;
    expect(JSON.parse(new TextDecoder().decode(first))).toEqual(body);
    for (const item of items) expect(item.body).toBe(first);
  });

  it('encodes it apart for items of another Content-Type, and merges objects key by key', async () => {
    const { items } = await decodeJson(
      JSON.stringify({
        defaults: { method: 'POST', path: '/a', body: { a: 1, constructor: { polluted: true } } },
        requests: [
          {},
          { headers: { 'Content-Type': 'application/merge-patch+json' } },
          { body: { b: 2 } },
        ],
      }),
    );
    const text = items.map((item) => new TextDecoder().decode(item.body));
    expect(text).toEqual(['{"a":1}', '{"a":1}', '{"b":2,"a":1}']);
    expect(items[1]!.body).not.toBe(items[0]!.body);
  });

  it('answers 413 naming the first item past maxMergedBytes', async () => {
    const error = await rejection(
      decodeJson(
        JSON.stringify({
          defaults: { method: 'POST', path: '/a', body: 'y'.repeat(1000) },
          requests: Array.from({ length: 10 }, () => ({})),
        }),
        { maxMergedBytes: 4500 },
      ),
    );
    expect(error.status).toBe(413);
    expect(error.code).toBe('merged_batch_too_large');
    expect(error.errors).toEqual([{ pointer: '/requests/4', detail: expect.any(String) }]);
  });
});

describe('nesting depth (SPEC §4: nothing recurses on a depth the client chooses)', () => {
  it('refuses a body nested deeper than maxJsonDepth while reading, naming the item', async () => {
    const error = await rejection(
      decodeJson(`{"requests":[{"path":"/a"},{"path":"/b","body":${nested(10_000)}}]}`),
    );
    expect(error.status).toBe(400);
    expect(error.errors).toEqual([
      { pointer: '/requests/1/body', detail: expect.stringContaining('256') },
    ]);
  });

  it('reads a body nested exactly maxJsonDepth deep, with or without defaults', async () => {
    for (const defaults of ['', '"defaults":{"body":{"d":1}},']) {
      const { items } = await decodeJson(
        `{${defaults}"requests":[{"path":"/b","body":{"a":${nested(9)}}}]}`,
        { maxJsonDepth: 10 },
      );
      expect(new TextDecoder().decode(items[0]!.body)).toContain(nested(9));
    }
    const error = await rejection(
      decodeJson(`{"requests":[{"path":"/b","body":{"a":${nested(10)}}}]}`, { maxJsonDepth: 10 }),
    );
    expect(error.errors[0]).toMatchObject({ pointer: '/requests/0/body' });
  });

  it('encodeParsedJsonBatch: the same bound on a batch a body parser already parsed, without recursion', () => {
    let deep: unknown = [];
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const document = { requests: [{ path: '/a' }, { path: '/b', body: deep }] };
    let error: unknown;
    try {
      encodeParsedJsonBatch(document);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(BatchError);
    expect((error as BatchError).errors).toEqual([
      { pointer: '/requests/1/body', detail: expect.stringContaining('256') },
    ]);
    const shallow = { requests: [{ path: '/a', body: { b: [1, { c: 2 }] } }] };
    expect(new TextDecoder().decode(encodeParsedJsonBatch(shallow))).toBe(JSON.stringify(shallow));
  });
});
