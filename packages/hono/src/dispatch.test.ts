// How a sub-request looks to a Hono app (c.req, its helpers and middleware over the lazy
// Request of @batch/fetch), and how its answer is read, in both worlds a Hono app lives in
// on Node:
//   1. Node's own (undici) Request/Response: app.request(), no server;
//   2. @hono/node-server, which replaces the global Request/Response with light-weight ones.
// The first describe block must run before anything calls serve() (which swaps the globals
// for the rest of the process): vitest runs a file's tests in order, each file in its own
// process, and the block checks that the globals are still Node's own.
//
// The core of it: every probe route answers the same, byte for byte, to a direct request and
// to the same request sent as a batch item. Then what a probe cannot compare: the item's
// signal aborting on its timeout, forbidden methods. @batch/fetch's own dispatch.test.ts runs
// the same probes through a plain fetch handler and tests the readers' internals.

import type { Server } from 'node:http';
import { inspect } from 'node:util';
import {
  type BatchFormat,
  decodeBatchResponse,
  encodeBatchRequest,
  type SubRequestInit,
} from '@batch/core';
import { listen } from '@batch/test-suite';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { methodOverride } from 'hono/method-override';
import { cloneRawRequest } from 'hono/request';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batch } from './index.js';

const NodeRequest = globalThis.Request;
const NodeResponse = globalThis.Response;
const decoder = new TextDecoder();

/** What a probe route saw of `c.req.raw`, as JSON. */
const nameOf = (error: unknown) => (error instanceof Error ? error.constructor.name : 'non-error');
const settle = (promise: Promise<unknown>) =>
  promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error: nameOf(error) }),
  );
const attempt = (run: () => unknown) => {
  try {
    run();
    return 'ok';
  } catch (error) {
    return nameOf(error);
  }
};

/** The property reads as the same object twice. */
const stable = (object: object, key: string) => {
  const first: unknown = Reflect.get(object, key);
  return first === Reflect.get(object, key);
};

interface Waited {
  aborted: boolean;
  reason: string;
}

