import type { IncomingMessage } from 'node:http';
import { type BatchOptions, decodeBatchResponse, encodeBatchRequest } from '@batch/core';
import { conformanceSuite, listen, type RunningApp } from '@batch/test-suite';
import { bodyParser } from '@koa/bodyparser';
import { Router } from '@koa/router';
import Koa from 'koa';
import Koa2 from 'koa2';
import { afterAll, describe, expect, it } from 'vitest';
// The conformance routes live in the example app (tests only: packages never depend on apps).
import { conformanceRoutes, requestLog } from '../../../apps/koa-example/src/conformanceRoutes.js';
import { batch } from './index.js';

type KoaClass = typeof Koa;

/** How the test app mounts the batch route. */
interface Mount {
  Koa: KoaClass;
  /** `app.use(batch(app, { path }))`, or a @koa/router route (`all`, so non-POST gets the 405). */
  via: 'use' | 'router';
  /** Whether @koa/bodyparser runs before the batch middleware (it then hands over `rawBody`). */
  bodyParserFirst: boolean;
}

/** The body @koa/bodyparser left unread (octet-stream and the like), as text; `null` if none. */
async function readText(req: IncomingMessage): Promise<string | null> {
  if (req.readableEnded) return null;
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length === 0 ? null : Buffer.concat(chunks).toString('utf8');
}

async function serve(app: Koa, log: string[]): Promise<RunningApp> {
  return { ...(await listen(app.listen(0, '127.0.0.1'))), log };
}

/**
 * The conformance app (see @batch/test-suite's `testApp.ts`): the example app's conformance
 * routes (shared), with the batch route and the body parser mounted as `mount` says.
 */
async function startKoaApp(mount: Mount, batchPath: string, options: BatchOptions) {
  const app = new mount.Koa();
  const log: string[] = [];

  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      ctx.status = 500;
      ctx.body = { error: (error as Error).message };
    }
  });
  const parseBodies = bodyParser({ enableTypes: ['json', 'text'] });
  if (mount.bodyParserFirst) app.use(parseBodies);
  if (mount.via === 'use') app.use(batch(app, { ...options, path: batchPath }));
  if (!mount.bodyParserFirst) app.use(parseBodies);
  if (mount.via === 'router') {
    const router = new Router();
    router.all([batchPath, `${batchPath}/jobs/:id`], batch(app, options));
    app.use(router.routes());
  }
  app.use(requestLog(log));
  app.use(conformanceRoutes().routes());
  return serve(app, log);
}

conformanceSuite('@batch/koa (Koa 3, app.use)', {
  start: ({ batchPath, batch }) =>
    startKoaApp({ Koa, via: 'use', bodyParserFirst: false }, batchPath, batch),
});

conformanceSuite('@batch/koa (Koa 3, @koa/router)', {
  start: ({ batchPath, batch }) =>
    startKoaApp({ Koa, via: 'router', bodyParserFirst: true }, batchPath, batch),
});

conformanceSuite('@batch/koa (Koa 2, app.use)', {
  start: ({ batchPath, batch }) =>
    startKoaApp({ Koa: Koa2, via: 'use', bodyParserFirst: true }, batchPath, batch),
});

