import { batch } from '@batch/hono';
import { Hono } from 'hono';
import { setCookie } from 'hono/cookie';
import { copies, describeRequest } from './describeRequest.js';

/**
 * A Hono app under `/hono/`, with an auth rule, its own error handler and `POST /hono/batch`
 * through `@batch/hono`.
 */
export const honoApp = new Hono().basePath('/hono');

honoApp.onError((error, c) => c.json({ error: error.message }, 500));
honoApp.use('/articles/*', async (c, next) => {
  if (!c.req.header('authorization')) return c.json({ error: 'unauthorized' }, 401);
  await next();
});
honoApp.get('/articles/:id', (c) => c.json({ id: Number(c.req.param('id')), title: 'MoFo' }));
honoApp.patch('/articles/:id', async (c) =>
  c.json({ id: Number(c.req.param('id')), ...(await c.req.json<Record<string, unknown>>()) }),
);
honoApp.get('/cookies', (c) => {
  setCookie(c, 'a', '1', { path: '/' });
  setCookie(c, 'b', '2', { path: '/' });
  return c.text('ok');
});
honoApp.get('/request', (c) => {
  let ctx: unknown;
  try {
    ctx = c.executionCtx;
  } catch {
    ctx = undefined;
  }
  return c.json(describeRequest(c.req.raw, c.env, ctx));
});
honoApp.post('/copy', async (c) => c.json(await copies(c.req.raw)));
honoApp.get('/fail', () => {
  throw new Error('boom');
});
honoApp.all('/batch', batch(honoApp, { concurrency: 4 }));
