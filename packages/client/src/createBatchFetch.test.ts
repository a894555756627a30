import { type BatchOptions, createBatchHandler, type Dispatcher } from '@batch/core';
import { describe, expect, it } from 'vitest';
import { BatchFetchError, createBatchFetch } from './index.js';

const ENDPOINT = 'http://api.test/batch';
const encoder = new TextEncoder();

/** An in-memory batch server behind a `fetch` stub that records every request it gets. */
function fakeServer(options: BatchOptions & { dispatch?: Dispatcher } = {}) {
  const seen: { method: string; url: string }[] = [];
  const dispatched: string[] = [];
  const dispatch: Dispatcher =
    options.dispatch ??
    (async (request) => {
      dispatched.push(`${request.method} ${request.target}`);
      const auth =
        request.headers.find(([name]) => name.toLowerCase() === 'authorization')?.[1] ?? null;
      if (request.target.startsWith('/cookies')) {
        return {
          status: 200,
          headers: [
            ['set-cookie', 'a=1'],
            ['set-cookie', 'b=2'],
            ['content-type', 'text/plain'],
          ],
          body: encoder.encode('ok'),
        };
      }
      if (request.target.startsWith('/empty')) return { status: 204, headers: [], body: null };
      const text = new TextDecoder().decode(request.body);
      return {
        status: request.method === 'POST' ? 201 : 200,
        statusText: request.method === 'POST' ? 'Created' : 'OK',
        headers: [
          ['content-type', 'application/json'],
          ['x-target', request.target],
        ],
        body: encoder.encode(
          JSON.stringify({
            method: request.method,
            target: request.target,
            auth,
            body: text || null,
          }),
        ),
      };
    });
  const handler = createBatchHandler({ ...options, dispatch });
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    seen.push({ method: request.method, url: request.url });
    const url = new URL(request.url);
    if (url.pathname === '/' && request.method === 'GET') {
      return Response.json({
        name: 'fake',
        batch: { path: '/batch', maxRequests: options.maxRequests ?? 100 },
      });
    }
    if (url.pathname === '/batch') return handler.fetch(request);
    return new Response(`direct ${request.method} ${url.pathname}`, { status: 200 });
  };
  return {
    fetch,
    seen,
    dispatched,
    batches: () => seen.filter((entry) => entry.url === ENDPOINT).length,
  };
}

describe.each(['json', 'multipart'] as const)('createBatchFetch (%s)', (format) => {
  it('batch(): the answers in order, with the positions of those that failed', async () => {
    const server = fakeServer({
      dispatch: async (request) => ({
        status: Number(request.target.slice(1)),
        headers: [['content-type', 'text/plain']],
        body: encoder.encode('x'),
      }),
    });
    const fetch = createBatchFetch({
      endpoint: ENDPOINT,
      format,
      fetch: server.fetch,
      maxBatchSize: 2,
    });
    const answers = await fetch.batch(
      ['/200', '/404', '/201', '/424', '/500'].map((path) => [path]),
    );
    expect(answers.map((answer) => answer.status)).toEqual([200, 404, 201, 424, 500]);
    expect(answers.failed).toEqual([1, 3, 4]);
    expect((await fetch.batch([['/204']])).failed).toEqual([]);
  });

  it('minimal: asks Prefer: return=minimal; a call below 400 resolves without body, a failed one whole', async () => {
    const prefers: Array<string | null> = [];
    const server = fakeServer({
      dispatch: async (request) => ({
        status: request.target === '/bad' ? 400 : 201,
        headers: [
          ['content-type', 'text/plain'],
          ['location', '/articles/1'],
        ],
        body: encoder.encode('body'),
      }),
    });
    const send = async (input: RequestInfo | URL, init?: RequestInit) => {
      prefers.push(new Headers(init?.headers).get('prefer'));
      return server.fetch(input, init);
    };
    const fetch = createBatchFetch({
      endpoint: ENDPOINT,
      format,
      fetch: send,
      maxBatchSize: 10,
      minimal: true,
    });
    const [created, bad] = await fetch.batch([['/new', { method: 'POST' }], ['/bad']]);
    expect(prefers).toEqual(['return=minimal']);
    expect(created!.status).toBe(201);
    expect(created!.headers.get('location')).toBe('/articles/1');
    expect(await created!.text()).toBe('');
    expect(await bad!.text()).toBe('body');
    const plain = createBatchFetch({ endpoint: ENDPOINT, format, fetch: send, maxBatchSize: 10 });
    expect(await (await plain('/x')).text()).toBe('body');
    expect(prefers[1]).toBeNull();
  });

  it('sends calls made in the same tick as one batch, each answered with a real Response', async () => {
    const server = fakeServer();
    const fetch = createBatchFetch({
      endpoint: ENDPOINT,
      format,
      fetch: server.fetch,
      maxBatchSize: 50,
      headers: { authorization: 'Bearer alice' },
    });
    const [a, b, c] = await Promise.all([
      fetch('http://api.test/articles/1'),
      fetch('/articles', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"title":"MoFo"}',
      }),
      fetch(new Request('http://api.test/articles?x=1', { headers: { 'x-custom': '1' } })),
    ]);
    expect(server.batches()).toBe(1);
    expect(a).toBeInstanceOf(Response);
    expect(a!.status).toBe(200);
    expect(await a!.json()).toEqual({
      method: 'GET',
      target: '/articles/1',
      auth: 'Bearer alice',
      body: null,
    });
    expect(b!.status).toBe(201);
    expect(b!.statusText).toBe('Created');
    expect(await b!.json()).toMatchObject({ method: 'POST', body: '{"title":"MoFo"}' });
    expect(c!.headers.get('x-target')).toBe('/articles?x=1');
    expect(c!.url).toBe('http://api.test/articles?x=1');
  });

  it('keeps repeated headers, null-body statuses and text bodies', async () => {
    const server = fakeServer();
    const fetch = createBatchFetch({
      endpoint: ENDPOINT,
      format,
      fetch: server.fetch,
      maxBatchSize: 50,
    });
    const [cookies, empty] = await Promise.all([
      fetch('http://api.test/cookies'),
      fetch('http://api.test/empty'),
    ]);
    expect(cookies!.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await cookies!.text()).toBe('ok');
    expect(empty!.status).toBe(204);
    expect(empty!.body).toBeNull();
  });

  it('splits more calls than maxBatchSize into several batches, answers in order', async () => {
    const server = fakeServer();
    const fetch = createBatchFetch({
      endpoint: ENDPOINT,
      format,
      fetch: server.fetch,
      maxBatchSize: 4,
    });
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => fetch(`http://api.test/items/${i}`)),
    );
    expect(server.batches()).toBe(3);
    const targets = await Promise.all(
      responses.map(async (response) => ((await response.json()) as { target: string }).target),
    );
    expect(targets).toEqual(Array.from({ length: 10 }, (_, i) => `/items/${i}`));
  });
});

