import type { Server } from 'node:http';
import { inspect } from 'node:util';
import {
  type BatchFormat,
  decodeBatchResponse,
  encodeBatchRequest,
  type SubRequestInit,
} from '@batch/core';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen } from './listen.js';

/**
 * The probes of a fetch-native adapter's dispatch test (@batch/fetch with a plain fetch
 * handler, @batch/hono with a Hono app): how a sub-request looks to the app, and how its
 * answer is read. The core of it: every probe route answers the same, byte for byte, to a
 * direct request and to the same request sent as a batch item. Then what a probe cannot
 * compare: the item's signal aborting on its timeout, forbidden methods.
 */

const decoder = new TextDecoder();

/** What a probe route saw of the request, as JSON: an error by its class's name. */
export const nameOf = (error: unknown) =>
  error instanceof Error ? error.constructor.name : 'non-error';
export const settle = (promise: Promise<unknown>) =>
  promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error: nameOf(error) }),
  );
export const attempt = (run: () => unknown) => {
  try {
    run();
    return 'ok';
  } catch (error) {
    return nameOf(error);
  }
};

/** The property reads as the same object twice. */
export const stable = (object: object, key: string) => {
  const first: unknown = Reflect.get(object, key);
  return first === Reflect.get(object, key);
};

/** What /probe/wait saw of its signal once it stopped waiting. */
export interface Waited {
  aborted: boolean;
  reason: string;
}

/**
 * The probe routes that read only the Request itself, by `METHOD /path` (`*`: any method):
 * each gives what it saw, which the app answers as JSON. The app routes the rest itself
 * (/probe/json, /probe/clone, /probe/form, /probe/wait, /probe/status, its own), with its
 * framework's helpers where it has them.
 */
export const RAW_PROBE_ROUTES: Record<string, (raw: Request) => unknown> = {
  '* /probe/meta': (raw) => {
    const headers: Array<[string, string]> = [];
    raw.headers.forEach((value, name) => {
      if (name.startsWith('x-') || name === 'content-type') headers.push([name, value]);
    });
    return {
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
    };
  },
  'GET /probe/get': async (raw) => ({
    body: raw.body,
    text: await raw.text(),
    bytes: (await raw.arrayBuffer()).byteLength,
    json: await settle(raw.json()),
    used: raw.bodyUsed,
    clone: attempt(() => raw.clone()),
  }),
  'POST /probe/text-twice': async (raw) => {
    const first = await raw.text();
    return {
      first,
      second: await settle(raw.text()),
      json: await settle(raw.json()),
      used: raw.bodyUsed,
      clone: attempt(() => raw.clone()),
      copy: attempt(() => new Request(raw)),
    };
  },
  'POST /probe/raw-json': (raw) => settle(raw.json()),
  'POST /probe/stream': async (raw) => {
    const body = raw.body!;
    const reader = body.getReader();
    const chunks: number[] = [];
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      chunks.push(...chunk.value);
    return {
      text: decoder.decode(Uint8Array.from(chunks)),
      same: raw.body === body,
      used: raw.bodyUsed,
      again: await settle(raw.text()),
    };
  },
  'POST /probe/copy': async (raw) => {
    const copy = new Request(raw);
    return {
      method: copy.method,
      url: copy.url,
      header: copy.headers.get('x-probe'),
      text: await copy.text(),
      used: raw.bodyUsed,
    };
  },
  'POST /probe/copy-init': async (raw) => {
    const copy = new Request(`${raw.url}/copy`, raw);
    return { method: copy.method, url: copy.url, text: await copy.text() };
  },
  'POST /probe/bytes': async (raw) => {
    const buffer = await raw.arrayBuffer();
    const view = new Uint8Array(buffer);
    view[0] = 0; // the app owns its copy
    return { length: buffer.byteLength, bytes: [...view], used: raw.bodyUsed };
  },
  'POST /probe/blob': async (raw) => {
    const blob = await raw.blob();
    return { type: blob.type, size: blob.size, text: await blob.text() };
  },
  'POST /probe/mutate': (raw) => {
    raw.headers.set('x-added', 'yes');
    return { added: raw.clone().headers.get('x-added') };
  },
  'GET /probe/lazy': (raw) => ({ lazy: inspect(raw).startsWith('Request (lazy)') }),
};

/** /probe/wait: waits 6 s unless the signal aborts first, then notes what it saw. */
export async function waitForAbort(signal: AbortSignal, waited: Waited[]): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 6000);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });
  waited.push({ aborted: signal.aborted, reason: nameOf(signal.reason) });
}