/** The probe app: routes that report what they see of the request, `/batch` routes too. */
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
  app.all('/probe/meta', (c) => {
    const raw = c.req.raw;
    const headers: Array<[string, string]> = [];
    raw.headers.forEach((value, name) => {
      if (name.startsWith('x-') || name === 'content-type') headers.push([name, value]);
    });
    return c.json({
      method: raw.method,
      url: raw.url,
      instance: raw instanceof Request,
      tag: Object.prototype.toString.call(raw),
      headers,
      signal: raw.signal instanceof AbortSignal && !raw.signal.aborted && stable(raw, 'signal'),
      bodyUsed: raw.bodyUsed,
      cache: raw.cache,
      credentials: raw.credentials,
      destination: raw.destination,
      integrity: raw.integrity,
      keepalive: raw.keepalive,
      mode: raw.mode,
      redirect: raw.redirect,
      referrer: raw.referrer,
      referrerPolicy: raw.referrerPolicy,
      duplex: (raw as Request & { duplex?: string }).duplex,
    });
  });
  app.get('/probe/get', async (c) => {
    const raw = c.req.raw;
    return c.json({
      body: raw.body,
      text: await raw.text(),
      bytes: (await raw.arrayBuffer()).byteLength,
      json: await settle(raw.json()),
      used: raw.bodyUsed,
      clone: attempt(() => raw.clone()),
    });
  });
  app.post('/probe/text-twice', async (c) => {
    const raw = c.req.raw;
    const first = await raw.text();
    return c.json({
      first,
      second: await settle(raw.text()),
      json: await settle(raw.json()),
      used: raw.bodyUsed,
      clone: attempt(() => raw.clone()),
      copy: attempt(() => new Request(raw)),
    });
  });
  app.post('/probe/json', async (c) =>
    c.json({ json: await settle(c.req.json()), used: c.req.raw.bodyUsed }),
  );
  app.post('/probe/raw-json', async (c) => c.json(await settle(c.req.raw.json())));
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
  app.post('/probe/stream', async (c) => {
    const raw = c.req.raw;
    const body = raw.body!;
    const reader = body.getReader();
    const chunks: number[] = [];
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      chunks.push(...chunk.value);
    return c.json({
      text: decoder.decode(Uint8Array.from(chunks)),
      same: raw.body === body,
      used: raw.bodyUsed,
      again: await settle(raw.text()),
    });
  });
  app.post('/probe/copy', async (c) => {
    const raw = c.req.raw;
    const copy = new Request(raw);
    return c.json({
      method: copy.method,
      url: copy.url,
      header: copy.headers.get('x-probe'),
      text: await copy.text(),
      used: raw.bodyUsed,
    });
  });
  app.post('/probe/copy-init', async (c) => {
    const copy = new Request(`${c.req.url}/copy`, c.req.raw);
    return c.json({ method: copy.method, url: copy.url, text: await copy.text() });
  });
  app.post('/probe/bytes', async (c) => {
    const raw = c.req.raw;
    const buffer = await raw.arrayBuffer();
    const view = new Uint8Array(buffer);
    view[0] = 0; // the app owns its copy
    return c.json({ length: buffer.byteLength, bytes: [...view], used: raw.bodyUsed });
  });
  app.post('/probe/blob', async (c) => {
    const blob = await c.req.raw.blob();
    return c.json({ type: blob.type, size: blob.size, text: await blob.text() });
  });
  app.post('/probe/clone-raw', async (c) => {
    const json = await c.req.json();
    const clone = await cloneRawRequest(c.req);
    return c.json({ json, clone: await clone.json() });
  });
  app.post('/probe/mutate', async (c) => {
    c.req.raw.headers.set('x-added', 'yes');
    return c.json({ added: c.req.raw.clone().headers.get('x-added') });
  });
  app.get('/probe/lazy', (c) => c.json({ lazy: inspect(c.req.raw).startsWith('Request (lazy)') }));
  app.get('/probe/wait', async (c) => {
    const signal = c.req.raw.signal;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 6000);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    waited.push({ aborted: signal.aborted, reason: nameOf(signal.reason) });
    return c.text('waited');
  });
  app.get(
    '/probe/status',
    () => new Response('teapot', { status: 200, statusText: 'Fine Thanks' }),
  );
  return app;
}

const form = 'application/x-www-form-urlencoded';
/** Each answered the same directly and as a batch item. */
const PROBES: SubRequestInit[] = [
  { method: 'GET', target: '/probe/meta?q=1', headers: [['X-Probe', 'a']] },
  { method: 'DELETE', target: '/probe/meta', headers: [['x-probe', ' spaced ']] },
  {
    method: 'POST',
    target: '/probe/meta',
    headers: [
      ['content-type', 'text/plain'],
      ['x-probe', 'b'],
    ],
    body: 'hello',
  },
  { method: 'GET', target: '/probe/get' },
  {
    method: 'POST',
    target: '/probe/text-twice',
    headers: [['content-type', 'text/plain']],
    body: 'once',
  },
  {
    method: 'POST',
    target: '/probe/json',
    headers: [['content-type', 'application/json']],
    body: '\uFEFF{"title":"MoFo ☃"}',
  },
  {
    method: 'POST',
    target: '/probe/json',
    headers: [['content-type', 'application/json']],
    body: '{',
  },
  {
    method: 'POST',
    target: '/probe/raw-json',
    headers: [['content-type', 'application/json']],
    body: 'nope',
  },
  {
    method: 'POST',
    target: '/probe/clone',
    headers: [
      ['content-type', 'text/plain'],
      ['x-probe', 'c'],
    ],
    body: 'cloned',
  },
  {
    method: 'POST',
    target: '/probe/form',
    headers: [['content-type', form]],
    body: 'a=1&b=%C3%A9&a=2',
  },
  {
    method: 'POST',
    target: '/probe/stream',
    headers: [['content-type', 'text/plain']],
    body: 'streamed ✓',
  },
  {
    method: 'POST',
    target: '/probe/copy',
    headers: [
      ['content-type', 'text/plain'],
      ['x-probe', 'd'],
    ],
    body: 'copied',
  },
  {
    method: 'POST',
    target: '/probe/copy-init',
    headers: [['content-type', 'text/plain']],
    body: 'init',
  },
  {
    method: 'POST',
    target: '/probe/bytes',
    headers: [['content-type', 'application/octet-stream']],
    body: Uint8Array.of(9, 0, 255, 128),
  },
  {
    method: 'POST',
    target: '/probe/blob',
    headers: [['content-type', 'text/x-probe']],
    body: 'blob',
  },
  {
    method: 'POST',
    target: '/probe/clone-raw',
    headers: [['content-type', 'application/json']],
    body: '{"a":[1,2]}',
  },
  { method: 'POST', target: '/probe/mutate', headers: [['content-type', 'text/plain']], body: 'm' },
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
  { method: 'GET', target: "/probe/a/../meta?x=%41&y=it's" },
];

