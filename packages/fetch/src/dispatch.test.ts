// How a sub-request looks to the app, and how its answer is read — the fast paths of
// createSubRequest.ts and readSubResponse.ts — in both worlds a fetch handler lives in on Node:
//   1. Node's own (undici) Request/Response: the handler called, no server;
//   2. @hono/node-server, which replaces the global Request/Response with light-weight ones.
// The first describe block must run before anything calls serve() (which swaps the globals
// for the rest of the process): vitest runs a file's tests in order, each file in its own
// process, and the block checks that the globals are still Node's own.
//
// The core of it: every probe route answers the same, byte for byte, to a direct request and
// to the same request sent as a batch item. Then what a probe cannot compare: the item's
// signal aborting on its timeout, forbidden methods, the framework internals relied on.

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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lazyRequestsWork, urlOf } from './createSubRequest.js';
import { batch } from './index.js';
import { keptBodyKeyOf, readSubResponse } from './readSubResponse.js';

const NodeRequest = globalThis.Request;
const NodeResponse = globalThis.Response;
const decoder = new TextDecoder();

/** What a probe route saw of the request, as JSON. */
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

type Route = (request: Request) => Response | Promise<Response>;

/**
 * The probe app, a plain fetch handler (no framework): routes that report what they see of
 * the request, `/batch` routes too.
 */
