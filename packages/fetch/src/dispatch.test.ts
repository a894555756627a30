// How a sub-request looks to the app, and how its answer is read — the fast paths of
// createSubRequest.ts and readSubResponse.ts — in both worlds a fetch handler lives in on Node:
//   1. Node's own (undici) Request/Response: the handler called, no server;
//   2. @hono/node-server, which replaces the global Request/Response with light-weight ones.
// The first describe block must run before anything calls serve() (which swaps the globals
// for the rest of the process): vitest runs a file's tests in order, each file in its own
// process, and the block checks that the globals are still Node's own. So underNodeServer(),
// whose block serves the app, comes after it.
//
// The core of it: every probe route answers the same, byte for byte, to a direct request and
// to the same request sent as a batch item. Then what a probe cannot compare: the item's
// signal aborting on its timeout, forbidden methods (those cases, the probes and the clients
// are @batch/test-suite's fetchProbes.ts, shared with @batch/hono); then the framework
// internals relied on.

import { inspect } from 'node:util';
import {
  fetchDispatchCases,
  nameOf,
  probeClient,
  RAW_PROBE_ROUTES,
  settle,
  underNodeServer,
  type Waited,
  waitForAbort,
} from '@batch/test-suite';
import { beforeAll, describe, expect, it } from 'vitest';
import { lazyRequestsWork, urlOf } from './createSubRequest.js';
import { batch } from './index.js';
import { keptBodyKeyOf, readSubResponse } from './readSubResponse.js';

const NodeRequest = globalThis.Request;
const NodeResponse = globalThis.Response;
const decoder = new TextDecoder();

type Route = (request: Request) => Response | Promise<Response>;

/**
 * The probe app, a plain fetch handler (no framework): routes that report what they see of
 * the request (@batch/test-suite's RAW_PROBE_ROUTES and those below), `/batch` routes too.
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
  for (const [key, see] of Object.entries(RAW_PROBE_ROUTES))
    routes.set(key, async (raw) => json(await see(raw)));
  routes.set('POST /probe/json', async (raw) =>
    json({ json: await settle(raw.json()), used: raw.bodyUsed }),
  );
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
  routes.set('GET /probe/wait', async (raw) => {
    await waitForAbort(raw.signal, waited);
    return new Response('waited');
  });
  routes.set(
    'GET /probe/status',
    () => new Response('teapot', { status: 200, statusText: 'Fine Thanks' }),
  );
  return app;
}

/** What the shared cases expect of the plain handler: the self-test agrees with the runtime. */
const FETCH_CASES = { requestName: 'request', lazyRequestsWork };

describe("with Node's own Request and Response (the handler called, no server)", () => {
  const waited: Waited[] = [];
  const log: string[] = [];
  const app = probeApp(waited, log);
  const origin = 'http://localhost';
  const client = probeClient((path, init) => app(new Request(origin + path, init)));

  beforeAll(() => {
    // The globals are undici's: no @hono/node-server server ran in this process yet.
    expect(globalThis.Request).toBe(NodeRequest);
    expect(NodeRequest.name).toBe('Request');
    expect(NodeResponse.name).toBe('Response');
    expect(keptBodyKeyOf(new Response('x'))).toBeUndefined();
  });

  fetchDispatchCases({ client: () => client, waited, log, ...FETCH_CASES });

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

underNodeServer(probeApp, FETCH_CASES, () => {
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
