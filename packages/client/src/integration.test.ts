// @batch/client against the three example apps (Express, Koa, Hono), each served over real
// HTTP on 127.0.0.1, port 0: calls made together go out as one POST /batch, and every call
// answers what the same request sent directly answers.

import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp as createExpressApp } from '@batch/express-example/app';
import { createApp as createHonoApp } from '@batch/hono-example/app';
import { createApp as createKoaApp } from '@batch/koa-example/app';
import { serve } from '@hono/node-server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBatchFetch } from './index.js';

/** What all three apps' `createApp` take (the options used here). */
interface AppOptions {
  batch?: { maxRequests?: number };
  batchPath?: string;
  /** Also the conformance routes (`/slow/:ms` among them). */
  conformance?: boolean;
}

interface Served {
  url: string;
  close(): Promise<void>;
}

/** Closes a node:http server, dropping its idle keep-alive connections. */
function closeServer(server: Pick<Server, 'close'> & Partial<Pick<Server, 'closeAllConnections'>>) {
  return new Promise<void>((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}

/** Waits until a node:http server listens; answers its URL and how to close it. */
async function listening(server: Server): Promise<Served> {
  if (!server.listening) await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => closeServer(server) };
}

const APPS: { name: string; start: (options: AppOptions) => Promise<Served> }[] = [
  {
    name: 'Express',
    start: (options) => listening(createExpressApp(options).app.listen(0, '127.0.0.1')),
  },
  {
    name: 'Koa',
    start: (options) =>
      listening(createServer(createKoaApp(options).app.callback()).listen(0, '127.0.0.1')),
  },
  {
    name: 'Hono',
    start: (options) =>
      listening(
        serve({
          fetch: createHonoApp(options).app.fetch,
          port: 0,
          hostname: '127.0.0.1',
        }) as Server,
      ),
  },
];

/** A `fetch` that counts the requests it sends, by `METHOD /path`. */
function countingFetch() {
  const counts = new Map<string, number>();
  const fetch = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const method = (
      init?.method ?? (input instanceof Request ? input.method : 'GET')
    ).toUpperCase();
    const url = new URL(input instanceof Request ? input.url : input);
    const key = `${method} ${url.pathname}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    return globalThis.fetch(input, init);
  };
  return { fetch, counts: () => Object.fromEntries(counts) };
}

/** One call of a round: who sends it (the batch's `alice` unless `as`), what, with which body. */
interface Call {
  method: 'GET' | 'PATCH';
  path: string;
  as?: string;
  body?: unknown;
}

/** The `fetch` init of a call; `authorization` is left to the batch unless `as` is given. */
function initOf(call: Call, direct: boolean): RequestInit {
  const headers: Record<string, string> = {};
  if (call.as !== undefined || direct) headers.authorization = `Bearer ${call.as ?? 'alice'}`;
  if (call.body !== undefined) headers['content-type'] = 'application/json';
  return {
    method: call.method,
    headers,
    ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
  };
}

/** The headers compared between a batched and a direct answer: none of the volatile ones. */
const COMPARED_HEADERS = ['content-type', 'location', 'www-authenticate', 'allow'];

/** What is compared of an answer: status, the stable headers, the JSON body. */
async function summary(response: Response, options: { etag: boolean }) {
  const headers: Record<string, string | null> = {};
  for (const name of options.etag ? [...COMPARED_HEADERS, 'etag'] : COMPARED_HEADERS)
    headers[name] = response.headers.get(name);
  return {
    url: response.url,
    status: response.status,
    statusText: response.statusText,
    headers,
    body: (await response.json()) as unknown,
  };
}

/** A PATCH answer without `last_modified` (nor its ETag): the write happened twice. */
function withoutLastModified(answer: Awaited<ReturnType<typeof summary>>) {
  const body = answer.body as Record<string, unknown>;
  const { last_modified: _ignored, ...rest } = body;
  return { ...answer, body: 'last_modified' in body ? rest : body };
}

/** A server on another port (so another origin) that records what it gets and echoes it. */
async function otherOrigin() {
  const seen: string[] = [];
  const served = await listening(
    createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        body += chunk;
      });
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? '-'} ${body || '-'}`);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ elsewhere: req.url, method: req.method, body }));
      });
    }).listen(0, '127.0.0.1'),
  );
  return { ...served, seen };
}

