import type { Server } from 'node:http';
import {
  type BatchFormat,
  type BatchOptions,
  createBatchHandler,
  type DecodedSubResponse,
  decodeBatchResponse,
  decodeJsonLines,
  encodeBatchRequest,
  type SubRequestInit,
} from '@batch/core';
import { conformanceSuite, listen, type RunningApp } from '@batch/test-suite';
import { serve } from '@hono/node-server';
import { describe, expect, it } from 'vitest';
// The conformance routes, as a fetch app (Hono's `app.fetch`); the batch route in front of
// them below is a plain fetch handler, not Hono's.
import { conformanceRoutes } from '../../../apps/hono-example/src/conformanceRoutes.js';
import { batch, createFetchDispatcher, type FetchApp, onBatchRoute } from './index.js';

const decoder = new TextDecoder();
const text = (part: DecodedSubResponse | undefined) => decoder.decode(part?.body);

// Over HTTP: a plain node:http server (@hono/node-server's `serve({ fetch })`) whose fetch
// handler sends the batch path to `batch()` and everything else to the routes.

async function startFetchApp(batchPath: string, options: BatchOptions): Promise<RunningApp> {
  const log: string[] = [];
  const routes = conformanceRoutes();
  const handleBatch = batch(fetchHandler, options);
  function fetchHandler(request: Request) {
    const url = new URL(request.url);
    if (onBatchRoute(url.pathname, batchPath)) return handleBatch(request);
    log.push(`${request.method} ${url.pathname}${url.search}`);
    return routes.fetch(request);
  }
  const server = serve({ fetch: fetchHandler, port: 0, hostname: '127.0.0.1' }) as Server;
  return { ...(await listen(server)), log };
}

conformanceSuite('@batch/fetch (a plain fetch handler on @hono/node-server)', {
  start: ({ batchPath, batch: options }) => startFetchApp(batchPath, options),
});

// In-process: the handler called with a Request, no server, no framework.

interface Seen {
  env: unknown;
  ctx: unknown;
}

/** A fetch handler with no framework: a few routes, and what the last request saw. */
function plainApp(seen: Seen[]) {
  return (request: Request, env?: unknown, ctx?: unknown): Response | Promise<Response> => {
    seen.push({ env, ctx });
    const url = new URL(request.url);
    if (url.pathname === '/hello') return new Response(`hello ${url.searchParams.get('name')}`);
    if (url.pathname === '/echo') {
      return request.text().then((body) =>
        Response.json({
          method: request.method,
          body,
          auth: request.headers.get('authorization'),
          type: request.headers.get('content-type'),
        }),
      );
    }
    if (url.pathname === '/cookies') {
      const headers = new Headers([
        ['set-cookie', 'a=1; Path=/'],
        ['set-cookie', 'b=2; Path=/'],
      ]);
      return new Response(null, { status: 204, headers });
    }
    if (url.pathname === '/fail') throw new Error('boom');
    return new Response('not found', { status: 404 });
  };
}

function batchRequest(format: BatchFormat, requests: SubRequestInit[], accept?: string) {
  const encoded = encodeBatchRequest(format, requests);
  return new Request('http://api.example/batch', {
    method: 'POST',
    headers: {
      'content-type': encoded.contentType,
      authorization: 'Bearer outer',
      ...(accept === undefined ? {} : { accept }),
    },
    body: encoded.body as Uint8Array<ArrayBuffer>,
  });
}

async function decoded(response: Response): Promise<DecodedSubResponse[]> {
  expect(response.status).toBe(200);
  return decodeBatchResponse({
    contentType: response.headers.get('content-type'),
    body: new Uint8Array(await response.arrayBuffer()),
  });
}

const ITEMS: SubRequestInit[] = [
  { target: '/hello?name=ann' },
  {
    method: 'PATCH',
    target: '/echo',
    headers: [['content-type', 'text/plain']],
    body: 'patched',
  },
  { target: '/cookies' },
  { target: '/fail' },
  { target: '/nowhere', headers: [['authorization', 'Bearer inner']] },
];

