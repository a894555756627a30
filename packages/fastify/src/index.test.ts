import { request as httpRequest, type IncomingMessage } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { type BatchOptions, decodeBatchResponse, encodeBatchRequest } from '@batch/core';
import { conformanceSuite, listen, type RunningApp } from '@batch/test-suite';
import fastifyCompress from '@fastify/compress';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
// The conformance routes live in the example app (tests only: packages never depend on apps).
import {
  conformanceRoutes,
  requestLog,
} from '../../../apps/fastify-example/src/conformanceRoutes.js';
import { batch } from './index.js';

/** Listens on loopback, port 0; `close()` closes every connection, then the app. */
async function serve(app: FastifyInstance): Promise<Omit<RunningApp, 'log'>> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { url } = await listen(app.server);
  return {
    url,
    close: async () => {
      app.server.closeAllConnections();
      await app.close();
    },
  };
}

/**
 * The conformance app: the example app's conformance routes (shared) on a plain Fastify app
 * (its default parsers), the batch plugin registered at `batchPath` — under a prefix when
 * `prefixed` (the route `/batch` of a plugin registered with `prefix: '/v1'`).
 */
async function startFastifyApp(
  batchPath: string,
  options: BatchOptions,
  prefixed: boolean,
): Promise<RunningApp> {
  const log: string[] = [];
  const app = Fastify();
  requestLog(app, log, batchPath);
  const cut = batchPath.lastIndexOf('/');
  if (prefixed && cut > 0) {
    await app.register(batch, {
      ...options,
      prefix: batchPath.slice(0, cut),
      path: batchPath.slice(cut),
    } as BatchOptions);
  } else {
    await app.register(batch, { ...options, path: batchPath });
  }
  await app.register(conformanceRoutes);
  return { ...(await serve(app)), log };
}

conformanceSuite('@batch/fastify', {
  start: ({ batchPath, batch: options }) => startFastifyApp(batchPath, options, false),
});
conformanceSuite('@batch/fastify (registered with a prefix)', {
  start: ({ batchPath, batch: options }) => startFastifyApp(batchPath, options, true),
});

type Requests = Parameters<typeof encodeBatchRequest>[1];

/** Posts a JSON batch; the decoded parts, their bodies as JSON. */
async function post(url: string, requests: Requests, headers: Record<string, string> = {}) {
  const encoded = encodeBatchRequest('json', requests);
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': encoded.contentType, ...headers },
    body: encoded.body as Uint8Array<ArrayBuffer>,
  });
  expect(response.status).toBe(200);
  const parts = await decodeBatchResponse({
    contentType: response.headers.get('content-type'),
    body: new Uint8Array(await response.arrayBuffer()),
  });
  return parts.map((part) => ({
    status: part.status,
    headers: part.headers,
    // biome-ignore lint/suspicious/noExplicitAny: echoed JSON is read field by field
    json: JSON.parse(new TextDecoder().decode(part.body)) as any,
  }));
}