describe.each(APPS.map((app) => [app.name, app.start] as const))(
  '@batch/client against the %s example app',
  (_name, start) => {
    let api: Served;
    beforeEach(async () => {
      api = await start({});
    });
    afterEach(() => api.close());

    /** Creates an article directly (under `id` when given: ids count per owner); answers its id. */
    const create = async (title: string, as = 'alice', id?: number) => {
      const response = await fetch(`${api.url}/articles${id === undefined ? '' : `/${id}`}`, {
        method: id === undefined ? 'POST' : 'PUT',
        headers: { authorization: `Bearer ${as}`, 'content-type': 'application/json' },
        body: JSON.stringify({ title, url: `https://example.org/${encodeURIComponent(title)}` }),
      });
      expect(response.status).toBe(201);
      return ((await response.json()) as { id: number }).id;
    };

    it.each(['json', 'multipart'] as const)(
      'sends 20 calls made together as one %s batch, each answering what a direct request answers',
      async (format) => {
        // alice owns 1–6, bob 7–8. The PATCHes that write go to bob's articles, which no
        // read of the round sees; alice's PATCHes fail (404, 400) and write nothing.
        for (let i = 1; i <= 6; i++) expect(await create(`alice ${i}`)).toBe(i);
        for (let i = 7; i <= 8; i++) expect(await create(`bob ${i}`, 'bob', i)).toBe(i);

        const calls: Call[] = [
          ...[1, 2, 3, 4, 5, 6].map((id): Call => ({ method: 'GET', path: `/articles/${id}` })),
          { method: 'GET', path: '/articles/7' }, // bob's: 404 for alice
          { method: 'GET', path: '/articles/99' },
          { method: 'GET', path: '/articles/abc' },
          { method: 'GET', path: '/articles' },
          { method: 'GET', path: '/articles?x=1&y=%C3%A9' },
          { method: 'GET', path: '/nowhere' },
          { method: 'PATCH', path: '/articles/7', as: 'bob', body: { read_position: 42 } },
          { method: 'PATCH', path: '/articles/8', as: 'bob', body: { title: 'Patched é' } },
          { method: 'PATCH', path: '/articles/99', body: { read_position: 1 } },
          { method: 'PATCH', path: '/articles/1', body: { read_position: -1 } },
          { method: 'GET', path: '/articles/3?x=1' },
          { method: 'GET', path: '/articles/100' },
          { method: 'GET', path: '/articles/1', as: 'bob' }, // alice's: 404 for bob
          // PATCHed earlier in this round: the batch runs its items in order (concurrency 1 by
          // default), and nothing writes between this read and the direct one.
          { method: 'GET', path: '/articles/8', as: 'bob' },
        ];
        expect(calls).toHaveLength(20);
        /** Answers compared without last_modified: the PATCHes, sent once batched, once directly. */
        const written = (call: Call) => call.method === 'PATCH';

        const counter = countingFetch();
        const batchFetch = createBatchFetch({
          endpoint: `${api.url}/batch`,
          format,
          fetch: counter.fetch,
          headers: { authorization: 'Bearer alice' },
        });
        const batched = await Promise.all(
          calls.map((call) => batchFetch(api.url + call.path, initOf(call, false))),
        );
        const { 'POST /batch': batches, 'GET /': info, ...others } = counter.counts();
        expect(batches).toBe(1);
        expect(info ?? 0).toBeLessThanOrEqual(1);
        expect(others).toEqual({});

        const batchedAnswers = await Promise.all(
          batched.map((response, i) => summary(response, { etag: !written(calls[i]!) })),
        );
        // The reads right after (nothing written in between), then the PATCHes again.
        const direct = (call: Call) =>
          fetch(api.url + call.path, initOf(call, true)).then((response) =>
            summary(response, { etag: !written(call) }),
          );
        const directReads = await Promise.all(
          calls.map((call) => (call.method === 'GET' ? direct(call) : undefined)),
        );
        const directAnswers = await Promise.all(
          calls.map((call, i) => directReads[i] ?? direct(call)),
        );

        calls.forEach((call, i) => {
          const label = `${call.method} ${call.path}${call.as ? ` as ${call.as}` : ''}`;
          const [mine, theirs] = [batchedAnswers[i]!, directAnswers[i]!];
          if (written(call)) {
            expect(withoutLastModified(mine), label).toEqual(withoutLastModified(theirs));
          } else {
            expect(mine, label).toEqual(theirs);
          }
        });
        // Spot checks, so that equal answers are also the right ones.
        expect(batchedAnswers.map((answer) => answer.status)).toEqual([
          200, 200, 200, 200, 200, 200, 404, 404, 404, 200, 200, 404, 200, 200, 404, 400, 200, 404,
          404, 200,
        ]);
        expect(batchedAnswers[9]!.body).toMatchObject({ data: { length: 6 } });
        expect(batchedAnswers[12]!.body).toMatchObject({ id: 7, read_position: 42 });
        expect(batchedAnswers[13]!.body).toMatchObject({ id: 8, title: 'Patched é' });
      },
    );

    it('splits at the limit the service info reports: 12 calls, maxRequests 5 → 3 batches', async () => {
      await api.close();
      api = await start({ batch: { maxRequests: 5 } });
      const info = await fetch(`${api.url}/`);
      expect(await info.json()).toMatchObject({ batch: { maxRequests: 5 } });
      for (let i = 1; i <= 3; i++) await create(`article ${i}`);

      const counter = countingFetch();
      const batchFetch = createBatchFetch({
        endpoint: `${api.url}/batch`,
        fetch: counter.fetch,
        headers: { authorization: 'Bearer alice' },
      });
      const responses = await Promise.all(
        Array.from({ length: 12 }, (_, i) => batchFetch(`${api.url}/articles/${i + 1}`)),
      );
      expect(counter.counts()).toEqual({ 'GET /': 1, 'POST /batch': 3 });
      expect(responses.map((response) => response.status)).toEqual([
        200, 200, 200, 404, 404, 404, 404, 404, 404, 404, 404, 404,
      ]);
      const bodies = (await Promise.all(responses.map((response) => response.json()))) as {
        id?: number;
        detail?: string;
      }[];
      expect(bodies.slice(0, 3).map((body) => body.id)).toEqual([1, 2, 3]);
      expect(bodies[11]!.detail).toContain('12');
    });

    it('sends a call to another origin straight there, not in the batch', async () => {
      const other = await otherOrigin();
      try {
        const id = await create('here');
        const counter = countingFetch();
        const batchFetch = createBatchFetch({
          endpoint: `${api.url}/batch`,
          fetch: counter.fetch,
          maxBatchSize: 10,
          headers: { authorization: 'Bearer alice' },
        });
        const [here, there, hereAgain] = await Promise.all([
          batchFetch(`${api.url}/articles/${id}`),
          batchFetch(`${other.url}/elsewhere?q=1`),
          batchFetch(`${api.url}/articles`),
        ]);
        expect(counter.counts()).toEqual({ 'POST /batch': 1, 'GET /elsewhere': 1 });
        // The batch's headers stay with the batch.
        expect(other.seen).toEqual(['GET /elsewhere?q=1 - -']);
        expect(await there!.json()).toEqual({
          elsewhere: '/elsewhere?q=1',
          method: 'GET',
          body: '',
        });
        expect(there!.url).toBe(`${other.url}/elsewhere?q=1`);
        expect(await here!.json()).toMatchObject({ id, title: 'here' });
        expect(await hereAgain!.json()).toMatchObject({ data: [{ id }] });
      } finally {
        await other.close();
      }
    });

    it('sends a Request object with a body to another origin straight there', async () => {
      const other = await otherOrigin();
      try {
        const counter = countingFetch();
        const batchFetch = createBatchFetch({
          endpoint: `${api.url}/batch`,
          fetch: counter.fetch,
          maxBatchSize: 10,
        });
        const response = await batchFetch(
          new Request(`${other.url}/echo`, { method: 'POST', body: 'hello' }),
        );
        expect(await response.json()).toEqual({
          elsewhere: '/echo',
          method: 'POST',
          body: 'hello',
        });
        expect(counter.counts()).toEqual({ 'POST /echo': 1 });
      } finally {
        await other.close();
      }
    });

    it("answers a same-origin call outside the batch route's base as a direct call does", async () => {
      // The batch route at /api/batch, whose base is /api: the server resolves every target
      // against it (SPEC §4), so /articles/1 must not go in a batch as is. The call carries
      // its own Authorization, so it answers the same whether it is batched or sent directly.
      await api.close();
      api = await start({ batchPath: '/api/batch' });
      const id = await create('outside /api');
      const init = { headers: { authorization: 'Bearer alice' } };
      const batchFetch = createBatchFetch({ endpoint: `${api.url}/api/batch`, maxBatchSize: 10 });
      const direct = await fetch(`${api.url}/articles/${id}`, init);
      expect(direct.status).toBe(200);
      const batched = await batchFetch(`${api.url}/articles/${id}`, init);
      expect(batched.status).toBe(200);
      expect(await batched.json()).toEqual(await direct.json());
    });

    it('resolves each call as its item finishes (JSON Lines): instant ones long before a slow one', async () => {
      await api.close();
      api = await start({ conformance: true });
      const { fetch, counts } = countingFetch();
      const batchFetch = createBatchFetch({
        endpoint: `${api.url}/batch`,
        maxBatchSize: 10,
        fetch,
      });
      const started = performance.now();
      const settled: Array<{ name: string; at: number; status: number }> = [];
      const call = (name: string, path: string) =>
        batchFetch(`${api.url}${path}`).then(async (response) => {
          settled.push({ name, at: performance.now() - started, status: response.status });
          return response.json();
        });
      const bodies = await Promise.all([
        call('slow', '/slow/900'),
        call('instant 1', '/echo/1'),
        call('mid 1', '/slow/300'),
        call('instant 2', '/echo/2'),
        call('mid 2', '/slow/300?n=2'),
        call('instant 3', '/echo/3'),
      ]);
      expect(counts()).toEqual({ 'POST /batch': 1 });
      expect(bodies[0]).toEqual({ slept: 900 });
      expect((bodies[1] as { url: string }).url).toBe('/echo/1');
      expect(settled.every((entry) => entry.status === 200)).toBe(true);
      const at = (name: string) => settled.find((entry) => entry.name === name)!.at;
      const order = settled.map((entry) => entry.name);
      // The slow one last; the instant ones first, well before it (half its time: generous).
      expect(order.at(-1)).toBe('slow');
      expect(order.slice(0, 3).sort()).toEqual(['instant 1', 'instant 2', 'instant 3']);
      for (const name of ['instant 1', 'instant 2', 'instant 3'])
        expect(at(name)).toBeLessThan(at('slow') - 450);
      // The two 300 ms ones together: both after the instant ones, both well before the slow one.
      expect(order.slice(3, 5).sort()).toEqual(['mid 1', 'mid 2']);
      expect(Math.abs(at('mid 1') - at('mid 2'))).toBeLessThan(at('slow') - at('mid 1'));
    }, 20_000);
  },
);
