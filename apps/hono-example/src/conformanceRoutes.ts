import type { HttpBindings } from '@hono/node-server';
import { Hono, type MiddlewareHandler } from 'hono';
import { setCookie } from 'hono/cookie';
import { stream } from 'hono/streaming';

/**
 * The routes of the conformance suite's test app (packages/test-suite/src/testApp.ts): a
 * generic app with no bearer-token rule (`/private` has its own 401 rule) and its own error
 * handler (`{ "error": message }`), served only by `createApp({ conformance: true })`.
 */

const ECHOED = ['authorization', 'cookie', 'accept-language', 'host', 'x-custom', 'content-type'];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The path and query of a request URL. */
const pathAndQuery = (url: string) => url.slice(url.indexOf('/', url.indexOf('//') + 2));

/** Records every request that reaches it, as `METHOD url` (mount it after the batch route). */
export function requestLog(log: string[]): MiddlewareHandler {
  return async (c, next) => {
    log.push(`${c.req.method} ${pathAndQuery(c.req.url)}`);
    await next();
  };
}

/**
 * The conformance routes, with their own `{ "error": message }` error handler. Their single
 * home: the adapter's own tests (packages/hono) mount them too.
 */
export function conformanceRoutes() {
  const app = new Hono<{ Bindings: Partial<HttpBindings> }>();
  app.onError((error, c) => c.json({ error: error.message }, 500));

  app.all('/echo/*', async (c) => {
    const text = await c.req.text();
    const isJson = c.req.header('content-type')?.startsWith('application/json') === true;
    return c.json({
      method: c.req.method,
      url: pathAndQuery(c.req.url),
      body: text === '' ? null : isJson ? JSON.parse(text) : text,
      headers: Object.fromEntries(ECHOED.map((name) => [name, c.req.header(name) ?? null])),
      ip: c.env?.incoming?.socket.remoteAddress ?? null,
    });
  });
  app.get('/cookies', (c) => {
    setCookie(c, 'a', '1', { path: '/' });
    setCookie(c, 'b', '2', { path: '/' });
    return c.text('ok');
  });
  app.get('/binary', (c) =>
    c.body(
      Uint8Array.from({ length: 256 }, (_, i) => i),
      200,
      {
        'Content-Type': 'application/octet-stream',
      },
    ),
  );
  app.get('/header', (c) => {
    const name = c.req.query('name');
    const spaces = Number(c.req.query('spaces'));
    const body = JSON.stringify({ value: name ? (c.req.header(name) ?? null) : null });
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (Number.isSafeInteger(spaces)) headers['X-Echo'] = `a${' '.repeat(spaces)}b`;
    // A plain-object init, as an app's own `new Response` passes it.
    return new Response(body, { status: 200, headers });
  });
  app.get('/text', (c) => c.text('héllo wörld'));
  app.get('/empty', (c) => c.body(null, 204));
  app.get('/not-modified', (c) => c.body(null, 304));
  app.get('/redirect', (c) => c.redirect('/echo', 302));
  app.get('/slow/:ms', async (c) => {
    const ms = Number(c.req.param('ms'));
    await sleep(ms);
    return c.json({ slept: ms });
  });
  app.get('/big/:kb', (c) =>
    c.body(new Uint8Array(Number(c.req.param('kb')) * 1024).fill(0x78), 200, {
      'Content-Type': 'application/octet-stream',
    }),
  );
  app.get('/fail', () => {
    throw new Error('boom');
  });
  app.get('/private', (c) =>
    c.req.header('authorization') ? c.json({ ok: true }) : c.json({ error: 'unauthorized' }, 401),
  );
  app.get('/stream', (c) => {
    c.header('Content-Type', 'text/plain');
    return stream(c, async (out) => {
      for (const chunk of ['a', 'b', 'c']) {
        await out.write(chunk);
        await out.sleep(5);
      }
    });
  });
  return app;
}