describe('@batch/koa: the adapter', () => {
  const running: RunningApp[] = [];
  afterAll(async () => {
    await Promise.all(running.map((app) => app.close()));
  });
  const start = async (app: Koa) => {
    const started = await serve(app, []);
    running.push(started);
    return started;
  };
  const post = async (url: string, requests: Parameters<typeof encodeBatchRequest>[1]) => {
    const encoded = encodeBatchRequest('json', requests);
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': encoded.contentType },
      body: encoded.body as Uint8Array<ArrayBuffer>,
    });
    const body = new Uint8Array(await response.arrayBuffer());
    const contentType = response.headers.get('content-type');
    expect(response.status).toBe(200);
    const parts = await decodeBatchResponse({ contentType, body });
    return parts.map((part) => ({
      status: part.status,
      // biome-ignore lint/suspicious/noExplicitAny: echoed JSON is read field by field
      json: JSON.parse(new TextDecoder().decode(part.body)) as any,
    }));
  };

  it("gives each sub-request the client's ctx.ip and a fresh ctx.state", async () => {
    const app = new Koa();
    let outer: { ip: string; requestIp: string; state: unknown } | undefined;
    app.use(async (ctx, next) => {
      ctx.state.keysAtEntry = Object.keys(ctx.state);
      ctx.state.user = ctx.get('x-user') || null;
      ctx.state.count = ((ctx.state.count as number | undefined) ?? 0) + 1;
      if (ctx.path === '/batch')
        outer = { ip: ctx.ip, requestIp: ctx.request.ip, state: ctx.state };
      await next();
    });
    app.use(batch(app, { path: '/batch', concurrency: 2 }));
    app.use((ctx) => {
      ctx.body = { ip: ctx.ip, requestIp: ctx.request.ip, state: ctx.state };
    });
    const { url } = await start(app);
    const parts = await post(`${url}/batch`, [
      { target: '/who', headers: [['X-User', 'alice']] },
      { target: '/who', headers: [['X-User', 'bob']] },
      { target: '/who' },
    ]);
    expect(outer?.ip).toBe('127.0.0.1');
    expect(outer?.requestIp).toBe('127.0.0.1');
    expect(outer?.state).toEqual({ keysAtEntry: [], user: null, count: 1 });
    expect(parts.map((part) => part.status)).toEqual([200, 200, 200]);
    for (const part of parts) {
      expect(part.json.ip).toBe(outer?.ip);
      expect(part.json.requestIp).toBe(outer?.requestIp);
    }
    expect(parts.map((part) => part.json.state)).toEqual([
      { keysAtEntry: [], user: 'alice', count: 1 },
      { keysAtEntry: [], user: 'bob', count: 1 },
      { keysAtEntry: [], user: null, count: 1 },
    ]);
  });

  it('with app.proxy, gives sub-requests the forwarded client address too', async () => {
    const app = new Koa({ proxy: true });
    app.use(batch(app, { path: '/batch' }));
    app.use((ctx) => {
      ctx.body = { ip: ctx.ip, ips: ctx.ips };
    });
    const { url } = await start(app);
    const encoded = encodeBatchRequest('multipart', [{ target: '/a' }, { target: '/b' }]);
    const response = await fetch(`${url}/batch`, {
      method: 'POST',
      headers: { 'content-type': encoded.contentType, 'x-forwarded-for': '203.0.113.7' },
      body: encoded.body as Uint8Array<ArrayBuffer>,
    });
    const parts = await decodeBatchResponse({
      contentType: response.headers.get('content-type'),
      body: new Uint8Array(await response.arrayBuffer()),
    });
    expect(parts.map((part) => JSON.parse(new TextDecoder().decode(part.body)))).toEqual([
      { ip: '203.0.113.7', ips: ['203.0.113.7'] },
      { ip: '203.0.113.7', ips: ['203.0.113.7'] },
    ]);
  });

  it('works as a @koa/router route (router.post, prefix, allowedMethods), base from the URL', async () => {
    const app = new Koa();
    const router = new Router({ prefix: '/api' });
    router.post('/batch', batch(app));
    router.get('/items/:id', (ctx) => {
      ctx.body = { id: ctx.params.id, url: ctx.url };
    });
    app.use(bodyParser());
    app.use(router.routes()).use(router.allowedMethods());
    const { url } = await start(app);
    const parts = await post(`${url}/api/batch`, [
      { target: '/items/1' },
      { target: 'items/2?x=1' },
      { target: '/api/items/3' },
    ]);
    expect(parts.map((part) => part.json)).toEqual([
      { id: '1', url: '/api/items/1' },
      { id: '2', url: '/api/items/2?x=1' },
      { id: '3', url: '/api/items/3' },
    ]);
    const get = await fetch(`${url}/api/batch`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('resolves targets against the URL the client sent when a koa-mount-style prefix is stripped', async () => {
    const app = new Koa();
    const router = new Router();
    router.post('/batch', batch(app));
    router.get('/items/:id', (ctx) => {
      ctx.body = { id: ctx.params.id, url: ctx.url, originalUrl: ctx.originalUrl };
    });
    // What koa-mount('/api', …) does: the middleware below sees paths without the prefix.
    app.use(async (ctx, next) => {
      if (!ctx.path.startsWith('/api/')) return;
      const path = ctx.path;
      ctx.path = path.slice('/api'.length);
      await next();
      ctx.path = path;
    });
    app.use(router.routes());
    const { url } = await start(app);
    const parts = await post(`${url}/api/batch`, [{ target: '/items/1' }]);
    expect(parts.map((part) => part.json)).toEqual([
      { id: '1', url: '/items/1', originalUrl: '/api/items/1' },
    ]);
  });

  it('takes a body already parsed without rawBody (ctx.request.body only)', async () => {
    const app = new Koa();
    app.use(async (ctx, next) => {
      if (ctx.method === 'POST' && ctx.is('json')) {
        ctx.request.body = JSON.parse((await readText(ctx.req)) ?? 'null');
      }
      await next();
    });
    app.use(batch(app, { path: '/batch' }));
    app.use((ctx) => {
      ctx.body = { method: ctx.method, body: ctx.request.body ?? null };
    });
    const { url } = await start(app);
    const parts = await post(`${url}/batch`, [
      {
        method: 'POST',
        target: '/a',
        headers: [['Content-Type', 'application/json']],
        body: '{"n":1}',
      },
      { target: '/b' },
    ]);
    expect(parts.map((part) => part.json)).toEqual([
      { method: 'POST', body: { n: 1 } },
      { method: 'GET', body: null },
    ]);
  });

  it('validates options at once and never mutates them', () => {
    const app = new Koa();
    expect(() => batch(app, { concurrency: 0 })).toThrow(TypeError);
    const options = { path: '/batch', concurrency: 2 };
    batch(app, options);
    expect(options).toEqual({ path: '/batch', concurrency: 2 });
  });
});
