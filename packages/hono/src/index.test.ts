import type { IncomingMessage, Server } from 'node:http';
import {
  type BatchFormat,
  type BatchOptions,
  type DecodedSubResponse,
  decodeBatchResponse,
  encodeBatchRequest,
  type SubRequestInit,
} from '@batch/core';
import { conformanceSuite, listen, postThenGoAway, type RunningApp } from '@batch/test-suite';
import { type Http2Bindings, type HttpBindings, serve } from '@hono/node-server';
import { type ExecutionContext, Hono } from 'hono';
import { describe, expect, it } from 'vitest';
// The conformance routes live in the example app (tests only: packages never depend on apps).
import { conformanceRoutes, requestLog } from '../../../apps/hono-example/src/conformanceRoutes.js';
import { batch } from './index.js';

/**
 * The conformance app (see @batch/test-suite `testApp.ts`): the example app's conformance
 * routes (shared), behind the batch route.
 */
function createTestApp(batchPath: string, options: BatchOptions, log: string[]) {
  const app = new Hono<{ Bindings: { incoming?: IncomingMessage } }>();
  app.onError((error, c) => c.json({ error: error.message }, 500));
  app.all(`${batchPath}/*`, batch(app, options));
  app.use(requestLog(log));
  app.route('/', conformanceRoutes());
  return app;
}

async function startHonoApp(batchPath: string, options: BatchOptions): Promise<RunningApp> {
  const log: string[] = [];
  const app = createTestApp(batchPath, options, log);
  const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
  return { ...(await listen(server)), log };
}

conformanceSuite('@batch/hono (@hono/node-server)', {
  start: ({ batchPath, batch: options }) => startHonoApp(batchPath, options),
});

// In-process: no server, the batch posted with app.request().

const decoder = new TextDecoder();

/** Any Hono app, whatever its bindings. */
interface InProcessApp {
  request(
    input: string,
    init: RequestInit,
    env?: unknown,
    executionCtx?: ExecutionContext,
  ): Response | Promise<Response>;
}

async function sendInProcess(
  app: InProcessApp,
  format: BatchFormat,
  requests: SubRequestInit[],
  env?: unknown,
  executionCtx?: ExecutionContext,
): Promise<{ status: number; parts: DecodedSubResponse[] }> {
  const encoded = encodeBatchRequest(format, requests);
  const response = await app.request(
    '/batch',
    {
      method: 'POST',
      headers: { 'content-type': encoded.contentType, authorization: 'Bearer outer' },
      body: encoded.body as Uint8Array<ArrayBuffer>,
    },
    env,
    executionCtx,
  );
  const body = new Uint8Array(await response.arrayBuffer());
  return {
    status: response.status,
    parts: await decodeBatchResponse({ contentType: response.headers.get('content-type'), body }),
  };
}

const text = (part: DecodedSubResponse | undefined) => decoder.decode(part?.body);
const headerValues = (part: DecodedSubResponse | undefined, name: string) =>
  (part?.headers ?? []).filter(([key]) => key.toLowerCase() === name).map(([, value]) => value);

