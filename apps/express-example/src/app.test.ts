import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { decodeBatchResponse, encodeBatchRequest } from '@batch/core';
import { ArticleStore, UNAUTHORIZED } from '@batch/reading-list';
import { conformanceSuite } from '@batch/test-suite';
import type { Express } from 'express';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createApp } from './app.js';

/** Serves an app on 127.0.0.1, port 0. */
async function serve(app: Express) {
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
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

conformanceSuite('Express example app', {
  start: async ({ batchPath, batch }) => {
    const { app, log } = createApp({ batchPath, batch, conformance: true });
    return { ...(await serve(app)), log };
  },
});

/** A JSON batch response item, as the wire has it. */
interface Item {
  status: number;
  path: string;
  headers: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: answers are read field by field in assertions
  body: any;
}

// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field in assertions
const json = async (response: Response): Promise<any> => response.json();

const PROBLEM = {
  type: expect.any(String),
  title: expect.any(String),
  status: expect.any(Number),
  detail: expect.any(String),
};

describe('reading list on Express', () => {
  let api: Awaited<ReturnType<typeof serve>>;
  let store: ArticleStore;
  beforeEach(async () => {
    store = new ArticleStore();
    api = await serve(createApp({ store }).app);
  });
  afterEach(() => api.close());

  /** A request as alice (or as `as`, or anonymous with `as: null`); an object body is sent as JSON. */
  const call = (
    path: string,
    init: {
      method?: string;
      body?: unknown;
      headers?: Record<string, string>;
      as?: string | null;
    } = {},
  ) => {
    const { method = 'GET', body, as = 'alice' } = init;
    const headers: Record<string, string> = {};
    if (as !== null) headers.authorization = `Bearer ${as}`;
    const raw = typeof body === 'string' || body instanceof Uint8Array;
    if (body !== undefined && !raw) headers['content-type'] = 'application/json';
    return fetch(api.url + path, {
      method,
      headers: { ...headers, ...init.headers },
      ...(body === undefined ? {} : { body: raw ? (body as string) : JSON.stringify(body) }),
    });
  };

  const jsonBatch = async (batch: unknown, as = 'alice'): Promise<Item[]> => {
    const response = await call('/batch', { method: 'POST', body: batch, as });
    expect(response.status).toBe(200);
    return ((await response.json()) as { responses: Item[] }).responses;
  };

  const create = async (title: string, url: string, as = 'alice') => {
    const response = await call('/articles', { method: 'POST', body: { title, url }, as });
    expect(response.status).toBe(201);
    return { etag: response.headers.get('etag')!, article: await response.json() };
  };

  it('GET / is public service info', async () => {
    const response = await call('/', { as: null });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      name: 'reading-list',
      batch: { path: '/batch', maxRequests: 100, formats: ['multipart', 'json'] },
    });
  });

  it('answers 401 problem+json without a bearer token', async () => {
    for (const as of [null, '']) {
      const response = await call('/articles', { as });
      expect(response.status).toBe(401);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(await response.json()).toEqual(UNAUTHORIZED);
    }
  });

  it('runs the Kinto documentation batch: 201, 201, then the PATCH, in order', async () => {
    const responses = await jsonBatch({
      defaults: { method: 'POST', path: '/articles' },
      requests: [
        { body: { title: 'MoFo', url: 'http://mozilla.org' } },
        { body: { title: 'MoCo', url: 'http://mozilla.com' } },
        { method: 'PATCH', path: '/articles/1', body: { read_position: 3477 } },
      ],
    });
    expect(responses.map((item) => item.status)).toEqual([201, 201, 200]);
    expect(responses.map((item) => item.path)).toEqual(['/articles', '/articles', '/articles/1']);
    const [mofo, moco, patched] = responses as [Item, Item, Item];
    expect(mofo.body).toEqual({
      id: 1,
      title: 'MoFo',
      url: 'http://mozilla.org',
      read_position: 0,
      last_modified: expect.any(Number),
    });
    expect(moco.body).toMatchObject({ id: 2, title: 'MoCo', read_position: 0 });
    expect(patched.body).toMatchObject({ id: 1, title: 'MoFo', read_position: 3477 });
    expect(mofo.headers.Location).toBe('/articles/1');
    expect(moco.headers.Location).toBe('/articles/2');
    for (const item of responses) expect(item.headers.ETag).toBe(`"${item.body.last_modified}"`);
    expect(patched.body.last_modified).toBeGreaterThan(mofo.body.last_modified);
  });

  it('answers a multipart batch, part by part', async () => {
    const encoded = encodeBatchRequest('multipart', [
      {
        method: 'POST',
        target: '/articles',
        id: 'item1',
        headers: [['Content-Type', 'application/json']],
        body: JSON.stringify({ title: 'MoFo', url: 'http://mozilla.org' }),
      },
      {
        method: 'PATCH',
        target: '/articles/1',
        id: 'item2',
        headers: [['Content-Type', 'application/json']],
        body: '{"read_position": 42}',
      },
      { method: 'GET', target: '/articles/1', id: 'item3' },
      { method: 'GET', target: '/articles/2', id: 'item4' },
    ]);
    const response = await call('/batch', {
      method: 'POST',
      headers: { 'content-type': encoded.contentType },
      body: encoded.body,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^multipart\/mixed; boundary=batch_/);
    const parts = await decodeBatchResponse({
      contentType: response.headers.get('content-type'),
      body: new Uint8Array(await response.arrayBuffer()),
    });
    expect(parts.map((part) => part.status)).toEqual([201, 200, 200, 404]);
    expect(parts.map((part) => part.contentId)).toEqual([
      '<response-item1>',
      '<response-item2>',
      '<response-item3>',
      '<response-item4>',
    ]);
    const body = (index: number) => JSON.parse(new TextDecoder().decode(parts[index]!.body));
    const header = (index: number, name: string) =>
      parts[index]!.headers.find(([key]) => key.toLowerCase() === name)?.[1];
    expect(header(0, 'location')).toBe('/articles/1');
    expect(body(2)).toMatchObject({ id: 1, title: 'MoFo', read_position: 42 });
    expect(header(2, 'etag')).toBe(`"${body(2).last_modified}"`);
    expect(header(3, 'content-type')).toContain('application/problem+json');
    expect(body(3)).toMatchObject({ title: 'Not Found', status: 404 });
  });

  it('answers 401 to the one item that overrides Authorization with an empty value', async () => {
    const responses = await jsonBatch({
      requests: [
        { method: 'POST', path: '/articles', body: { title: 'MoFo', url: 'http://mozilla.org' } },
        { path: '/articles', headers: { Authorization: '' } },
        { path: '/articles/1' },
        { path: '/articles', headers: { Authorization: 'Bearer bob' } },
      ],
    });
    expect(responses.map((item) => item.status)).toEqual([201, 401, 200, 200]);
    expect(responses[1]?.headers['Content-Type']).toContain('application/problem+json');
    expect(responses[1]?.body).toEqual(UNAUTHORIZED);
    expect(responses[3]?.body).toEqual({ data: [] });
  });

  it('answers 412 to stale If-Match and to If-None-Match: * on an existing id', async () => {
    const { etag } = await create('MoFo', 'http://mozilla.org');
    const stale = { 'if-match': '"1"' };
    const replacement = { title: 'MoCo', url: 'http://mozilla.com' };
    const refused = [
      await call('/articles/1', { method: 'PATCH', body: { read_position: 1 }, headers: stale }),
      await call('/articles/1', { method: 'PUT', body: replacement, headers: stale }),
      await call('/articles/1', { method: 'DELETE', headers: stale }),
      await call('/articles/1', {
        method: 'PUT',
        body: replacement,
        headers: { 'if-none-match': '*' },
      }),
    ];
    for (const response of refused) {
      expect(response.status).toBe(412);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(await response.json()).toMatchObject({ ...PROBLEM, status: 412 });
    }
    const unchanged = await call('/articles/1');
    expect(unchanged.headers.get('etag')).toBe(etag);

    const patched = await call('/articles/1', {
      method: 'PATCH',
      body: { read_position: 7 },
      headers: { 'if-match': etag },
    });
    expect(patched.status).toBe(200);
    expect(patched.headers.get('etag')).not.toBe(etag);
    const created = await call('/articles/5', {
      method: 'PUT',
      body: replacement,
      headers: { 'if-none-match': '*' },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/articles/5');
    expect(await created.json()).toMatchObject({ id: 5, title: 'MoCo', read_position: 0 });
  });

  it('answers 412 inside a batch, items seeing the writes of the items before them', async () => {
    const { etag } = await create('MoFo', 'http://mozilla.org');
    const responses = await jsonBatch({
      defaults: { path: '/articles/1', headers: { 'If-Match': etag } },
      requests: [
        { method: 'PATCH', body: { read_position: 10 } },
        { method: 'PATCH', body: { read_position: 20 } },
        { method: 'PUT', body: { title: 'MoCo', url: 'http://mozilla.com' } },
        { method: 'DELETE' },
        {
          method: 'PUT',
          headers: { 'If-Match': '*', 'If-None-Match': '*' },
          body: { title: 'MoCo', url: 'http://mozilla.com' },
        },
        { method: 'GET', headers: { 'If-Match': '*' } },
      ],
    });
    expect(responses.map((item) => item.status)).toEqual([200, 412, 412, 412, 412, 200]);
    expect(responses[1]?.body).toMatchObject({ ...PROBLEM, status: 412 });
    expect(responses[5]?.body).toMatchObject({ title: 'MoFo', read_position: 10 });
  });

  it("keeps owners apart: bob sees none of alice's articles", async () => {
    await create('MoFo', 'http://mozilla.org');
    const get = await call('/articles/1', { as: 'bob' });
    expect(get.status).toBe(404);
    expect(await get.json()).toMatchObject({ ...PROBLEM, title: 'Not Found', status: 404 });
    expect(await (await call('/articles', { as: 'bob' })).json()).toEqual({ data: [] });
    const patch = await call('/articles/1', {
      method: 'PATCH',
      body: { read_position: 1 },
      as: 'bob',
    });
    expect(patch.status).toBe(404);
    expect((await call('/articles/1', { method: 'DELETE', as: 'bob' })).status).toBe(404);
    expect((await call('/articles/1')).status).toBe(200);
  });

  it('answers 400 problem+json, with the errors, to an invalid body', async () => {
    const invalid = await call('/articles', {
      method: 'POST',
      body: { title: '', read_position: -1, extra: true },
    });
    expect(invalid.status).toBe(400);
    expect(invalid.headers.get('content-type')).toContain('application/problem+json');
    const problem = await json(invalid);
    expect(problem).toMatchObject({ ...PROBLEM, title: 'Bad Request', status: 400 });
    expect(problem.errors.map((error: { pointer: string }) => error.pointer).sort()).toEqual([
      '/extra',
      '/read_position',
      '/title',
      '/url',
    ]);
    await create('MoFo', 'http://mozilla.org');
    const notJson = [
      await call('/articles', {
        method: 'POST',
        body: '{"title": "MoFo",',
        headers: { 'content-type': 'application/json' },
      }),
      await call('/articles', {
        method: 'POST',
        body: 'MoFo',
        headers: { 'content-type': 'text/plain' },
      }),
      await call('/articles/1', {
        method: 'PUT',
        body: '[',
        headers: { 'content-type': 'application/json' },
      }),
      await call('/articles/1', { method: 'PATCH', body: { read_position: 'far' } }),
    ];
    for (const response of notJson) {
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(await response.json()).toMatchObject({ ...PROBLEM, status: 400 });
    }
  });

  it('lists, replaces and deletes; 404 problem+json for unknown routes and ids', async () => {
    await create('MoFo', 'http://mozilla.org');
    await call('/articles/4', { method: 'PUT', body: { title: 'Four', url: 'http://4.example' } });
    await call('/articles/3', { method: 'PUT', body: { title: 'Three', url: 'http://3.example' } });
    const list = await json(await call('/articles'));
    expect(list.data.map((article: { id: number }) => article.id)).toEqual([1, 3, 4]);
    const replaced = await call('/articles/1', {
      method: 'PUT',
      body: { title: 'One', url: 'http://1.example', read_position: 5 },
    });
    expect(replaced.status).toBe(200);
    expect(replaced.headers.get('location')).toBeNull();
    const deleted = await call('/articles/1', { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect(await deleted.json()).toMatchObject({ id: 1, title: 'One', read_position: 5 });
    for (const path of ['/articles/1', '/articles/abc', '/articles/0', '/nope']) {
      const response = await call(path);
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(await response.json()).toEqual({ ...PROBLEM, title: 'Not Found', status: 404 });
    }
  });

  it('answers a throwing route with 500 problem+json, no stack; the batch stays 200', async () => {
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    store.list = () => {
      throw new Error('disk on fire');
    };
    const direct = await call('/articles');
    expect(direct.status).toBe(500);
    expect(direct.headers.get('content-type')).toContain('application/problem+json');
    const text = await direct.text();
    expect(JSON.parse(text)).toEqual({ ...PROBLEM, title: 'Internal Server Error', status: 500 });
    expect(text).not.toMatch(/disk on fire|\n\s+at /);
    const responses = await jsonBatch({ requests: [{ path: '/articles' }, { path: '/' }] });
    expect(responses.map((item) => item.status)).toEqual([500, 200]);
    quiet.mockRestore();
  });
});

describe('pnpm start', () => {
  it('prints the banner with its URL and answers GET /', async () => {
    // Its own process group: pnpm does not pass SIGTERM on to `node dist/server.js`, so the
    // whole group is signalled (as Ctrl+C in a terminal does).
    const child = spawn('pnpm', ['start'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...process.env, PORT: '0' },
      shell: false,
      detached: true,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.once('close', resolve));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let output = '';
        const timer = setTimeout(() => reject(new Error(`no banner in 20 s:\n${output}`)), 20_000);
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          output += chunk;
          const match = /listening on (http:\/\/localhost:\d+)/.exec(output);
          if (match) {
            clearTimeout(timer);
            resolve(match[1]!);
          }
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${output}`)));
      });
      const response = await fetch(`${url}/`);
      expect(response.status).toBe(200);
      expect((await json(response)).batch.path).toBe('/batch');
    } finally {
      process.kill(-child.pid!, 'SIGTERM');
      await exited;
    }
  }, 30_000);
});