describe('batch() over a plain fetch handler, in-process', () => {
  describe.each(['json', 'multipart'] as const)('%s format', (format) => {
    it('runs every item through the handler, in order: headers inherited, cookies, a throw, a 404', async () => {
      const seen: Seen[] = [];
      const handleBatch = batch(plainApp(seen));
      const parts = await decoded(await handleBatch(batchRequest(format, ITEMS)));
      expect(parts.map((part) => part.status)).toEqual([200, 200, 204, 500, 404]);
      expect(text(parts[0])).toBe('hello ann');
      expect(JSON.parse(text(parts[1]))).toEqual({
        method: 'PATCH',
        body: 'patched',
        auth: 'Bearer outer',
        type: 'text/plain',
      });
      const cookies = (parts[2]?.headers ?? []).filter(
        ([name]) => name.toLowerCase() === 'set-cookie',
      );
      expect(cookies.map(([, value]) => value)).toEqual(['a=1; Path=/', 'b=2; Path=/']);
      expect(seen).toHaveLength(5);
    });
  });

  it('answers JSON Lines when the client asks for them (Accept: application/jsonl)', async () => {
    const handleBatch = batch(plainApp([]));
    const response = await handleBatch(
      batchRequest('json', ITEMS.slice(0, 2), 'application/jsonl'),
    );
    expect(response.headers.get('content-type')).toBe('application/jsonl');
    const lines: DecodedSubResponse[] = [];
    for await (const line of decodeJsonLines(new Uint8Array(await response.arrayBuffer())))
      lines.push(line);
    expect(lines.map((line) => line.index).sort()).toEqual([0, 1]);
    expect(text(lines.find((line) => line.index === 0))).toBe('hello ann');
  });

  it('refuses a batch over the limits before running any item', async () => {
    const seen: Seen[] = [];
    const handleBatch = batch(plainApp(seen), { maxRequests: 2 });
    const response = await handleBatch(batchRequest('json', ITEMS));
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(seen).toEqual([]);
  });

  it('answers 405 to a GET on the batch route', async () => {
    const response = await batch(plainApp([]))(new Request('http://api.example/batch'));
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
  });

  it("passes init's env and executionCtx to every sub-request, and a body already read", async () => {
    const seen: Seen[] = [];
    const handleBatch = batch(plainApp(seen));
    const env = { DB: 'binding' };
    const ctx = { waitUntil() {}, passThroughOnException() {} };
    const request = batchRequest('json', ITEMS.slice(0, 2));
    const body = new Uint8Array(await request.arrayBuffer()); // a validator read it
    async function* once() {
      yield body;
    }
    const parts = await decoded(
      await handleBatch(request, { env, executionCtx: ctx, body: once() }),
    );
    expect(parts.map((part) => part.status)).toEqual([200, 200]);
    expect(seen).toEqual([
      { env, ctx },
      { env, ctx },
    ]);
  });

  it('takes an object with fetch() (a Workers/Bun/Deno module, Hono, itty-router) and keeps its this', async () => {
    const module = {
      greeting: 'hi',
      fetch(this: { greeting: string }, request: Request) {
        return new Response(`${this.greeting} ${new URL(request.url).pathname}`);
      },
    };
    const parts = await decoded(
      await batch(module satisfies FetchApp)(batchRequest('json', [{ target: '/x' }])),
    );
    expect(text(parts[0])).toBe('hi /x');
  });

  it('createFetchDispatcher: the dispatcher for a handler built with createBatchHandler', async () => {
    const seen: Seen[] = [];
    const handler = createBatchHandler({ dispatch: createFetchDispatcher(plainApp(seen)) });
    const response = await handler.fetch(batchRequest('multipart', [{ target: '/hello?name=b' }]), {
      native: { origin: 'http://other.example', env: 'e', executionCtx: 'c' },
    });
    const parts = await decoded(response);
    expect(text(parts[0])).toBe('hello b');
    expect(seen).toEqual([{ env: 'e', ctx: 'c' }]);
  });
});

describe('Prefer: return=minimal (SPEC §7)', () => {
  it('a streamed body of an answer below 400 is cancelled, not read; one of 400 and above is read', async () => {
    const pulled: string[] = [];
    const cancelled: string[] = [];
    const app = (request: Request) => {
      const path = new URL(request.url).pathname;
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          pulled.push(path);
          if (sent++ < 3) controller.enqueue(new TextEncoder().encode('chunk'));
          else controller.close();
        },
        cancel() {
          cancelled.push(path);
        },
      });
      return new Response(body, {
        status: path === '/bad' ? 400 : 200,
        headers: { 'content-type': 'text/plain' },
      });
    };
    const request = batchRequest('json', [{ target: '/ok' }, { target: '/bad' }]);
    request.headers.set('prefer', 'return=minimal');
    const response = await batch(app)(request);
    expect(response.headers.get('preference-applied')).toBe('return=minimal');
    const answer = (await response.json()) as {
      responses: Array<{ status: number; body?: string }>;
      failed: number[];
    };
    expect(answer.responses.map((item) => item.body)).toEqual([undefined, 'chunkchunkchunk']);
    expect(answer.failed).toEqual([1]);
    expect(cancelled).toEqual(['/ok']);
    // A ReadableStream pulls once to fill its queue when it is made; never more for /ok.
    expect(pulled.filter((path) => path === '/ok').length).toBeLessThanOrEqual(1);
  });
});