describe('@batch/hono in-process (app.request, no server)', () => {
  describe.each(['json', 'multipart'] as const)('%s format', (format) => {
    it('runs every item through the app: echo, HEAD, Set-Cookie x2, binary, 204, errors', async () => {
      const log: string[] = [];
      const app = createTestApp('/batch', {}, log);
      const sent = await sendInProcess(app, format, [
        {
          method: 'POST',
          target: '/echo/1?x=1',
          headers: [['Content-Type', 'application/json']],
          body: '{"title":"MoFo"}',
        },
        { method: 'HEAD', target: '/echo' },
        { method: 'GET', target: '/cookies' },
        { method: 'GET', target: '/binary' },
        { method: 'GET', target: '/empty' },
        { method: 'GET', target: '/fail' },
        { method: 'GET', target: '/stream' },
        {
          method: 'POST',
          target: '/echo',
          headers: [['Content-Type', 'application/octet-stream']],
          body: Uint8Array.of(0, 1, 2, 255),
        },
      ]);
      expect(sent.status).toBe(200);
      const [echo, head, cookies, binary, empty, fail, streamed, bytes] = sent.parts;
      expect(sent.parts.map((part) => part.status)).toEqual([
        200, 200, 200, 200, 204, 500, 200, 200,
      ]);
      expect(JSON.parse(text(echo))).toMatchObject({
        method: 'POST',
        url: '/echo/1?x=1',
        body: { title: 'MoFo' },
        headers: { authorization: 'Bearer outer', host: 'localhost' },
        ip: null,
      });
      expect(head?.body.length).toBe(0);
      expect(headerValues(cookies, 'set-cookie')).toEqual(['a=1; Path=/', 'b=2; Path=/']);
      expect(Array.from(binary!.body)).toEqual(Array.from({ length: 256 }, (_, i) => i));
      expect(empty?.body.length).toBe(0);
      expect(JSON.parse(text(fail))).toEqual({ error: 'boom' });
      expect(text(streamed)).toBe('abc');
      expect(JSON.parse(text(bytes)).body).toBe(decoder.decode(Uint8Array.of(0, 1, 2, 255)));
      expect(log).toEqual([
        'POST /echo/1?x=1',
        'HEAD /echo',
        'GET /cookies',
        'GET /binary',
        'GET /empty',
        'GET /fail',
        'GET /stream',
        'POST /echo',
      ]);
    });
  });

  it("on @hono/node-server reads the batch from Node's request (c.env.incoming), not from a Request it would have to make", async () => {
    const app = new Hono<{ Bindings: { incoming?: IncomingMessage } }>();
    app.get('/hello/:who', (c) =>
      c.text(`hi ${c.req.param('who')} ${c.req.header('authorization') ?? 'anonymous'}`),
    );
    app.post('/batch', batch(app));
    // The real server, on port 0; what it handed the app is kept to be looked at after.
    const handed: { request: Request; incoming: IncomingMessage }[] = [];
    const server = serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: (request, env: HttpBindings | Http2Bindings) => {
        const bindings = env as HttpBindings; // served over HTTP/1.1
        handed.push({ request, incoming: bindings.incoming });
        return app.fetch(request, bindings);
      },
    }) as Server;
    const running = await listen(server);
    try {
      const encoded = encodeBatchRequest('json', [{ target: '/hello/node' }]);
      const response = await fetch(`${running.url}/batch`, {
        method: 'POST',
        headers: { 'content-type': encoded.contentType, authorization: 'Bearer node' },
        body: encoded.body as Uint8Array<ArrayBuffer>,
      });
      expect(response.status).toBe(200);
      const parts = await decodeBatchResponse({
        contentType: response.headers.get('content-type'),
        body: new Uint8Array(await response.arrayBuffer()),
      });
      expect(parts.map(text)).toEqual(['hi node Bearer node']);
      expect(handed).toHaveLength(1);
      const [{ request, incoming }] = handed as [(typeof handed)[number]];
      // The batch was read from the IncomingMessage, to its end ...
      expect(incoming.readableEnded).toBe(true);
      // ... and the server's light-weight Request never had to make its body (reading
      // `request.body` or `request.arrayBuffer()` would have marked it used).
      expect(request.bodyUsed).toBe(false);
    } finally {
      await running.close();
    }
    const fromRequest = encodeBatchRequest('json', [{ target: '/hello/request' }]);
    // Elsewhere (no Node request in c.env): the Request's own body.
    const plain = await app.fetch(
      new Request('http://localhost/batch', {
        method: 'POST',
        headers: { 'content-type': fromRequest.contentType },
        body: fromRequest.body as Uint8Array<ArrayBuffer>,
      }),
      {},
    );
    const plainParts = await decodeBatchResponse({
      contentType: plain.headers.get('content-type'),
      body: new Uint8Array(await plain.arrayBuffer()),
    });
    expect(plainParts.map(text)).toEqual(['hi request anonymous']);
  });

  it("on @hono/node-server aborts a running item's signal when the client goes away, without making the server's request.signal", async () => {
    const app = new Hono<{ Bindings: { incoming?: IncomingMessage } }>();
    const seen: string[] = [];
    // Answers only once its request's signal aborts (what a long query would watch).
    app.get('/hang', async (c) => {
      seen.push('started');
      const { signal } = c.req.raw;
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      seen.push('aborted');
      return c.text('late');
    });
    app.post('/batch', batch(app));
    const handed: Request[] = [];
    const server = serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: (request, env: HttpBindings | Http2Bindings) => {
        handed.push(request);
        return app.fetch(request, env);
      },
    }) as Server;
    const running = await listen(server);
    try {
      // Once the item runs, the client goes away.
      await postThenGoAway(
        `${running.url}/batch`,
        ['/hang'],
        () => seen.includes('started'),
        () => seen.includes('aborted'),
      );
      expect(seen).toEqual(['started', 'aborted']);
      // The server's own signal for the batch request was never made (an AbortController
      // per batch, the largest fixed cost of a batch of one there).
      const [outer] = handed as [Request];
      const made = Object.getOwnPropertySymbols(outer).filter(
        (key) => key.description === 'abortControllerKey',
      );
      expect(
        made.map((key) => (outer as unknown as Record<symbol, unknown>)[key]),
      ).not.toContainEqual(expect.any(AbortController));
    } finally {
      await running.close();
    }
  });

  it('answers GET on the batch route with the core 405', async () => {
    const app = createTestApp('/batch', {}, []);
    const response = await app.request('/batch');
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(response.headers.get('content-type')).toContain('application/problem+json');
  });

  it('passes c.env bindings and c.executionCtx through to every sub-request', async () => {
    const app = new Hono<{ Bindings: { SECRET: string } }>();
    const waited: Promise<unknown>[] = [];
    app.get('/secret', (c) => {
      c.executionCtx.waitUntil(Promise.resolve(c.req.path));
      return c.text(c.env.SECRET);
    });
    app.post('/batch', batch(app));
    const executionCtx = {
      waitUntil: (promise: Promise<unknown>) => void waited.push(promise),
      passThroughOnException: () => {},
      props: {},
    };
    for (const format of ['json', 'multipart'] as const) {
      const sent = await sendInProcess(
        app,
        format,
        [{ target: '/secret' }, { target: '/secret' }],
        { SECRET: 's3cret' },
        executionCtx,
      );
      expect(sent.parts.map(text)).toEqual(['s3cret', 's3cret']);
    }
    expect(waited).toHaveLength(4);
    // Without an ExecutionContext the batch still runs (c.executionCtx throws in the item).
    const plain = new Hono<{ Bindings: { SECRET: string } }>();
    plain.get('/secret', (c) => c.text(c.env.SECRET));
    plain.post('/batch', batch(plain));
    const sent = await sendInProcess(plain, 'json', [{ target: '/secret' }], { SECRET: 'x' });
    expect(sent.parts.map(text)).toEqual(['x']);
  });

  it('reads a batch body that a validator already consumed', async () => {
    const app = new Hono();
    app.get('/hello', (c) => c.text('hi'));
    app.use('/batch', async (c, next) => {
      if (c.req.header('content-type')?.startsWith('application/json')) await c.req.json();
      else await c.req.arrayBuffer();
      await next();
    });
    app.post('/batch', batch(app));
    for (const format of ['json', 'multipart'] as const) {
      const sent = await sendInProcess(app, format, [{ target: '/hello' }, { target: '/hello' }]);
      expect(sent.status).toBe(200);
      expect(sent.parts.map(text)).toEqual(['hi', 'hi']);
    }
  });

  it('applies app middleware to sub-requests, resolving targets against a mounted base', async () => {
    const api = new Hono();
    api.use(async (c, next) => {
      await next();
      c.header('x-seen', c.req.path);
    });
    api.get('/v1/items/:id', (c) => c.json({ id: c.req.param('id') }));
    api.post('/v1/batch', batch(api));
    const encoded = encodeBatchRequest('json', [{ target: '/items/1' }, { target: 'items/2' }]);
    const response = await api.request('/v1/batch', {
      method: 'POST',
      headers: { 'content-type': encoded.contentType },
      body: encoded.body as Uint8Array<ArrayBuffer>,
    });
    const parts = await decodeBatchResponse({
      contentType: response.headers.get('content-type'),
      body: new Uint8Array(await response.arrayBuffer()),
    });
    expect(parts.map((part) => JSON.parse(text(part)))).toEqual([{ id: '1' }, { id: '2' }]);
    expect(parts.map((part) => headerValues(part, 'x-seen')[0])).toEqual([
      '/v1/items/1',
      '/v1/items/2',
    ]);
  });
});
