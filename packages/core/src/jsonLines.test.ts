import { describe, expect, it } from 'vitest';
import {
  acceptsJsonLines,
  createBatchHandler,
  type Dispatcher,
  decodeBatchResponse,
  decodeJsonLines,
  encodeBatchRequest,
  encodeBatchResponse,
  type SubRequestInit,
} from './index.js';
import { bytes, collect, decoder } from './testing.js';

// SPEC §3 "Streaming in completion order (JSON Lines)".

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Answers `/d/<ms>` after `ms` milliseconds with JSON `{"ms": <ms>}` pretty-printed. */
const delayed: Dispatcher = async (request) => {
  const ms = Number(request.target.split('/').pop());
  if (ms > 0) await sleep(ms);
  return {
    status: ms === 0 ? 204 : 200,
    headers: [['Content-Type', 'application/json']],
    body: ms === 0 ? null : bytes(JSON.stringify({ ms, text: 'a\nb' }, null, 2)),
  };
};

async function post(
  requests: SubRequestInit[],
  accept: string,
  format: 'json' | 'multipart' = 'json',
) {
  const encoded = encodeBatchRequest(format, requests);
  return createBatchHandler({ dispatch: delayed }).handle({
    method: 'POST',
    path: '/batch',
    headers: [
      ['host', 'x'],
      ['content-type', encoded.contentType],
      ['accept', accept],
    ],
    body: encoded.body,
  });
}