function probeApp(waited: Waited[], log: string[]): (request: Request) => Promise<Response> {
  const json = (value: unknown) => Response.json(value);
  const routes = new Map<string, Route>();
  const handleBatch = batch(app);
  // /probe/meta answers in a few ms, far under the timeout; /probe/wait waits 6 s unless aborted.
  const handleTimeout = batch(app, { timeoutMs: 500 });
  async function app(request: Request): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === '/batch') return handleBatch(request);
    if (pathname === '/batch-timeout') return handleTimeout(request);
    log.push(`${request.method} ${pathname}`);
    const route = routes.get(`${request.method} ${pathname}`) ?? routes.get(`* ${pathname}`);
    return route === undefined ? new Response('not found', { status: 404 }) : route(request);
  }
  routes.set('* /probe/meta', (raw) => {
    const headers: Array<[string, string]> = [];
    raw.headers.forEach((value, name) => {
      if (name.startsWith('x-') || name === 'content-type') headers.push([name, value]);
    });
    return json({
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
  routes.set('GET /probe/get', async (raw) =>
    json({
      body: raw.body,
      text: await raw.text(),
      bytes: (await raw.arrayBuffer()).byteLength,
      json: await settle(raw.json()),
      used: raw.bodyUsed,
      clone: attempt(() => raw.clone()),
    }),
  );
  routes.set('POST /probe/text-twice', async (raw) => {
    const first = await raw.text();
    return json({
      first,
      second: await settle(raw.text()),
      json: await settle(raw.json()),
      used: raw.bodyUsed,
      clone: attempt(() => raw.clone()),
      copy: attempt(() => new Request(raw)),
    });
  });
  routes.set('POST /probe/json', async (raw) =>
    json({ json: await settle(raw.json()), used: raw.bodyUsed }),
  );
  routes.set('POST /probe/raw-json', async (raw) => json(await settle(raw.json())));
  routes.set('POST /probe/clone', async (raw) => {
    const clone = raw.clone();
    return json({
      clone: await clone.text(),
      own: await raw.text(),
      used: raw.bodyUsed,
      cloneIsRequest: clone instanceof Request,
      cloneHeader: clone.headers.get('x-probe'),
    });
  });
  routes.set('POST /probe/form', async (raw) => {
    const form = await raw.formData();
    return json({ a: form.getAll('a'), b: form.get('b'), used: raw.bodyUsed });
  });
  routes.set('POST /probe/stream', async (raw) => {
    const body = raw.body!;
    const reader = body.getReader();
    const chunks: number[] = [];
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      chunks.push(...chunk.value);
    return json({
      text: decoder.decode(Uint8Array.from(chunks)),
      same: raw.body === body,
      used: raw.bodyUsed,
      again: await settle(raw.text()),
    });
  });
  routes.set('POST /probe/copy', async (raw) => {
    const copy = new Request(raw);
    return json({
      method: copy.method,
      url: copy.url,
      header: copy.headers.get('x-probe'),
      text: await copy.text(),
      used: raw.bodyUsed,
    });
  });
  routes.set('POST /probe/copy-init', async (raw) => {
    const copy = new Request(`${raw.url}/copy`, raw);
    return json({ method: copy.method, url: copy.url, text: await copy.text() });
  });
  routes.set('POST /probe/bytes', async (raw) => {
    const buffer = await raw.arrayBuffer();
    const view = new Uint8Array(buffer);
    view[0] = 0; // the app owns its copy
    return json({ length: buffer.byteLength, bytes: [...view], used: raw.bodyUsed });
  });
  routes.set('POST /probe/blob', async (raw) => {
    const blob = await raw.blob();
    return json({ type: blob.type, size: blob.size, text: await blob.text() });
  });
  routes.set('POST /probe/mutate', (raw) => {
    raw.headers.set('x-added', 'yes');
    return json({ added: raw.clone().headers.get('x-added') });
  });
  routes.set('GET /probe/lazy', (raw) => json({ lazy: inspect(raw).startsWith('Request (lazy)') }));
  routes.set('GET /probe/wait', async (raw) => {
    const signal = raw.signal;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 6000);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    waited.push({ aborted: signal.aborted, reason: nameOf(signal.reason) });
    return new Response('waited');
  });
  routes.set(
    'GET /probe/status',
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
  { method: 'POST', target: '/probe/mutate', headers: [['content-type', 'text/plain']], body: 'm' },
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
    expect(lazyRequestsWork()).toBe(lazyExpected);
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

  it('shows the item signal as request.signal: it aborts when the item times out', async () => {
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

describe("with Node's own Request and Response (the handler called, no server)", () => {
  const waited: Waited[] = [];
  const log: string[] = [];
  const app = probeApp(waited, log);
  const origin = 'http://localhost';
  const client: Client = {
    async direct(request) {
      const response = await app(new Request(origin + request.target, init(request)));
      return { status: response.status, body: await response.text() };
    },
    async batch(format, requests, path = '/batch') {
      return readBatch(await app(new Request(origin + path, batchInit(format, requests))));
    },
  };

  beforeAll(() => {
    // The globals are undici's: no @hono/node-server server ran in this process yet.
    expect(globalThis.Request).toBe(NodeRequest);
    expect(NodeRequest.name).toBe('Request');
    expect(NodeResponse.name).toBe('Response');
    expect(keptBodyKeyOf(new Response('x'))).toBeUndefined();
  });

  dispatchCases(() => client, waited, log);

  it('reads an undici Response with arrayBuffer(), reason phrase included', async () => {
    const answer = await readSubResponse(new Response('x', { status: 201, statusText: 'Made' }));
    expect(answer).toMatchObject({ status: 201, statusText: 'Made' });
    expect(decoder.decode(answer.body as Uint8Array)).toBe('x');
    const [item] = await client.batch('multipart', [{ target: '/probe/status' }]);
    expect(item).toMatchObject({ status: 200, body: 'teapot', reason: 'Fine Thanks' });
  });

  it("takes a body's type from its Blob when the headers have no Content-Type (Bun's new Response(string))", async () => {
    // Bun leaves Content-Type out of `new Response('text').headers` but gives it to the
    // Blob; a standard Response without the header has a Blob without a type.
    const bunLike = new Response('hi', { headers: [['set-cookie', 'a=1']] });
    bunLike.headers.delete('content-type');
    const blob = bunLike.blob.bind(bunLike);
    bunLike.blob = async () => new Blob([await blob()], { type: 'text/plain;charset=utf-8' });
    const answer = await readSubResponse(bunLike);
    expect(answer.headers).toEqual([
      ['content-type', 'text/plain;charset=utf-8'],
      ['set-cookie', 'a=1'],
    ]);
    expect(decoder.decode(answer.body as Uint8Array)).toBe('hi');
    const untyped = await readSubResponse(new Response(Uint8Array.of(1, 2)));
    expect(untyped.headers).toEqual([]);
    expect(Array.from(untyped.body as Uint8Array)).toEqual([1, 2]);
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
    const server = serve({ fetch: app, port: 0, hostname: '127.0.0.1' }) as Server;
    ({ url: base, close } = await listen(server));
    expect(globalThis.Request).not.toBe(NodeRequest);
    expect(globalThis.Response).not.toBe(NodeResponse);
  });
  afterAll(() => close());

  dispatchCases(() => client, waited, log);

  it("relies on @hono/node-server's Response keeping [status, body, headers] under its `cache` symbol", () => {
    // If a version of @hono/node-server drops or reshapes it, this fails (the adapter would
    // silently fall back to arrayBuffer(), correct but slower).
    const response = new Response('kept', { status: 201, headers: { 'x-a': 'b' } });
    const key = keptBodyKeyOf(response);
    expect(typeof key).toBe('symbol');
    expect(key?.description).toBe('cache');
    expect((response as unknown as Record<symbol, unknown>)[key!]).toEqual([
      201,
      'kept',
      { 'x-a': 'b' },
    ]);
    expect(new Response(null, { status: 204 }) instanceof NodeResponse).toBe(true);
    expect(keptBodyKeyOf(new NodeResponse('undici'))).toBeUndefined();
  });

  it('reads a kept body without making the real Response (no stream), exactly as arrayBuffer() would', async () => {
    const bodies: Array<string | Uint8Array | null> = [
      '',
      'plain',
      '{"emoji":"😀","lone":"\ud800"}',
      Uint8Array.of(0, 1, 254, 255),
      Buffer.from('a buffer, sliced').subarray(2, 8),
      null,
    ];
    for (const body of bodies) {
      for (const status of [200, 201, 404, 500]) {
        const response = new Response(body as BodyInit | null, { status });
        const twin = new Response(body as BodyInit | null, { status });
        const key = keptBodyKeyOf(response)!;
        const answer = await readSubResponse(response);
        expect(key in response).toBe(true); // still light: nothing made it build a real one
        expect(answer.status).toBe(twin.status);
        const headers: Array<[string, string]> = [];
        twin.headers.forEach((value, name) => {
          headers.push([name, value]);
        });
        expect(answer.headers).toEqual(headers);
        expect(Array.from(answer.body as Uint8Array)).toEqual(
          body === null ? [] : Array.from(new Uint8Array(await twin.arrayBuffer())),
        );
      }
    }
    // The bytes are a copy: changing the app's buffer later changes nothing sent.
    const shared = Uint8Array.of(1, 2, 3);
    const answer = await readSubResponse(new Response(shared));
    shared[0] = 9;
    expect(Array.from(answer.body as Uint8Array)).toEqual([1, 2, 3]);
  });

  it('lists kept plain-object headers exactly as the Headers the Response would make', async () => {
    const random = seeded(7);
    const names = [
      'Content-Type',
      'content-type',
      'X-A',
      'x-a',
      'Set-Cookie',
      'ETag',
      'bad name',
      'x-é',
      'Z',
      'a',
    ];
    const values = [
      'v',
      ' padded\t',
      'a=1; Path=/',
      'é latin-1',
      '☃ beyond',
      'line\nbreak',
      '',
      'x\u0001y',
    ];
    const inits: unknown[] = [
      undefined,
      {},
      { 'Content-Type': 'application/json' },
      [['x-a', '1']],
      new Headers({ 'x-b': '2' }),
      Object.assign(Object.create(null), { 'X-Null': 'proto' }),
      { 'x-n': 1 },
    ];
    for (let i = 0; i < 300; i++) {
      const init: Record<string, string> = {};
      const count = Math.floor(random() * 4);
      for (let j = 0; j < count; j++) init[pick(random, names)] = pick(random, values);
      inits.push(init);
    }
    for (const headersInit of inits) {
      for (const body of ['b', null]) {
        const make = () => new Response(body, { headers: headersInit as HeadersInit });
        let expected: unknown;
        try {
          const list: Array<[string, string]> = [];
          const headers = make().headers;
          headers.forEach((value, name) => {
            if (name !== 'set-cookie') list.push([name, value]);
          });
          for (const cookie of headers.getSetCookie()) list.push(['set-cookie', cookie]);
          expected = list;
        } catch (error) {
          expected = nameOf(error);
        }
        const actual = await readSubResponse(make()).then(
          (answer) => answer.headers,
          (error: unknown) => nameOf(error),
        );
        expect(actual, inspect(headersInit)).toEqual(expected);
      }
    }
  });

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

describe('urlOf', () => {
  it('is new URL(origin + target).href for any target', () => {
    const random = seeded(42);
    const alphabet = [
      ...'abcXYZ019/?#&=;:@!$()*+,-._~[]\'"%<>\\^`{|} \t',
      'é',
      '☃',
      '%41',
      '%2e',
      '/.',
      '/..',
      '/./',
      '/../',
      '?',
    ];
    const targets = [
      '/',
      '/a',
      '/a/./b',
      '/a/../b',
      '/a/..',
      '/a?b=/../c',
      "/it's?q=it's",
      '/a#frag',
      '/%7e',
    ];
    for (let i = 0; i < 5000; i++) {
      let target = '/';
      const length = Math.floor(random() * 12);
      for (let j = 0; j < length; j++) target += pick(random, alphabet);
      targets.push(target);
    }
    for (const origin of ['http://localhost', 'http://127.0.0.1:8787', 'https://api.example.com']) {
      for (const target of targets)
        expect(urlOf(origin, target), target).toBe(new URL(origin + target).href);
    }
  });
});

function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}