interface Answer {
  status: number;
  body: string;
  reason?: string;
}

/** Sends requests directly and as batches; two implementations: in-process and over HTTP. */
interface Client {
  direct(request: SubRequestInit): Promise<Answer>;
  batch(format: BatchFormat, requests: SubRequestInit[], path?: string): Promise<Answer[]>;
}

function init(request: SubRequestInit): RequestInit {
  const body = request.body;
  return {
    method: request.method ?? 'GET',
    headers: request.headers ?? [],
    ...(body === undefined ? {} : { body: body as string | Uint8Array<ArrayBuffer> }),
  };
}

async function readBatch(response: Response): Promise<Answer[]> {
  expect(response.status).toBe(200);
  const parts = await decodeBatchResponse({
    contentType: response.headers.get('content-type'),
    body: new Uint8Array(await response.arrayBuffer()),
  });
  return parts.map((part) => ({
    status: part.status,
    body: decoder.decode(part.body),
    reason: part.statusText,
  }));
}

function batchInit(format: BatchFormat, requests: SubRequestInit[]): RequestInit {
  const encoded = encodeBatchRequest(format, requests);
  return {
    method: 'POST',
    headers: { 'content-type': encoded.contentType },
    body: encoded.body as Uint8Array<ArrayBuffer>,
  };
}

/** The shared cases, run against one client. */
function dispatchCases(client: () => Client, waited: Waited[], log: string[]) {
  // Node 20 and 22 (undici 6) pass the self-test; Node 24's undici copies a Request by
  // private fields, so it fails and every item is a real Request there (slower, the same).
  // A runtime that changes either way fails this test, so someone looks.
  const lazyExpected = Number(process.versions.node.split('.')[0]) < 24;
  it(`${lazyExpected ? 'uses' : 'falls back from'} lazy requests on this runtime (Node ${process.versions.node})`, async () => {
    const [answer] = await client().batch('json', [{ target: '/probe/lazy' }]);
    expect(JSON.parse(answer!.body)).toEqual({ lazy: lazyExpected });
  });

  describe.each(['json', 'multipart'] as const)('%s batch', (format) => {
    it('answers every probe exactly as a direct request does', async () => {
      const direct = [];
      for (const probe of PROBES) direct.push(await client().direct(probe));
      const batched = await client().batch(format, PROBES);
      expect(batched.map(({ status, body }) => ({ status, body }))).toEqual(
        direct.map(({ status, body }) => ({ status, body })),
      );
      // A sanity check of the probes themselves (the comparison would pass on two equal bugs).
      const [meta, , post, get, twice, json, badJson, rawJson, clone, formAnswer, stream, copy] =
        batched.slice(0, 12).map((answer) => JSON.parse(answer.body));
      expect(meta).toMatchObject({
        method: 'GET',
        instance: true,
        tag: '[object Request]',
        headers: [['x-probe', 'a']],
        signal: true,
        bodyUsed: false,
      });
      expect(meta.url).toMatch(/^http:\/\/[^/]+\/probe\/meta\?q=1$/);
      expect(post.headers).toEqual([
        ['content-type', 'text/plain'],
        ['x-probe', 'b'],
      ]);
      expect(get).toEqual({
        body: null,
        text: '',
        bytes: 0,
        json: { error: 'SyntaxError' },
        used: false,
        clone: 'ok',
      });
      expect(twice).toEqual({
        first: 'once',
        second: { error: 'TypeError' },
        json: { error: 'TypeError' },
        used: true,
        clone: 'TypeError',
        copy: 'TypeError',
      });
      expect(json).toEqual({ json: { value: { title: 'MoFo ☃' } }, used: true });
      expect(badJson.json.error).toBeDefined();
      expect(rawJson).toEqual({ error: 'SyntaxError' });
      expect(clone).toEqual({
        clone: 'cloned',
        own: 'cloned',
        used: true,
        cloneIsRequest: true,
        cloneHeader: 'c',
      });
      expect(formAnswer).toEqual({
        a: ['1', '2'],
        b: 'é',
        parsed: { a: ['1', '2'], b: 'é' },
        used: true,
      });
      expect(stream).toEqual({
        text: 'streamed ✓',
        same: true,
        used: true,
        again: { error: 'TypeError' },
      });
      expect(copy).toMatchObject({ method: 'POST', header: 'd', text: 'copied', used: true });
    });
  });

  it('shows the item signal as c.req.raw.signal: it aborts when the item times out', async () => {
    waited.length = 0;
    const started = Date.now();
    const answers = await client().batch(
      'json',
      [{ target: '/probe/wait' }, { target: '/probe/meta' }],
      '/batch-timeout',
    );
    expect(answers.map((answer) => answer.status)).toEqual([504, 200]);
    await expect.poll(() => waited.length).toBe(1);
    expect(waited[0]?.aborted).toBe(true);
    expect(Date.now() - started).toBeLessThan(2500);
  });

  it('refuses what the Request constructor refuses (TRACE): 500, the app never sees it', async () => {
    log.length = 0;
    const answers = await client().batch('json', [{ method: 'TRACE', target: '/probe/meta' }]);
    expect(answers[0]?.status).toBe(500);
    expect(log).toEqual([]);
  });
}

