import { createBatchHandler, type Dispatcher } from '@batch/core';
import { describe, expect, it } from 'vitest';
import { BatchFetchError, createBatchFetch } from './index.js';

// batch(requests, { async: true }) against a fake server that does SPEC §9: `202` with a
// monitor, `202` with progress while it runs, `200` with the batch's answer, `DELETE`.

const ENDPOINT = 'http://api.test/v1/batch';
const encoder = new TextEncoder();

interface Seen {
  method: string;
  url: string;
  prefer: string | null;
  key: string | null;
  authorization: string | null;
}

function asyncServer(
  options: {
    /** `GET`s that answer `202` before the answer is ready. */
    running?: number;
    /** What the monitor answers instead, poll by poll (a status, or a network error). */
    polls?: Array<number | 'drop'>;
    /** Answer the batch at once, as a server without asynchronous batches does. */
    synchronous?: boolean;
    /** Lose the answer of the first `POST` (after the batch was accepted). */
    dropFirstPost?: boolean;
  } = {},
) {
  const seen: Seen[] = [];
  const dispatched: string[] = [];
  const dispatch: Dispatcher = async (request) => {
    dispatched.push(`${request.method} ${request.target}`);
    return {
      status: 200,
      headers: [],
      body: encoder.encode(`${request.method} ${request.target}`),
    };
  };
  const handler = createBatchHandler({ dispatch });
  const jobs = new Map<string, { answer: Promise<Response>; polls: number }>();
  const byKey = new Map<string, string>();
  let running = options.running ?? 1;
  let posts = 0;
  const polls = [...(options.polls ?? [])];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    seen.push({
      method: request.method,
      url: url.pathname,
      prefer: request.headers.get('prefer'),
      key: request.headers.get('idempotency-key'),
      authorization: request.headers.get('authorization'),
    });
    if (url.pathname === '/v1/batch') {
      if (options.synchronous) {
        // A server without asynchronous batches: @batch/core does them now, so it must not
        // hear the preference.
        const headers = new Headers(request.headers);
        headers.delete('prefer');
        return handler.fetch(new Request(request, { headers }));
      }
      const key = request.headers.get('idempotency-key');
      let id = key === null ? undefined : byKey.get(key);
      if (id === undefined) {
        id = `job-${jobs.size + 1}`;
        const body = await request.arrayBuffer();
        const headers = new Headers(request.headers);
        headers.delete('prefer');
        headers.set('accept', 'application/json');
        jobs.set(id, {
          answer: handler.fetch(new Request(request.url, { method: 'POST', headers, body })),
          polls: 0,
        });
        if (key !== null) byKey.set(key, id);
      }
      if (options.dropFirstPost && posts++ === 0) throw new TypeError('fetch failed');
      return new Response(JSON.stringify({ status: 'running', total: 2, done: 0 }), {
        status: 202,
        headers: {
          'preference-applied': 'respond-async',
          location: `jobs/${id}`, // relative: resolved against the batch route
          'retry-after': '0',
          'content-type': 'application/json',
        },
      });
    }
    const job = jobs.get(url.pathname.replace('/v1/jobs/', ''));
    if (job === undefined) return new Response('not found', { status: 404 });
    if (request.method === 'DELETE') {
      jobs.delete(url.pathname.replace('/v1/jobs/', ''));
      return new Response(null, { status: 204 });
    }
    const scripted = polls.shift();
    if (scripted === 'drop') throw new TypeError('fetch failed');
    if (scripted !== undefined) return new Response('scripted', { status: scripted });
    if (running-- > 0) {
      return Response.json(
        { status: 'running', total: 2, done: 1 },
        {
          status: 202,
          headers: { 'retry-after': '0' },
        },
      );
    }
    return (await job.answer).clone();
  };
  return { fetch, seen, dispatched, jobs };
}

