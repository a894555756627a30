// How a sub-request looks to a Hono app (c.req, its helpers and middleware over the lazy
// Request of @batch/fetch), and how its answer is read, in both worlds a Hono app lives in
// on Node:
//   1. Node's own (undici) Request/Response: app.request(), no server;
//   2. @hono/node-server, which replaces the global Request/Response with light-weight ones.
// The first describe block must run before anything calls serve() (which swaps the globals
// for the rest of the process): vitest runs a file's tests in order, each file in its own
// process, and the block checks that the globals are still Node's own. So underNodeServer(),
// whose block serves the app, comes after it.
//
// The core of it: every probe route answers the same, byte for byte, to a direct request and
// to the same request sent as a batch item. Then what a probe cannot compare: the item's
// signal aborting on its timeout, forbidden methods. Those cases, the probes and the clients
// are @batch/test-suite's fetchProbes.ts: @batch/fetch's own dispatch.test.ts runs the same
// probes through a plain fetch handler and tests the readers' internals.

import type { SubRequestInit } from '@batch/core';
import {
  fetchDispatchCases,
  probeClient,
  RAW_PROBE_ROUTES,
  settle,
  underNodeServer,
  type Waited,
  waitForAbort,
} from '@batch/test-suite';
import { type Context, Hono } from 'hono';
import { methodOverride } from 'hono/method-override';
import { cloneRawRequest } from 'hono/request';
import { beforeAll, describe, expect, it } from 'vitest';
import { batch } from './index.js';

const NodeRequest = globalThis.Request;
const NodeResponse = globalThis.Response;

/**
 * The probe app: routes that report what they see of `c.req.raw` (@batch/test-suite's
 * RAW_PROBE_ROUTES) or of `c.req`'s helpers (below), `/batch` routes too.
 */
function probeApp(waited: Waited[], log: string[]) {
  const app = new Hono();
  app.use(async (c, next) => {
    if (!c.req.path.startsWith('/batch')) log.push(`${c.req.method} ${c.req.path}`);
    await next();
  });
  app.post('/batch', batch(app));
  // /probe/meta answers in a few ms, far under the timeout; /probe/wait waits 6 s unless aborted.
  app.post('/batch-timeout', batch(app, { timeoutMs: 500 }));
  app.use('/override/*', methodOverride({ app, header: 'x-http-method-override' }));
  app.patch('/override/echo', async (c) =>
    c.json({ method: c.req.method, body: await c.req.text() }),
  );
  app.mount('/mounted', async (request) => {
    const body = await request.text();
    return new Response(`${request.method} ${new URL(request.url).pathname} ${body}`);
  });
  for (const [key, see] of Object.entries(RAW_PROBE_ROUTES)) {
    const [method, path] = key.split(' ') as [string, string];
    const route = async (c: Context) => c.json((await see(c.req.raw)) as object);
    if (method === '*') app.all(path, route);
    else app.on(method, path, route);
  }
  app.post('/probe/json', async (c) =>
    c.json({ json: await settle(c.req.json()), used: c.req.raw.bodyUsed }),
  );
  app.post('/probe/clone', async (c) => {
    const clone = c.req.raw.clone();
    return c.json({
      clone: await clone.text(),
      own: await c.req.text(),
      used: c.req.raw.bodyUsed,
      cloneIsRequest: clone instanceof Request,
      cloneHeader: clone.headers.get('x-probe'),
    });
  });
  app.post('/probe/form', async (c) => {
    const form = await c.req.formData();
    return c.json({
      a: form.getAll('a'),
      b: form.get('b'),
      parsed: await c.req.parseBody({ all: true }),
      used: c.req.raw.bodyUsed,
    });
  });
  app.post('/probe/clone-raw', async (c) => {
    const json = await c.req.json();
    const clone = await cloneRawRequest(c.req);
    return c.json({ json, clone: await clone.json() });
  });
  app.get('/probe/wait', async (c) => {
    await waitForAbort(c.req.raw.signal, waited);
    return c.text('waited');
  });
  app.get(
    '/probe/status',
    () => new Response('teapot', { status: 200, statusText: 'Fine Thanks' }),
  );
  return app;
}

/** Hono's own probes, after @batch/test-suite's PROBES: its helpers, middleware and mount. */
const HONO_PROBES: SubRequestInit[] = [
  {
    method: 'POST',
    target: '/probe/clone-raw',
    headers: [['content-type', 'application/json']],
    body: '{"a":[1,2]}',
  },
  {
    method: 'POST',
    target: '/override/echo',
    headers: [
      ['content-type', 'text/plain'],
      ['x-http-method-override', 'PATCH'],
    ],
    body: 'overridden',
  },
  {
    method: 'POST',
    target: '/mounted/deep/path',
    headers: [['content-type', 'text/plain']],
    body: 'to mount',
  },
];

/** What the shared cases expect of the Hono app. */
const HONO_CASES = {
  requestName: 'c.req.raw',
  extraProbes: HONO_PROBES,
  formExtras: { parsed: { a: ['1', '2'], b: 'é' } },
};

describe("with Node's own Request and Response (app.request, no server)", () => {
  const waited: Waited[] = [];
  const log: string[] = [];
  const app = probeApp(waited, log);
  const client = probeClient(async (path, init) => app.request(path, init));

  beforeAll(() => {
    // The globals are undici's: no @hono/node-server server ran in this process yet.
    expect(globalThis.Request).toBe(NodeRequest);
    expect(NodeRequest.name).toBe('Request');
    expect(NodeResponse.name).toBe('Response');
  });

  fetchDispatchCases({ client: () => client, waited, log, ...HONO_CASES });

  it('answers with the reason phrase an app set (undici Response)', async () => {
    const [item] = await client.batch('multipart', [{ target: '/probe/status' }]);
    expect(item).toMatchObject({ status: 200, body: 'teapot', reason: 'Fine Thanks' });
  });
});

underNodeServer((waited, log) => probeApp(waited, log).fetch, HONO_CASES);