describe("with Node's own Request and Response (app.request, no server)", () => {
  const waited: Waited[] = [];
  const log: string[] = [];
  const app = probeApp(waited, log);
  const client: Client = {
    async direct(request) {
      const response = await app.request(request.target, init(request));
      return { status: response.status, body: await response.text() };
    },
    async batch(format, requests, path = '/batch') {
      return readBatch(await app.request(path, batchInit(format, requests)));
    },
  };

  beforeAll(() => {
    // The globals are undici's: no @hono/node-server server ran in this process yet.
    expect(globalThis.Request).toBe(NodeRequest);
    expect(NodeRequest.name).toBe('Request');
    expect(NodeResponse.name).toBe('Response');
  });

  dispatchCases(() => client, waited, log);

  it('answers with the reason phrase an app set (undici Response)', async () => {
    const [item] = await client.batch('multipart', [{ target: '/probe/status' }]);
    expect(item).toMatchObject({ status: 200, body: 'teapot', reason: 'Fine Thanks' });
  });
});

describe('under @hono/node-server (light-weight global Request and Response), over HTTP', () => {
  const waited: Waited[] = [];
  const log: string[] = [];
  let base = '';
  let close = async () => {};
  const client: Client = {
    async direct(request) {
      const response = await fetch(base + request.target, init(request));
      return { status: response.status, body: await response.text() };
    },
    async batch(format, requests, path = '/batch') {
      return readBatch(await fetch(base + path, batchInit(format, requests)));
    },
  };

  beforeAll(async () => {
    const app = probeApp(waited, log);
    const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server;
    ({ url: base, close } = await listen(server));
    expect(globalThis.Request).not.toBe(NodeRequest);
    expect(globalThis.Response).not.toBe(NodeResponse);
  });
  afterAll(() => close());

  dispatchCases(() => client, waited, log);

  it('answers without the reason phrase an app set, as @hono/node-server does to a direct request', async () => {
    const direct = await new Promise<string | undefined>((resolve, reject) => {
      import('node:http').then(({ get }) =>
        get(`${base}/probe/status`, (res) => {
          res.resume();
          resolve(res.statusMessage);
        }).on('error', reject),
      );
    });
    expect(direct).toBe('OK');
    const [item] = await client.batch('multipart', [{ target: '/probe/status' }]);
    expect(item).toMatchObject({ status: 200, body: 'teapot', reason: 'OK' });
  });
});
