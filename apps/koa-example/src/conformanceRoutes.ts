import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { Router } from '@koa/router';
import type { Middleware } from 'koa';

/**
 * The routes of @batch/test-suite's conformance contract (`testApp.ts`): a generic app the
 * suite batches against. They need no bearer token (`/private` has its own 401 rule), and
 * answer their errors as `{ "error": … }`, as the contract says.
 */

const ECHOED = ['authorization', 'cookie', 'accept-language', 'host', 'x-custom', 'content-type'];

/** Records every request that reaches it (mounted after the batch route) as `METHOD url`. */
export function requestLog(log: string[]): Middleware {
  return async (ctx, next) => {
    log.push(`${ctx.method} ${ctx.url}`);
    await next();
  };
}

/** A body the JSON body parser left unread, as text; `null` if there is none. */
async function readText(req: IncomingMessage): Promise<string | null> {
  if (req.readableEnded) return null;
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length === 0 ? null : Buffer.concat(chunks).toString('utf8');
}

/**
 * The conformance routes, with their own `{ "error": message }` error handler. Their single
 * home: the adapter's own tests (packages/koa) mount them too.
 */
export function conformanceRoutes(): Router {
  const router = new Router();

  router.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      ctx.status = 500;
      ctx.body = { error: (error as Error).message };
    }
  });
  router.all('/echo{/*rest}', async (ctx) => {
    ctx.body = {
      method: ctx.method,
      url: ctx.url,
      body: ctx.request.rawBody === undefined ? await readText(ctx.req) : ctx.request.body,
      headers: Object.fromEntries(ECHOED.map((name) => [name, ctx.get(name) || null])),
      ip: ctx.ip || null,
    };
  });
  router.get('/cookies', (ctx) => {
    ctx.cookies.set('a', '1', { path: '/', httpOnly: false });
    ctx.cookies.set('b', '2', { path: '/', httpOnly: false });
    ctx.type = 'text/plain';
    ctx.body = 'ok';
  });
  router.get('/binary', (ctx) => {
    ctx.type = 'application/octet-stream';
    ctx.body = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  });
  router.get('/header', (ctx) => {
    const { name } = ctx.query;
    const spaces = Number(ctx.query.spaces);
    if (Number.isSafeInteger(spaces)) ctx.set('X-Echo', `a${' '.repeat(spaces)}b`);
    const lower = typeof name === 'string' ? name.toLowerCase() : '';
    ctx.body = { value: lower === '' ? null : (ctx.req.headers[lower] ?? null) };
  });
  router.get('/text', (ctx) => {
    ctx.type = 'text/plain; charset=utf-8';
    ctx.body = 'héllo wörld';
  });
  router.get('/empty', (ctx) => {
    ctx.status = 204;
  });
  router.get('/not-modified', (ctx) => {
    ctx.status = 304;
  });
  router.get('/redirect', (ctx) => {
    ctx.redirect('/echo');
  });
  router.get('/slow/:ms', async (ctx) => {
    const ms = Number(ctx.params.ms);
    await sleep(ms);
    ctx.body = { slept: ms };
  });
  router.get('/big/:kb', (ctx) => {
    ctx.type = 'application/octet-stream';
    ctx.body = Buffer.alloc(Number(ctx.params.kb) * 1024, 'x');
  });
  router.get('/fail', () => {
    throw new Error('boom');
  });
  router.get('/private', (ctx) => {
    if (ctx.get('authorization')) ctx.body = { ok: true };
    else {
      ctx.status = 401;
      ctx.body = { error: 'unauthorized' };
    }
  });
  router.get('/stream', (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = Readable.from(
      (async function* () {
        for (const chunk of ['a', 'b', 'c']) {
          yield chunk;
          await sleep(5);
        }
      })(),
    );
  });
  return router;
}