describe('JSON Lines (SPEC §3)', () => {
  it('Accept: application/jsonl → one line per item in completion order, with index and id', async () => {
    const output = await post(
      [
        { target: '/d/80', id: 'slow' },
        { target: '/d/1', id: 'fast' },
        { target: '/d/30' },
        { target: '/d/0' },
      ],
      'application/jsonl',
    );
    expect(output.status).toBe(200);
    expect(output.headers).toContainEqual(['content-type', 'application/jsonl']);
    const text = decoder.decode(await collect(output.body));
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    const items = lines.map((line) => JSON.parse(line));
    expect(items.map((item) => item.index)).toEqual([3, 1, 2, 0]);
    expect(items[1]).toMatchObject({ index: 1, id: 'fast', status: 200, path: '/d/1' });
    expect(items[1].body).toEqual({ ms: 1, text: 'a\nb' });
    expect(items[3]).toMatchObject({ index: 0, id: 'slow', status: 200 });
  });

  it('writes each line the moment its item finishes: a slow item holds nothing back', async () => {
    // The slow item finishes only when the test lets it — after it has read the fast lines:
    // a build that held any line until the end would never give them (the wait times out).
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let slowDone = false;
    const dispatch: Dispatcher = async (request) => {
      if (request.target === '/slow') {
        await gate;
        slowDone = true;
      }
      return { status: 200, headers: [['Content-Type', 'text/plain']], body: bytes('ok') };
    };
    const encoded = encodeBatchRequest('json', [
      { target: '/slow' },
      { target: '/fast/1' },
      { target: '/fast/2' },
    ]);
    const output = await createBatchHandler({ dispatch }).handle({
      method: 'POST',
      path: '/batch',
      headers: [
        ['host', 'x'],
        ['content-type', encoded.contentType],
        ['accept', 'application/x-ndjson'],
      ],
      body: encoded.body,
    });
    const iterator = output.body[Symbol.asyncIterator]();
    /** What was read and not yet taken as a line. */
    let text = '';
    /** The indexes of the next `count` lines (a chunk may hold several), or 'held' after 5 s. */
    const nextLines = async (count: number): Promise<number[] | 'held'> => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<'held'>((resolve) => {
        timer = setTimeout(() => resolve('held'), 5000);
      });
      try {
        while (text.split('\n').length - 1 < count) {
          const next = await Promise.race([iterator.next(), timeout]);
          if (next === 'held') return 'held';
          if (next.done) break;
          text += decoder.decode(next.value);
        }
        const lines = text.split('\n');
        text = lines.slice(count).join('\n');
        return lines.slice(0, count).map((line) => JSON.parse(line).index);
      } finally {
        clearTimeout(timer);
      }
    };
    try {
      expect(await nextLines(2)).toEqual([1, 2]);
      expect(slowDone).toBe(false);
    } finally {
      release();
    }
    expect(await nextLines(1)).toEqual([0]);
    expect(slowDone).toBe(true);
    expect(text).toBe('');
    expect((await iterator.next()).done).toBe(true);
  });

  it('decodeBatchResponse gives JSON Lines back in request order; decodeJsonLines as they come', async () => {
    const output = await post(
      [{ target: '/d/40' }, { target: '/d/0' }, { target: '/d/10' }],
      'application/jsonl',
    );
    const wire = await collect(output.body);
    const ordered = await decodeBatchResponse({ contentType: 'application/jsonl', body: wire });
    expect(ordered.map((response) => response.index)).toEqual([0, 1, 2]);
    expect(ordered.map((response) => response.status)).toEqual([200, 204, 200]);
    expect(JSON.parse(decoder.decode(ordered[0]!.body))).toEqual({ ms: 40, text: 'a\nb' });
    // Split anywhere: lines are still found.
    async function* bytewise() {
      for (let i = 0; i < wire.length; i += 7) yield wire.subarray(i, i + 7);
    }
    const streamed = [];
    for await (const response of decodeJsonLines(bytewise())) streamed.push(response.index);
    expect(streamed).toEqual([1, 2, 0]);
  });

  it('a multipart batch is always in request order; plain JSON without the Accept', async () => {
    const multipart = await post(
      [{ target: '/d/30' }, { target: '/d/1' }],
      'application/jsonl',
      'multipart',
    );
    expect(multipart.headers[0]![1]).toMatch(/^multipart\/mixed/);
    const plain = await post([{ target: '/d/30' }, { target: '/d/1' }], 'application/json');
    expect(plain.headers).toContainEqual(['content-type', 'application/json']);
    const body = JSON.parse(decoder.decode(await collect(plain.body)));
    expect(body.responses.map((item: { path: string }) => item.path)).toEqual(['/d/30', '/d/1']);
    expect(body.responses[0].index).toBeUndefined();
  });

  it('endpoint errors stay problem+json', async () => {
    const handler = createBatchHandler({ dispatch: delayed });
    const output = await handler.handle({
      method: 'POST',
      path: '/batch',
      headers: [
        ['content-type', 'application/json'],
        ['accept', 'application/jsonl'],
      ],
      body: bytes('{"requests": 5}'),
    });
    expect(output.status).toBe(400);
    expect(output.headers).toContainEqual(['content-type', 'application/problem+json']);
  });

  it('acceptsJsonLines reads media ranges and q=0', () => {
    expect(acceptsJsonLines('application/jsonl')).toBe(true);
    expect(acceptsJsonLines('application/json, application/x-ndjson;q=0.5')).toBe(true);
    expect(acceptsJsonLines('application/jsonl;q=0')).toBe(false);
    expect(acceptsJsonLines('*/*')).toBe(false);
    expect(acceptsJsonLines(undefined)).toBe(false);
  });

  it('encodeBatchResponse jsonLines: a large pretty JSON body stays on one line', async () => {
    const big = JSON.stringify({ items: Array.from({ length: 3000 }, (_, i) => ({ i })) }, null, 2);
    const encoded = encodeBatchResponse(
      'json',
      [
        {
          status: 200,
          index: 0,
          headers: [['content-type', 'application/json']],
          body: bytes(big),
        },
      ],
      { jsonLines: true },
    );
    const text = decoder.decode(await collect(encoded.body));
    expect(text.indexOf('\n')).toBe(text.length - 1);
    expect(JSON.parse(text).body).toEqual(JSON.parse(big));
  });

  it('decodeJsonLines rejects a line that is not a sub-response', async () => {
    await expect(async () => {
      for await (const _ of decodeJsonLines(bytes('{"index":0,"status":200}\n[1,2]\n'))) {
        // drain
      }
    }).rejects.toThrow(/lines\/1/);
  });
});