const options = { endpoint: ENDPOINT, maxBatchSize: 1, retryBaseMs: 1, retryMaxMs: 100 };
const bodies = (responses: Response[]) => Promise.all(responses.map((response) => response.text()));

describe('batch(requests, { async: true })', () => {
  it('sends Prefer: respond-async, polls the monitor until 200, and answers each call from it', async () => {
    const server = asyncServer({ running: 2 });
    const api = createBatchFetch({
      ...options,
      fetch: server.fetch,
      headers: { authorization: 'Bearer a' },
    });
    const responses = await api.batch(
      [['http://api.test/v1/items/1'], ['http://api.test/v1/items', { method: 'POST', body: 'x' }]],
      { async: true },
    );
    expect(await bodies(responses)).toEqual(['GET /v1/items/1', 'POST /v1/items']);
    // One batch in spite of maxBatchSize 1; then the monitor: running, running, done.
    expect(server.seen.map(({ method, url }) => `${method} ${url}`)).toEqual([
      'POST /v1/batch',
      'GET /v1/jobs/job-1',
      'GET /v1/jobs/job-1',
      'GET /v1/jobs/job-1',
    ]);
    const [post, ...gets] = server.seen;
    expect(post).toMatchObject({ prefer: 'respond-async', authorization: 'Bearer a' });
    expect(post?.key).toMatch(/^"/);
    for (const get of gets)
      expect(get).toMatchObject({ prefer: null, key: null, authorization: 'Bearer a' });
  });

  it('a server that answers at once is just as good', async () => {
    const server = asyncServer({ synchronous: true });
    const api = createBatchFetch({ ...options, fetch: server.fetch });
    const responses = await api.batch([['http://api.test/v1/a'], ['http://api.test/v1/b']], {
      async: true,
    });
    expect(await bodies(responses)).toEqual(['GET /v1/a', 'GET /v1/b']);
    expect(server.seen).toHaveLength(1);
  });

  it('a lost 202 is sent again with the same key: the same monitor, the batch ran once', async () => {
    const server = asyncServer({ dropFirstPost: true });
    const api = createBatchFetch({ ...options, fetch: server.fetch });
    const responses = await api.batch([['http://api.test/v1/a', { method: 'PUT', body: 'x' }]], {
      async: true,
    });
    expect(await bodies(responses)).toEqual(['PUT /v1/a']);
    expect(server.seen.filter((seen) => seen.method === 'POST')).toHaveLength(2);
    expect(server.jobs.size).toBe(1);
    expect(server.dispatched).toEqual(['PUT /v1/a']);
  });

  it('a lost poll is repeated; a 404 monitor rejects every call', async () => {
    const flaky = asyncServer({ polls: ['drop', 503] });
    const api = createBatchFetch({ ...options, fetch: flaky.fetch });
    expect(await bodies(await api.batch([['http://api.test/v1/a']], { async: true }))).toEqual([
      'GET /v1/a',
    ]);

    const gone = asyncServer({ polls: [404] });
    const calls = createBatchFetch({ ...options, fetch: gone.fetch }).batch(
      [['http://api.test/v1/a'], ['http://api.test/v1/b']],
      { async: true },
    );
    await expect(calls).rejects.toMatchObject({ reason: 'status', status: 404 });
    await expect(calls).rejects.toBeInstanceOf(BatchFetchError);
  });

  it('when every call was aborted, the batch is cancelled (DELETE on its monitor)', async () => {
    const server = asyncServer({ running: 1_000_000 });
    const api = createBatchFetch({ ...options, fetch: server.fetch });
    const controller = new AbortController();
    const calls = api.batch([new Request('http://api.test/v1/a', { signal: controller.signal })], {
      async: true,
    });
    while (server.seen.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    await expect(calls).rejects.toMatchObject({ name: 'AbortError' });
    while (server.seen.at(-1)?.method !== 'DELETE')
      await new Promise((resolve) => setTimeout(resolve, 5));
    expect(server.jobs.size).toBe(0);
  });
});
