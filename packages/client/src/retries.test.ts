import { createBatchHandler, type Dispatcher, type SubResponse } from '@batch/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BatchFetchError, createBatchFetch } from './index.js';
import { backoffDelay, parseRetryAfter } from './retryPolicy.js';

// Safe retries (SPEC §6, §8) against a fake fetch: a batch engine from @batch/core behind a
// layer that records every attempt and replays keyed batches (what a server with recorded
// batches does), and a script that loses answers on the attempts a case chooses.

const ENDPOINT = 'http://api.test/batch';
const encoder = new TextEncoder();

interface Attempt {
  key: string | null;
  prefer: string | null;
  body: string;
  items: string[];
}

/** What the script does with one attempt: answer it, or lose it in some way. */
type Step =
  | 'answer'
  | 'drop-before' // a network error before the server saw it
  | 'drop-after' // the server ran it, the answer never came back
  | 'cut-lines' // the server ran it, the answer stopped after its first line
  | { status: number; retryAfter?: string };

function fakeServer(
  steps: Step[] = [],
  item?: (request: { method: string; target: string }) => SubResponse | undefined,
) {
  const attempts: Attempt[] = [];
  const dispatched: string[] = [];
  const replays = new Map<string, { contentType: string; body: Uint8Array }>();
  const dispatch: Dispatcher = async (request) => {
    dispatched.push(`${request.method} ${request.target}`);
    return (
      item?.(request) ?? {
        status: request.method === 'GET' ? 200 : 201,
        headers: [['content-type', 'text/plain']],
        body: encoder.encode(`${request.method} ${request.target}`),
      }
    );
  };
  const handler = createBatchHandler({ dispatch });
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const body = await request.text();
    const key = request.headers.get('idempotency-key');
    const parsed = JSON.parse(body) as { requests: Array<{ method: string; path: string }> };
    attempts.push({
      key,
      prefer: request.headers.get('prefer'),
      body,
      items: parsed.requests.map((r) => `${r.method} ${r.path}`),
    });
    const step = steps[attempts.length - 1] ?? 'answer';
    if (step === 'drop-before') throw new TypeError('fetch failed');
    if (typeof step === 'object') {
      return new Response('lost', {
        status: step.status,
        headers: step.retryAfter === undefined ? {} : { 'retry-after': step.retryAfter },
      });
    }
    let recorded = key === null ? undefined : replays.get(key);
    const replayed = recorded !== undefined;
    if (recorded === undefined) {
      const answer = await handler.fetch(
        new Request(request.url, { method: 'POST', headers: request.headers, body }),
      );
      recorded = {
        contentType: answer.headers.get('content-type') ?? '',
        body: new Uint8Array(await answer.arrayBuffer()),
      };
      if (key !== null) replays.set(key, recorded);
    }
    if (step === 'drop-after') throw new TypeError('fetch failed: socket hang up');
    const headers = {
      'content-type': recorded.contentType,
      ...(replayed ? { 'idempotent-replayed': 'true' } : {}),
    };
    if (step === 'cut-lines') {
      const bytes = recorded.body;
      const firstLine = bytes.subarray(0, bytes.indexOf(0x0a) + 1);
      const stream = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(firstLine);
          controller.error(new TypeError('terminated'));
        },
      });
      return new Response(stream, { headers });
    }
    return new Response(recorded.body as Uint8Array<ArrayBuffer>, { headers });
  };
  return { fetch, attempts, dispatched };
}

const options = { endpoint: ENDPOINT, maxBatchSize: 50, retryBaseMs: 1, retryMaxMs: 1_000 };
const text = async (responses: Response[]) =>
  Promise.all(responses.map(async (response) => `${response.status} ${await response.text()}`));

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('Idempotency-Key', () => {
  it('a batch holding a write carries a fresh key, a structured-field string of 1–255 characters', async () => {
    const server = fakeServer();
    const api = createBatchFetch({ ...options, fetch: server.fetch });
    await api.batch([['http://api.test/a'], ['http://api.test/b', { method: 'POST', body: 'x' }]]);
    await api.batch([['http://api.test/c', { method: 'DELETE' }]]);
    await api.batch([['http://api.test/d'], ['http://api.test/e', { method: 'HEAD' }]]);
    const [first, second, reads] = server.attempts.map((attempt) => attempt.key);
    expect(first).toMatch(
      /^"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"$/,
    );
    expect(second).toMatch(/^"[0-9a-f-]{36}"$/);
    expect(second).not.toBe(first);
    expect(reads).toBeNull();
  });

  it('idempotencyKeys: false sends none, and never resends a batch of writes', async () => {
    const server = fakeServer(['drop-after']);
    const api = createBatchFetch({ ...options, fetch: server.fetch, idempotencyKeys: false });
    const write = api('http://api.test/a', { method: 'POST', body: 'x' });
    await expect(write).rejects.toMatchObject({ reason: 'network' });
    expect(server.attempts).toHaveLength(1);
    expect(server.attempts[0]?.key).toBeNull();
  });

  it('refuses an Idempotency-Key among the batch headers: each batch needs its own', () => {
    expect(() =>
      createBatchFetch({ endpoint: ENDPOINT, headers: { 'Idempotency-Key': '"k"' } }),
    ).toThrow(TypeError);
    expect(() => createBatchFetch({ endpoint: ENDPOINT, retries: -1 })).toThrow(TypeError);
  });
});