describe('createBatchFetch', () => {
  it('reads the batch size limit from the service info when maxBatchSize is not given', async () => {
    const server = fakeServer({ maxRequests: 3 });
    const fetch = createBatchFetch({ endpoint: ENDPOINT, fetch: server.fetch });
    await Promise.all(Array.from({ length: 7 }, (_, i) => fetch(`http://api.test/items/${i}`)));
    expect(server.seen.filter((entry) => entry.url === 'http://api.test/').length).toBe(1);
    expect(server.batches()).toBe(3);
  });

  it('sends calls to another origin, or to the batch route, straight to fetch', async () => {
    const server = fakeServer();
    const fetch = createBatchFetch({ endpoint: ENDPOINT, fetch: server.fetch, maxBatchSize: 10 });
    const other = await fetch('http://elsewhere.test/x');
    expect(await other.text()).toBe('direct GET /x');
    expect(server.batches()).toBe(0);
    // A batch the caller made itself, posted to the batch route: sent as it is, not wrapped
    // in another batch (the server would refuse a sub-request to its own route).
    const own = await fetch(ENDPOINT, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requests: [{ path: '/mine' }] }),
    });
    expect(own.status).toBe(200);
    expect(await own.json()).toMatchObject({
      responses: [{ status: 200, path: '/mine', body: { method: 'GET', target: '/mine' } }],
    });
    expect(server.seen).toEqual([
      { method: 'GET', url: 'http://elsewhere.test/x' },
      { method: 'POST', url: ENDPOINT },
    ]);
    expect(server.dispatched).toEqual(['GET /mine']);
  });

  it('gathers calls within windowMs into one batch', async () => {
    const server = fakeServer();
    const fetch = createBatchFetch({
      endpoint: ENDPOINT,
      fetch: server.fetch,
      maxBatchSize: 10,
      windowMs: 300, // the second call comes 10 ms in: a wide margin on a busy machine
    });
    const first = fetch('http://api.test/a');
    await new Promise((resolve) => setTimeout(resolve, 10));
    const second = fetch('http://api.test/b');
    await Promise.all([first, second]);
    expect(server.batches()).toBe(1);
  });

  it('an aborted call leaves its pending batch, and rejects with its reason', async () => {
    const server = fakeServer();
    const fetch = createBatchFetch({ endpoint: ENDPOINT, fetch: server.fetch, maxBatchSize: 10 });
    const controller = new AbortController();
    const aborted = fetch('http://api.test/gone', { signal: controller.signal });
    const kept = fetch('http://api.test/kept');
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    expect((await kept).status).toBe(200);
    expect(server.dispatched).toEqual(['GET /kept']);
  });

  it('an abort after the batch went out stops the wait of that call only', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const server = fakeServer({
      concurrency: 2,
      dispatch: async (request) => {
        if (request.target === '/slow') await gate;
        return { status: 200, headers: [], body: encoder.encode(request.target) };
      },
    });
    const fetch = createBatchFetch({ endpoint: ENDPOINT, fetch: server.fetch, maxBatchSize: 10 });
    const controller = new AbortController();
    const slow = fetch('http://api.test/slow', { signal: controller.signal });
    const fast = fetch('http://api.test/fast');
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();
    await expect(slow).rejects.toMatchObject({ name: 'AbortError' });
    release();
    expect(await (await fast).text()).toBe('/fast');
  });

  it.each([
    ['network', async () => Promise.reject(new TypeError('connection refused')), 'network'],
    ['non-2xx', async () => new Response('no batch here', { status: 503 }), 'status'],
    [
      'not a batch',
      async () => new Response('{"nope":1}', { headers: { 'content-type': 'application/json' } }),
      'unparseable',
    ],
    ['wrong count', async () => Response.json({ responses: [] }), 'mismatch'],
  ] as const)(
    'a failed batch request (%s) rejects every call with a BatchFetchError carrying the cause',
    async (_name, send, reason) => {
      const fetch = createBatchFetch({ endpoint: ENDPOINT, fetch: send, maxBatchSize: 10 });
      const results = await Promise.allSettled([
        fetch('http://api.test/a'),
        fetch('http://api.test/b'),
      ]);
      for (const result of results) {
        expect(result.status).toBe('rejected');
        const error = (result as PromiseRejectedResult).reason as BatchFetchError;
        expect(error).toBeInstanceOf(BatchFetchError);
        expect(error.reason).toBe(reason);
        if (reason === 'network') expect(error.cause).toBeInstanceOf(TypeError);
      }
    },
  );

  it('batch(requests) sends them at once and answers in order', async () => {
    const server = fakeServer();
    const fetch = createBatchFetch({ endpoint: ENDPOINT, fetch: server.fetch, maxBatchSize: 10 });
    const responses = await fetch.batch([
      ['http://api.test/one'],
      new Request('http://api.test/two', { method: 'DELETE' }),
      ['http://api.test/three', { method: 'PUT', body: 'x' }],
    ]);
    expect(server.batches()).toBe(1);
    expect(
      await Promise.all(
        responses.map(async (response) => ((await response.json()) as { method: string }).method),
      ),
    ).toEqual(['GET', 'DELETE', 'PUT']);
  });
});