describe('@batch/fastify: the plugin', () => {
  const running: Omit<RunningApp, 'log'>[] = [];
  afterAll(async () => {
    await Promise.all(running.map((app) => app.close()));
  });
  const start = async (app: FastifyInstance) => {
    const started = await serve(app);
    running.push(started);
    return started;
  };

  it('runs each sub-request through hooks, decorators, schema validation and the error handler', async () => {
    const app = Fastify();
    const seen: string[] = [];
    app.decorateRequest('user', '');
    app.addHook('onRequest', async (request, reply) => {
      seen.push(`${request.method} ${request.url} ${request.headers['x-user'] ?? '-'}`);
      if (request.url.startsWith('/admin') && request.headers['x-user'] !== 'root')
        return reply.code(403).send({ error: 'forbidden' });
      (request as unknown as { user: string }).user = String(request.headers['x-user'] ?? '');
    });
    app.setErrorHandler<FastifyError>(async (error, _request, reply) =>
      reply.code(error.statusCode ?? 500).send({ handled: error.message }),
    );
    await app.register(batch, { path: '/batch' });
    app.get('/me', async (request) => ({ user: (request as unknown as { user: string }).user }));
    app.get('/admin', async () => ({ ok: true }));
    app.post(
      '/items',
      {
        schema: {
          body: {
            type: 'object',
            required: ['n'],
            properties: { n: { type: 'integer' } },
          },
        },
      },
      async (request, reply) => reply.code(201).send(request.body),
    );
    const { url } = await start(app);
    const json = [['Content-Type', 'application/json']] as [string, string][];
    const parts = await post(
      `${url}/batch`,
      [
        { target: '/me', headers: [['X-User', 'alice']] },
        { target: '/admin', headers: [['X-User', 'alice']] },
        { target: '/admin', headers: [['X-User', 'root']] },
        { method: 'POST', target: '/items', headers: json, body: '{"n":1}' },
        { method: 'POST', target: '/items', headers: json, body: '{"n":"one"}' },
      ],
      { 'x-user': 'outer' },
    );
    expect(parts.map((part) => part.status)).toEqual([200, 403, 200, 201, 400]);
    expect(parts[0]?.json).toEqual({ user: 'alice' });
    expect(parts[3]?.json).toEqual({ n: 1 });
    expect(parts[4]?.json.handled).toMatch(/body\/n must be integer/);
    // The hook saw the batch request once, then each sub-request with its own headers.
    expect(seen).toEqual([
      'POST /batch outer',
      'GET /me alice',
      'GET /admin alice',
      'GET /admin root',
      'POST /items outer',
      'POST /items outer',
    ]);
  });

  it("gives sub-requests the client's request.ip, protocol and host", async () => {
    const app = Fastify();
    await app.register(batch);
    app.get('/who', async (request) => ({
      ip: request.ip,
      protocol: request.protocol,
      host: request.host,
      remote: request.socket.remoteAddress,
    }));
    const { url } = await start(app);
    const parts = await post(`${url}/batch`, [{ target: '/who' }]);
    expect(parts[0]?.json).toEqual({
      ip: '127.0.0.1',
      protocol: 'http',
      host: new URL(url).host,
      remote: '127.0.0.1',
    });
  });

  it("leaves the app's own content-type parsers alone, and they never see the batch body", async () => {
    const app = Fastify();
    const parsed: string[] = [];
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
      parsed.push(String(body));
      done(null, { parsedByApp: JSON.parse(String(body)) });
    });
    await app.register(batch);
    app.post('/echo', async (request) => request.body);
    const { url } = await start(app);
    const parts = await post(`${url}/batch`, [
      {
        method: 'POST',
        target: '/echo',
        headers: [['Content-Type', 'application/json']],
        body: '{"a":1}',
      },
    ]);
    expect(parts[0]?.json).toEqual({ parsedByApp: { a: 1 } });
    expect(parsed).toEqual(['{"a":1}']);
    const direct = await fetch(`${url}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"b":2}',
    });
    expect(await direct.json()).toEqual({ parsedByApp: { b: 2 } });
  });

  it("sends the batch answer through the app's onSend hooks: compressed by @fastify/compress", async () => {
    const app = Fastify();
    await app.register(fastifyCompress, { threshold: 0 });
    app.addHook('onSend', async (request, reply, payload) => {
      if (request.url === '/batch') reply.header('x-on-send', 'batch');
      return payload;
    });
    await app.register(batch);
    app.get('/long', async () => ({ text: 'x'.repeat(4000) }));
    const { url } = await start(app);
    // Each item would inherit the batch's Accept-Encoding, and be compressed on its own too.
    const identity = [['Accept-Encoding', 'identity']] as [string, string][];
    const encoded = encodeBatchRequest('json', [
      { target: '/long', headers: identity },
      { target: '/long', headers: identity },
    ]);
    // node:http, not fetch: fetch would decompress the body.
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = httpRequest(`${url}/batch`, {
        method: 'POST',
        headers: { 'content-type': encoded.contentType, 'accept-encoding': 'gzip' },
      });
      req.on('response', resolve).on('error', reject).end(encoded.body);
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-on-send']).toBe('batch');
    expect(response.headers['content-encoding']).toBe('gzip');
    const chunks: Buffer[] = [];
    for await (const chunk of response) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    expect(raw.length).toBeLessThan(1000);
    const answer = JSON.parse(gunzipSync(raw).toString('utf8')) as {
      responses: { status: number; body: { text: string } }[];
    };
    expect(answer.responses.map((item) => item.status)).toEqual([200, 200]);
    expect(answer.responses[0]?.body.text).toHaveLength(4000);
  });

  it('runs onRequestAbort hooks of a sub-request aborted by its timeout', async () => {
    const app = Fastify();
    const aborted: string[] = [];
    app.addHook('onRequestAbort', async (request) => {
      aborted.push(request.url);
    });
    await app.register(batch, { timeoutMs: 200 });
    app.get('/hang', (_request, _reply) => new Promise(() => {}));
    app.get('/ok', async () => ({ ok: true }));
    const { url } = await start(app);
    const encoded = encodeBatchRequest('json', [{ target: '/hang' }, { target: '/ok' }]);
    const response = await fetch(`${url}/batch`, {
      method: 'POST',
      headers: { 'content-type': encoded.contentType },
      body: encoded.body as Uint8Array<ArrayBuffer>,
    });
    const { responses } = (await response.json()) as { responses: { status: number }[] };
    expect(responses.map((item) => item.status)).toEqual([504, 200]);
    expect(aborted).toEqual(['/hang']);
  });

  it('validates options at registration and never mutates them', async () => {
    const bad = Fastify();
    await expect(bad.register(batch, { concurrency: 0 })).rejects.toThrow(TypeError);
    const app = Fastify();
    const options = { path: '/b', concurrency: 2 };
    await app.register(batch, options);
    expect(options).toEqual({ path: '/b', concurrency: 2 });
    await app.close();
  });

  it("describes its route with @batch/core's OpenAPI description and answer schema, answers unchanged", async () => {
    const app = Fastify();
    const schemas: unknown[] = [];
    app.addHook('onRoute', (route) => {
      if (route.url === '/batch') schemas.push(route.schema);
    });
    await app.register(batch, { maxRequests: 7 });
    const { url } = await start(app);
    expect(schemas[0]).toMatchObject({
      summary: expect.any(String),
      description: expect.stringContaining('At most 7 requests'),
      tags: ['batch'],
      response: {
        200: { content: { 'application/json': { schema: { required: ['responses'] } } } },
      },
    });
    // The answer still goes out as the engine wrote it (bytes: no serializer runs on it).
    const response = await fetch(`${url}/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requests: [{ path: '/nowhere', id: 'x' }] }),
    });
    const answer = (await response.json()) as { responses: Array<Record<string, unknown>> };
    expect(answer.responses[0]).toMatchObject({ status: 404, id: 'x', path: '/nowhere' });
  });
});