describe('a batch whose answer was lost', () => {
  it('is sent again with the same key and body; the server replays; every call resolves once', async () => {
    const server = fakeServer(['drop-after']);
    const api = createBatchFetch({ ...options, fetch: server.fetch });
    const responses = await Promise.all([
      api('http://api.test/articles', { method: 'POST', body: '{"t":1}' }),
      api('http://api.test/articles/1'),
      api('http://api.test/articles/2', { method: 'DELETE' }),
    ]);
    expect(await text(responses)).toEqual([
      '201 POST /articles',
      '200 GET /articles/1',
      '201 DELETE /articles/2',
    ]);
    expect(server.attempts).toHaveLength(2);
    expect(server.attempts[1]?.key).toBe(server.attempts[0]?.key);
    expect(server.attempts[1]?.body).toBe(server.attempts[0]?.body);
    // The items ran once: the second attempt was a replay.
    expect(server.dispatched).toEqual(['POST /articles', 'GET /articles/1', 'DELETE /articles/2']);
  });

  it.each([
    ['a network error', 'drop-before'],
    ['409 (still running)', { status: 409, retryAfter: '0' }],
    ['502', { status: 502 }],
    ['503', { status: 503 }],
    ['504', { status: 504 }],
  ] as const)('is sent again after %s', async (_name, step) => {
    const server = fakeServer([step]);
    const api = createBatchFetch({ ...options, fetch: server.fetch });
    const response = await api('http://api.test/a', { method: 'PUT', body: 'x' });
    expect(await text([response])).toEqual(['201 PUT /a']);
    expect(server.attempts.map((attempt) => attempt.key)).toEqual([
      server.attempts[0]?.key,
      server.attempts[0]?.key,
    ]);
  });

  it('is not sent again after another status (400, 500)', async () => {
    for (const status of [400, 500]) {
      const server = fakeServer([{ status }]);
      const api = createBatchFetch({ ...options, fetch: server.fetch });
      await expect(api('http://api.test/a', { method: 'POST' })).rejects.toMatchObject({
        reason: 'status',
        status,
      });
      expect(server.attempts).toHaveLength(1);
    }
  });

  it('a batch of reads is sent again without a key', async () => {
    const server = fakeServer(['drop-before', 'drop-after']);
    const api = createBatchFetch({ ...options, fetch: server.fetch });
    expect(await text([await api('http://api.test/a')])).toEqual(['200 GET /a']);
    expect(server.attempts.map((attempt) => attempt.key)).toEqual([null, null, null]);
  });

  it('is sent at most 1 + retries times, then every call rejects once', async () => {
    const server = fakeServer(Array(10).fill({ status: 503 }));
    const api = createBatchFetch({ ...options, fetch: server.fetch, retries: 2 });
    const calls = [api('http://api.test/a', { method: 'POST' }), api('http://api.test/b')];
    for (const call of calls) await expect(call).rejects.toMatchObject({ status: 503 });
    expect(server.attempts).toHaveLength(3);
    const never = createBatchFetch({
      ...options,
      fetch: fakeServer([{ status: 503 }]).fetch,
      retries: 0,
    });
    await expect(never('http://api.test/a')).rejects.toBeInstanceOf(BatchFetchError);
  });

  it('JSON Lines cut off mid-answer: calls answered keep their answer, the resend answers the rest', async () => {
    const server = fakeServer(['cut-lines']);
    const api = createBatchFetch({ ...options, fetch: server.fetch });
    const first = api('http://api.test/a', { method: 'POST' });
    const second = api('http://api.test/b', { method: 'POST' });
    const firstResponse = await first;
    expect(await text([firstResponse, await second])).toEqual(['201 POST /a', '201 POST /b']);
    expect(server.attempts).toHaveLength(2);
    expect(server.dispatched).toEqual(['POST /a', 'POST /b']);
  });

  it('timeoutMs: an attempt that takes too long counts as lost', async () => {
    const server = fakeServer();
    let hung = 0;
    const api = createBatchFetch({
      ...options,
      timeoutMs: 50,
      fetch: async (input, init) => {
        if (hung++ > 0) return server.fetch(input, init);
        // The first attempt never answers: only its signal ends it.
        return new Promise((_, reject) =>
          init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
        );
      },
    });
    expect(await text([await api('http://api.test/a', { method: 'PATCH' })])).toEqual([
      '201 PATCH /a',
    ]);
    expect(hung).toBe(2);
    expect(server.attempts).toHaveLength(1);
  });
});