describe('createBatchFetch: JSON Lines', () => {
  it('asks for JSON Lines, and falls back to plain JSON when the server answers it', async () => {
    const accepts: Array<string | null> = [];
    const server = fakeServer();
    // A server that does not stream: it never sees the JSON Lines Accept.
    const plainOnly = (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init);
      accepts.push(request.headers.get('accept'));
      const headers = new Headers(request.headers);
      headers.delete('accept');
      return server.fetch(new Request(request, { headers }));
    };
    const fetch = createBatchFetch({ endpoint: ENDPOINT, fetch: plainOnly, maxBatchSize: 10 });
    const [a, b] = await Promise.all([fetch('http://api.test/a'), fetch('http://api.test/b')]);
    expect(accepts).toEqual(['application/jsonl, application/json;q=0.9']);
    expect(((await a.json()) as { target: string }).target).toBe('/a');
    expect(((await b.json()) as { target: string }).target).toBe('/b');
  });

  it('a call without its own Accept carries */* (as fetch would), not the batch one', async () => {
    const seen: Array<string | undefined> = [];
    const server = fakeServer({
      dispatch: async (request) => {
        seen.push(request.headers.find(([name]) => name.toLowerCase() === 'accept')?.[1]);
        return { status: 204, headers: [], body: null };
      },
    });
    const fetch = createBatchFetch({ endpoint: ENDPOINT, fetch: server.fetch, maxBatchSize: 10 });
    await Promise.all([
      fetch('http://api.test/a'),
      fetch('http://api.test/b', { headers: { accept: 'text/csv' } }),
    ]);
    expect(seen).toEqual(['*/*', 'text/csv']);
  });

  it('a line for an item twice, or a missing line, fails the calls not yet answered', async () => {
    const lines = [
      '{"index":1,"status":200,"headers":{},"body":"b"}',
      '{"index":1,"status":200,"headers":{},"body":"again"}',
    ];
    const fetch = createBatchFetch({
      endpoint: ENDPOINT,
      maxBatchSize: 10,
      fetch: async () =>
        new Response(`${lines.join('\n')}\n`, { headers: { 'content-type': 'application/jsonl' } }),
    });
    const [a, b] = await Promise.allSettled([
      fetch('http://api.test/a'),
      fetch('http://api.test/b'),
    ]);
    expect(b.status).toBe('fulfilled');
    expect(a.status).toBe('rejected');
    expect((a as PromiseRejectedResult).reason).toBeInstanceOf(BatchFetchError);
    expect((a as PromiseRejectedResult).reason.reason).toBe('mismatch');
  });
});