const form = 'application/x-www-form-urlencoded';
/** Each answered the same directly and as a batch item; the app's own probes come after. */
export const PROBES: readonly SubRequestInit[] = [
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

export interface Answer {
  status: number;
  body: string;
  reason?: string;
}

/** Sends requests directly and as batches; two implementations: in-process and over HTTP. */
export interface Client {
  direct(request: SubRequestInit): Promise<Answer>;
  batch(format: BatchFormat, requests: SubRequestInit[], path?: string): Promise<Answer[]>;
}

/** A client over `send`, which sends a request for a path (with its query) and gives the answer. */
export function probeClient(send: (path: string, init: RequestInit) => Promise<Response>): Client {
  return {
    async direct(request) {
      const response = await send(request.target, init(request));
      return { status: response.status, body: await response.text() };
    },
    async batch(format, requests, path = '/batch') {
      return readBatch(await send(path, batchInit(format, requests)));
    },
  };
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

/** What the shared cases expect of one adapter's app. */
export interface ProbeCases {
  /** How the app reads the request, in a test name: `request`, `c.req.raw`. */
  requestName: string;
  /** The app's own probes, sent after PROBES. */
  extraProbes?: readonly SubRequestInit[];
  /** What /probe/form answers beyond `a`, `b` and `used` (Hono's parseBody). */
  formExtras?: Record<string, unknown>;
  /** The adapter's own lazy-request self-test; when given, it must agree with the runtime. */
  lazyRequestsWork?: () => boolean;
}

export interface FetchDispatchOptions extends ProbeCases {
  /** Sends requests directly and as batches, once the describe block's setup has run. */
  client: () => Client;
  /** What /probe/wait saw (emptied by the timeout test). */
  waited: Waited[];
  /** `METHOD /path` of each request the app's routes saw, not the batch routes (emptied by the TRACE test). */
  log: string[];
}

/** The shared cases, run against one client. */
export function fetchDispatchCases(options: FetchDispatchOptions): void {
  const { client, waited, log } = options;
  const probes = [...PROBES, ...(options.extraProbes ?? [])];
  // Node 20 and 22 (undici 6) pass the self-test; Node 24's undici copies a Request by
  // private fields, so it fails and every item is a real Request there (slower, the same).
  // A runtime that changes either way fails this test, so someone looks.
  const lazyExpected = Number(process.versions.node.split('.')[0]) < 24;
  it(`${lazyExpected ? 'uses' : 'falls back from'} lazy requests on this runtime (Node ${process.versions.node})`, async () => {
    if (options.lazyRequestsWork) expect(options.lazyRequestsWork()).toBe(lazyExpected);
    const [answer] = await client().batch('json', [{ target: '/probe/lazy' }]);
    expect(JSON.parse(answer!.body)).toEqual({ lazy: lazyExpected });
  });

  describe.each(['json', 'multipart'] as const)('%s batch', (format) => {
    it('answers every probe exactly as a direct request does', async () => {
      const direct = [];
      for (const probe of probes) direct.push(await client().direct(probe));
      const batched = await client().batch(format, probes);
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
        ...options.formExtras,
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

  it(`shows the item signal as ${options.requestName}.signal: it aborts when the item times out`, async () => {
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

/**
 * The block under @hono/node-server, over HTTP: the probe app served on loopback, the shared
 * cases, `more` (the adapter's own tests there), then the reason phrase. Call it after the
 * in-process block: serve() swaps the global Request and Response for the rest of the process.
 */
export function underNodeServer(
  probeApp: (waited: Waited[], log: string[]) => (request: Request) => Response | Promise<Response>,
  cases: ProbeCases,
  more?: (client: Client) => void,
): void {
  describe('under @hono/node-server (light-weight global Request and Response), over HTTP', () => {
    // Read while the tests are collected, before any beforeAll has called serve().
    const NodeRequest = globalThis.Request;
    const NodeResponse = globalThis.Response;
    const waited: Waited[] = [];
    const log: string[] = [];
    let base = '';
    let close = async () => {};
    const client = probeClient((path, init) => fetch(base + path, init));

    beforeAll(async () => {
      const app = probeApp(waited, log);
      const server = serve({ fetch: app, port: 0, hostname: '127.0.0.1' }) as Server;
      ({ url: base, close } = await listen(server));
      expect(globalThis.Request).not.toBe(NodeRequest);
      expect(globalThis.Response).not.toBe(NodeResponse);
    });
    afterAll(() => close());

    fetchDispatchCases({ client: () => client, waited, log, ...cases });
    more?.(client);

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
}