describe('backoff', () => {
  it('waits what Retry-After says (seconds, or an HTTP-date) before the resend, no less', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    vi.setSystemTime(Date.parse('2026-12-06T12:00:00Z')); // a whole second: HTTP-dates have no less
    const later = new Date(Date.now() + 3_000).toUTCString();
    const server = fakeServer([
      { status: 409, retryAfter: '2' },
      { status: 503, retryAfter: later },
    ]);
    const api = createBatchFetch({ ...options, fetch: server.fetch });
    const call = api('http://api.test/a', { method: 'POST' });
    await vi.advanceTimersByTimeAsync(1);
    expect(server.attempts).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1_990);
    expect(server.attempts).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(20);
    expect(server.attempts).toHaveLength(2);
    // The date is 3 s from the start: the third attempt waits for it.
    await vi.advanceTimersByTimeAsync(880);
    expect(server.attempts).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(200);
    expect(server.attempts).toHaveLength(3);
    expect((await call).status).toBe(201);
  });

  it('grows exponentially with full jitter, capped at retryMaxMs', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.999);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const server = fakeServer(['drop-before', 'drop-before', 'drop-before']);
    const api = createBatchFetch({
      ...options,
      fetch: server.fetch,
      retryBaseMs: 100,
      retryMaxMs: 300,
    });
    const call = api('http://api.test/a', { method: 'POST' });
    const counts: number[] = [];
    // Waits of 99, 199, 299 (not 399: the cap) ms: attempts at about 0, 99, 298, 597 ms.
    for (const step of [50, 70, 130, 70, 230, 70]) {
      await vi.advanceTimersByTimeAsync(step);
      counts.push(server.attempts.length);
    }
    expect(counts).toEqual([1, 2, 2, 3, 3, 4]);
    expect((await call).status).toBe(201);
  });

  it('parseRetryAfter reads delay-seconds and HTTP-dates, and nothing else', () => {
    const now = Date.parse('Sun, 06 Dec 2026 12:00:00 GMT');
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(' 120 ', now)).toBe(120_000);
    expect(parseRetryAfter('Sun, 06 Dec 2026 12:00:05 GMT', now)).toBe(5_000);
    expect(parseRetryAfter('Sun, 06 Dec 2026 11:00:00 GMT', now)).toBe(0);
    for (const bad of ['-1', '1.5', '', 'soon', null, undefined])
      expect(parseRetryAfter(bad, now)).toBeUndefined();
    expect(backoffDelay(3, 10, 1_000, undefined, () => 0.5)).toBe(40);
    expect(backoffDelay(3, 10, 1_000, 500, () => 0.5)).toBe(500);
  });
});

describe('items answered 429 or 503 with Retry-After', () => {
  it('are re-batched on their own when safe to repeat; the others get their answer', async () => {
    let busy = 2; // the first two answers of /limited are 429
    const server = fakeServer([], (request) => {
      if (request.target === '/limited' || request.target === '/keyed') {
        if (busy-- > 0)
          return {
            status: request.target === '/keyed' ? 503 : 429,
            headers: [['retry-after', '0']],
            body: null,
          };
      }
      if (request.target === '/unsafe')
        return { status: 429, headers: [['retry-after', '0']], body: null };
      return undefined;
    });
    const api = createBatchFetch({ ...options, fetch: server.fetch });
    const responses = await Promise.all([
      api('http://api.test/limited'),
      api('http://api.test/keyed', { method: 'POST', headers: { 'idempotency-key': 'item-1' } }),
      api('http://api.test/unsafe', { method: 'POST' }),
      api('http://api.test/fine'),
    ]);
    expect(responses.map((response) => response.status)).toEqual([200, 201, 429, 200]);
    expect(server.attempts.map((attempt) => attempt.items)).toEqual([
      ['GET /limited', 'POST /keyed', 'POST /unsafe', 'GET /fine'],
      ['GET /limited', 'POST /keyed'],
    ]);
    // The re-batch holds a write: it has a key of its own.
    expect(server.attempts[1]?.key).toMatch(/^"/);
    expect(server.attempts[1]?.key).not.toBe(server.attempts[0]?.key);
  });

  it('at most `retries` times, and not when Retry-After is longer than retryMaxMs', async () => {
    const server = fakeServer([], (request) => ({
      status: 429,
      headers: [['retry-after', request.target === '/long' ? '5' : '0']],
      body: encoder.encode(request.target),
    }));
    const api = createBatchFetch({
      ...options,
      fetch: server.fetch,
      retries: 2,
      retryMaxMs: 4_000,
    });
    const [always, long] = await Promise.all([
      api('http://api.test/always'),
      api('http://api.test/long'),
    ]);
    expect(await text([always!, long!])).toEqual(['429 /always', '429 /long']);
    expect(server.attempts.map((attempt) => attempt.items)).toEqual([
      ['GET /always', 'GET /long'],
      ['GET /always'],
      ['GET /always'],
    ]);
  });
});
