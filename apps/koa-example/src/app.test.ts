import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { decodeBatchResponse, encodeBatchRequest } from '@batch/core';
import { ArticleStore, etagOf, PROBLEM_TYPE, serviceInfo, UNAUTHORIZED } from '@batch/reading-list';
import { conformanceSuite } from '@batch/test-suite';
import type Koa from 'koa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from './app.js';

interface Served {
  url: string;
  close(): Promise<void>;
}

async function serve(app: Koa): Promise<Served> {
  const server: Server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

conformanceSuite('koa example app', {
  start: async ({ batchPath, batch }) => {
    const { app, log } = createApp({ batchPath, batch, conformance: true });
    return { ...(await serve(app)), log };
  },
});

const ALICE = { Authorization: 'Bearer alice' };
const BOB = { Authorization: 'Bearer bob' };
const JSON_TYPE = { 'Content-Type': 'application/json' };
const decoder = new TextDecoder();

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read field by field
type Json = any;

/** The Kinto documentation's batch: two POSTs through `defaults`, then a PATCH. */
const KINTO_BATCH = {
  defaults: { method: 'POST', path: '/articles', headers: ALICE },
  requests: [
    { body: { title: 'MoFo', url: 'http://mozilla.org' } },
    { body: { title: 'MoCo', url: 'http://mozilla.com' } },
    { method: 'PATCH', path: '/articles/1', body: { read_position: 3477 } },
  ],
};

describe('the reading list on Koa', () => {
  let api: Served;
  beforeEach(async () => {
    api = await serve(createApp().app);
  });
  afterEach(() => api.close());

  async function call(path: string, init: RequestInit = {}) {
    const response = await fetch(api.url + path, init);
    const text = await response.text();
    const type = response.headers.get('content-type') ?? '';
    const body: Json = type.includes('json') ? JSON.parse(text) : text;
    return { status: response.status, headers: response.headers, body };
  }

  const send = (
    method: string,
    path: string,
    body: unknown,
    headers: Record<string, string> = ALICE,
  ) =>
    call(path, {
      method,
      headers: { ...JSON_TYPE, ...headers },
      body: JSON.stringify(body),
    });

  /** Posts a JSON batch and answers its `responses`. */
  async function jsonBatch(batch: unknown, headers: Record<string, string> = {}) {
    const sent = await send('POST', '/batch', batch, headers);
    expect(sent.status).toBe(200);
    return sent.body.responses as Json[];
  }

  const create = async (title = 'MoFo', headers: Record<string, string> = ALICE) =>
    (await send('POST', '/articles', { title, url: 'http://mozilla.org' }, headers)).body;

  it('answers GET / without a token: the service info', async () => {
    const info = await call('/');
    expect(info.status).toBe(200);
    expect(info.body).toEqual(serviceInfo('Koa'));
    expect(info.body.batch).toEqual({
      path: '/batch',
      maxRequests: 100,
      formats: ['multipart', 'json'],
    });
  });

  it('runs the Kinto documentation batch: 201, 201, then the PATCH, as documented', async () => {
    const responses = await jsonBatch(KINTO_BATCH);
    expect(responses.map((item) => [item.status, item.path])).toEqual([
      [201, '/articles'],
      [201, '/articles'],
      [200, '/articles/1'],
    ]);
    const [mofo, moco, patched] = responses.map((item) => item.body);
    expect(mofo).toEqual({
      id: 1,
      title: 'MoFo',
      url: 'http://mozilla.org',
      read_position: 0,
      last_modified: expect.any(Number),
    });
    expect(moco).toMatchObject({ id: 2, title: 'MoCo', url: 'http://mozilla.com' });
    expect(patched).toMatchObject({ id: 1, title: 'MoFo', read_position: 3477 });
    expect(patched.last_modified).toBeGreaterThan(mofo.last_modified);
    expect(responses[0].headers).toMatchObject({ Location: '/articles/1', ETag: etagOf(mofo) });
    expect(responses[1].headers).toMatchObject({ Location: '/articles/2', ETag: etagOf(moco) });
    expect(responses[2].headers.ETag).toBe(etagOf(patched));

    const list = await call('/articles', { headers: ALICE });
    expect(list.body).toEqual({ data: [patched, moco] });
  });

  it('speaks multipart/mixed: encodeBatchRequest in, decodeBatchResponse out', async () => {
    await create();
    const encoded = encodeBatchRequest('multipart', [
      {
        method: 'PATCH',
        target: '/articles/1',
        headers: [['Content-Type', 'application/json']],
        body: JSON.stringify({ read_position: 42 }),
        id: 'item1',
      },
      { method: 'GET', target: '/articles/1', id: 'item2' },
      { method: 'GET', target: '/articles/7', id: 'item3' },
    ]);
    const response = await fetch(`${api.url}/batch`, {
      method: 'POST',
      headers: { ...ALICE, 'Content-Type': encoded.contentType },
      body: encoded.body as Uint8Array<ArrayBuffer>,
    });
    expect(response.status).toBe(200);
    const contentType = response.headers.get('content-type');
    expect(contentType).toMatch(/^multipart\/mixed; boundary=batch_/);
    const parts = await decodeBatchResponse({
      contentType,
      body: new Uint8Array(await response.arrayBuffer()),
    });
    expect(parts.map((part) => [part.status, part.contentId])).toEqual([
      [200, '<response-item1>'],
      [200, '<response-item2>'],
      [404, '<response-item3>'],
    ]);
    const [patched, got, missing] = parts.map((part) => JSON.parse(decoder.decode(part.body)));
    expect(patched).toMatchObject({ id: 1, read_position: 42 });
    expect(got).toEqual(patched);
    const etag = parts[1]?.headers.find(([name]) => name.toLowerCase() === 'etag')?.[1];
    expect(etag).toBe(etagOf(patched));
    expect(missing).toMatchObject({ title: 'Not Found', status: 404 });
  });

  it('answers 401 to the one item whose Authorization is overridden empty', async () => {
    const responses = await jsonBatch(
      {
        requests: [
          { method: 'POST', path: '/articles', body: { title: 'MoFo', url: 'http://mozilla.org' } },
          { path: '/articles', headers: { Authorization: '' } },
          { path: '/articles/1' },
        ],
      },
      ALICE,
    );
    expect(responses.map((item) => item.status)).toEqual([201, 401, 200]);
    expect(responses[1].headers['Content-Type']).toContain(PROBLEM_TYPE);
    expect(responses[1].body).toEqual(UNAUTHORIZED);
    expect(responses[2].body).toMatchObject({ id: 1, title: 'MoFo' });
  });

  it('answers 401 without a bearer token', async () => {
    for (const headers of [{}, { Authorization: 'Basic YWxpY2U6c2VjcmV0' }]) {
      const sent = await call('/articles', { headers });
      expect(sent.status).toBe(401);
      expect(sent.headers.get('content-type')).toContain(PROBLEM_TYPE);
      expect(sent.body).toEqual(UNAUTHORIZED);
    }
  });

  it('answers 412 to stale If-Match and to If-None-Match: * on an existing id', async () => {
    const article = await create();
    const stale = { ...ALICE, 'If-Match': '"0"' };
    const replacement = { title: 'MoCo', url: 'http://mozilla.com' };
    for (const [method, body] of [
      ['PATCH', { read_position: 1 }],
      ['PUT', replacement],
      ['DELETE', undefined],
    ] as const) {
      const sent = await send(method, '/articles/1', body, stale);
      expect(sent.status).toBe(412);
      expect(sent.headers.get('content-type')).toContain(PROBLEM_TYPE);
      expect(sent.body).toMatchObject({ title: 'Precondition Failed', status: 412 });
    }
    const exists = await send('PUT', '/articles/1', replacement, {
      ...ALICE,
      'If-None-Match': '*',
    });
    expect(exists.status).toBe(412);
    expect((await call('/articles/1', { headers: ALICE })).body).toEqual(article);

    const fresh = await send(
      'PATCH',
      '/articles/1',
      { read_position: 7 },
      {
        ...ALICE,
        'If-Match': etagOf(article),
      },
    );
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get('etag')).toBe(etagOf(fresh.body));
    const created = await send('PUT', '/articles/5', replacement, {
      ...ALICE,
      'If-None-Match': '*',
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/articles/5');
    expect(created.body).toMatchObject({ id: 5, ...replacement, read_position: 0 });
  });

  it('answers 412 inside a batch, item by item, in order', async () => {
    const article = await create();
    const tag = etagOf(article);
    const responses = await jsonBatch(
      {
        defaults: { path: '/articles/1' },
        requests: [
          { method: 'PATCH', headers: { 'If-Match': tag }, body: { read_position: 10 } },
          { method: 'PATCH', headers: { 'If-Match': tag }, body: { read_position: 20 } },
          {
            method: 'PUT',
            headers: { 'If-None-Match': '*' },
            body: { title: 'x', url: 'y' },
          },
          { method: 'DELETE', headers: { 'If-Match': tag } },
          { method: 'GET' },
        ],
      },
      ALICE,
    );
    expect(responses.map((item) => item.status)).toEqual([200, 412, 412, 412, 200]);
    expect(responses[1].body).toMatchObject({ title: 'Precondition Failed', status: 412 });
    expect(responses[4].body).toEqual(responses[0].body);
    expect(responses[4].body.read_position).toBe(10);
  });

  it("keeps owners apart: bob never sees alice's articles", async () => {
    await create('MoFo', ALICE);
    expect((await call('/articles/1', { headers: BOB })).status).toBe(404);
    expect((await call('/articles', { headers: BOB })).body).toEqual({ data: [] });
    expect((await send('PATCH', '/articles/1', { read_position: 1 }, BOB)).status).toBe(404);
    const removed = await call('/articles/1', { method: 'DELETE', headers: BOB });
    expect(removed.status).toBe(404);
    expect(removed.headers.get('content-type')).toContain(PROBLEM_TYPE);
    expect(removed.body).toEqual({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: expect.any(String),
    });
    const bobs = await create('MoCo', BOB);
    expect(bobs.id).toBe(2);
    expect((await call('/articles', { headers: ALICE })).body.data).toHaveLength(1);
  });

  it('answers a DELETE with the deleted record, then 404', async () => {
    const article = await create();
    const removed = await call('/articles/1', { method: 'DELETE', headers: ALICE });
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual(article);
    expect((await call('/articles/1', { headers: ALICE })).status).toBe(404);
  });

  it('answers 400 problem+json to invalid, non-JSON and malformed bodies', async () => {
    const invalid = await send('POST', '/articles', { title: '', read_position: -1 });
    expect(invalid.status).toBe(400);
    expect(invalid.headers.get('content-type')).toContain(PROBLEM_TYPE);
    expect(invalid.body).toMatchObject({ title: 'Bad Request', status: 400 });
    expect(invalid.body.errors.map((error: Json) => error.pointer).sort()).toEqual([
      '/read_position',
      '/title',
      '/url',
    ]);
    const asText = await call('/articles', {
      method: 'POST',
      headers: { ...ALICE, 'Content-Type': 'text/plain' },
      body: 'title=MoFo',
    });
    const malformed = await call('/articles', {
      method: 'POST',
      headers: { ...ALICE, ...JSON_TYPE },
      body: '{"title": ',
    });
    await create();
    const badPatch = await send('PATCH', '/articles/1', { read_position: 'far' });
    for (const sent of [asText, malformed, badPatch]) {
      expect(sent.status).toBe(400);
      expect(sent.headers.get('content-type')).toContain(PROBLEM_TYPE);
      expect(sent.body).toMatchObject({ title: 'Bad Request', status: 400 });
    }
    expect(badPatch.body.errors).toEqual([
      { pointer: '/read_position', detail: expect.any(String) },
    ]);
  });

  it('answers 404 problem+json to unknown routes and ids; 405 to GET /batch', async () => {
    for (const path of ['/nope', '/articles/abc', '/articles/99']) {
      const sent = await call(path, { headers: ALICE });
      expect(sent.status).toBe(404);
      expect(sent.body).toMatchObject({ title: 'Not Found', status: 404 });
    }
    const get = await call('/batch');
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });
});

describe('the reading list on Koa: errors thrown by a route', () => {
  it('answers 500 problem+json, with no message or stack, in a batch too', async () => {
    class BrokenStore extends ArticleStore {
      override list(): never {
        throw new Error('disk on fire');
      }
    }
    const { app } = createApp({ store: new BrokenStore() });
    app.silent = true; // the thrown error is expected: keep Koa from logging it
    const api = await serve(app);
    try {
      const direct = await fetch(`${api.url}/articles`, { headers: ALICE });
      expect(direct.status).toBe(500);
      expect(direct.headers.get('content-type')).toContain(PROBLEM_TYPE);
      const text = await direct.text();
      expect(JSON.parse(text)).toMatchObject({ title: 'Internal Server Error', status: 500 });
      expect(text).not.toMatch(/disk on fire|\n\s+at /);

      const encoded = encodeBatchRequest('json', [{ target: '/articles' }, { target: '/' }]);
      const batched = await fetch(`${api.url}/batch`, {
        method: 'POST',
        headers: { ...ALICE, 'Content-Type': encoded.contentType },
        body: encoded.body as Uint8Array<ArrayBuffer>,
      });
      expect(batched.status).toBe(200);
      const { responses } = (await batched.json()) as Json;
      expect(responses.map((item: Json) => item.status)).toEqual([500, 200]);
    } finally {
      await api.close();
    }
  });
});

/** Reads the child's stdout until the whole banner is there; answers its URL and text. */
function readBanner(child: ChildProcessByStdio<null, Readable, null>) {
  return new Promise<{ url: string; banner: string }>((resolve, reject) => {
    let banner = '';
    const timer = setTimeout(() => reject(new Error(`no URL in 20 s:\n${banner}`)), 20_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      banner += chunk;
      const url = /reading-list \(Koa\) listening on (http:\/\/localhost:\d+)/.exec(banner)?.[1];
      if (url !== undefined && banner.includes('Ctrl+C')) {
        clearTimeout(timer);
        resolve({ url, banner });
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`exited before printing its URL:\n${banner}`));
    });
  });
}

describe('pnpm start', () => {
  it('prints its URL and two curl commands, answers GET /, and stops on SIGTERM', async () => {
    const child = spawn('pnpm', ['start'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...process.env, PORT: '0' },
      shell: false,
      // Its own process group, signalled as a whole: pnpm does not pass SIGTERM on to
      // `node dist/server.js`.
      detached: true,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const closed = once(child, 'close');
    try {
      const { url, banner } = await readBanner(child);
      expect(banner.split(`curl -s ${url}/batch `)).toHaveLength(3);
      const response = await fetch(`${url}/`);
      expect(response.status).toBe(200);
      const info = (await response.json()) as Json;
      expect(info.batch.path).toBe('/batch');
    } finally {
      process.kill(-child.pid!, 'SIGTERM');
      await closed; // every process of the group let go of stdout: the server is gone too
    }
  }, 30_000);
});
