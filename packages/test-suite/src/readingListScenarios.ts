import { decodeBatchResponse, encodeBatchRequest } from '@batch/core';
import { etagOf, UNAUTHORIZED } from '@batch/reading-list';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RunningApp } from './testApp.js';

/**
 * An example reading-list app (apps/*-example), started for one scenario: a fresh app with a
 * fresh, empty article store.
 */
export interface ReadingListApp extends Pick<RunningApp, 'url' | 'close'> {
  /**
   * The store the app reads its articles from. A scenario replaces its `list` with one that
   * throws, to see the app's 500.
   */
  store: { list: (...args: never[]) => unknown };
}

/** What the reading-list scenarios need from an example app's test. */
export interface ReadingListTarget {
  /** Starts the app, with a fresh, empty store, on 127.0.0.1, port 0. */
  start(): Promise<ReadingListApp>;
}

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

const PROBLEM_TYPE = 'application/problem+json';

/** Any problem document (RFC 9457) the reading-list apps answer. */
const PROBLEM = {
  type: 'about:blank',
  title: expect.any(String),
  status: expect.any(Number),
  detail: expect.any(String),
};

/**
 * Registers the reading-list API scenarios for one example app: every case starts a fresh
 * app (fresh store) and talks to it over real HTTP, directly and through `POST /batch`.
 */
export function readingListScenarios(name: string, target: ReadingListTarget): void {
  describe(`${name}: reading list`, () => {
    let api: ReadingListApp;
    beforeEach(async () => {
      api = await target.start();
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

    /** Posts a JSON batch (as alice, or `as`) and answers its `responses`. */
    const jsonBatch = async (batch: unknown, as: string | null = 'alice'): Promise<Item[]> => {
      const response = await call('/batch', { method: 'POST', body: batch, as });
      expect(response.status).toBe(200);
      return ((await response.json()) as { responses: Item[] }).responses;
    };

    const create = async (title: string, url: string, as = 'alice') => {
      const response = await call('/articles', { method: 'POST', body: { title, url }, as });
      expect(response.status).toBe(201);
      return { etag: response.headers.get('etag')!, article: await json(response) };
    };

    it('answers GET / without a token: the service info', async () => {
      const response = await call('/', { as: null });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        name: 'reading-list',
        description: expect.any(String),
        batch: { path: '/batch', maxRequests: 100, formats: ['multipart', 'json'] },
      });
    });

    it('answers 401 problem+json, WWW-Authenticate: Bearer, without a bearer token', async () => {
      const anonymous = [
        {},
        { authorization: 'Bearer ' },
        { authorization: 'Basic YWxpY2U6c2VjcmV0' },
      ];
      for (const headers of anonymous) {
        for (const path of ['/articles', '/articles/1']) {
          const response = await call(path, { as: null, headers });
          expect(response.status).toBe(401);
          expect(response.headers.get('content-type')).toContain(PROBLEM_TYPE);
          expect(response.headers.get('www-authenticate')).toBe('Bearer');
          expect(await response.json()).toEqual(UNAUTHORIZED);
        }
      }
    });

    it('answers GET /batch with the adapter 405', async () => {
      const response = await call('/batch');
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
      expect(response.headers.get('content-type')).toContain(PROBLEM_TYPE);
    });

    for (const { where, as, headers } of [
      { where: 'on the batch request', as: 'alice', headers: {} },
      { where: 'in defaults.headers', as: null, headers: { Authorization: 'Bearer alice' } },
    ]) {
      it(`runs the Kinto documentation batch, Authorization ${where}: 201, 201, then the PATCH`, async () => {
        const responses = await jsonBatch(
          {
            defaults: { method: 'POST', path: '/articles', headers },
            requests: [
              { body: { title: 'MoFo', url: 'http://mozilla.org' } },
              { body: { title: 'MoCo', url: 'http://mozilla.com' } },
              { method: 'PATCH', path: '/articles/1', body: { read_position: 3477 } },
            ],
          },
          as,
        );
        expect(responses.map((item) => item.status)).toEqual([201, 201, 200]);
        expect(responses.map((item) => item.path)).toEqual([
          '/articles',
          '/articles',
          '/articles/1',
        ]);
        const [mofo, moco, patched] = responses as [Item, Item, Item];
        expect(mofo.body).toEqual({
          id: 1,
          title: 'MoFo',
          url: 'http://mozilla.org',
          read_position: 0,
          last_modified: expect.any(Number),
        });
        expect(moco.body).toEqual({
          id: 2,
          title: 'MoCo',
          url: 'http://mozilla.com',
          read_position: 0,
          last_modified: expect.any(Number),
        });
        expect(patched.body).toEqual({
          ...mofo.body,
          read_position: 3477,
          last_modified: expect.any(Number),
        });
        expect(patched.body.last_modified).toBeGreaterThan(mofo.body.last_modified);
        expect(mofo.headers.Location).toBe('/articles/1');
        expect(moco.headers.Location).toBe('/articles/2');
        expect(patched.headers.Location).toBeUndefined();
        for (const item of responses) expect(item.headers.ETag).toBe(etagOf(item.body));

        expect(await json(await call('/articles'))).toEqual({ data: [patched.body, moco.body] });
      });
    }

    it('speaks multipart/mixed: encodeBatchRequest in, decodeBatchResponse out', async () => {
      const jsonType = [['Content-Type', 'application/json']] as [string, string][];
      const encoded = encodeBatchRequest('multipart', [
        {
          method: 'POST',
          target: '/articles',
          id: 'item1',
          headers: jsonType,
          body: JSON.stringify({ title: 'MoFo', url: 'http://mozilla.org' }),
        },
        {
          method: 'PATCH',
          target: '/articles/1',
          id: 'item2',
          headers: jsonType,
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
      expect(body(1)).toMatchObject({ id: 1, read_position: 42 });
      expect(body(2)).toMatchObject({ id: 1, title: 'MoFo', read_position: 42 });
      expect(body(2)).toEqual(body(1));
      expect(header(2, 'etag')).toBe(etagOf(body(2)));
      expect(header(3, 'content-type')).toContain(PROBLEM_TYPE);
      expect(body(3)).toEqual({ ...PROBLEM, title: 'Not Found', status: 404 });
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
      expect(responses[1]?.headers['Content-Type']).toContain(PROBLEM_TYPE);
      expect(responses[1]?.body).toEqual(UNAUTHORIZED);
      expect(responses[2]?.body).toMatchObject({ id: 1, title: 'MoFo' });
      expect(responses[3]?.body).toEqual({ data: [] });
    });

    it('answers 412 to a stale If-Match and to If-None-Match: * on an existing id', async () => {
      const { etag, article } = await create('MoFo', 'http://mozilla.org');
      const replacement = { title: 'MoCo', url: 'http://mozilla.com' };
      const refused: Response[] = [];
      for (const stale of ['"0"', '"1"']) {
        const headers = { 'if-match': stale };
        refused.push(
          await call('/articles/1', { method: 'PATCH', body: { read_position: 1 }, headers }),
          await call('/articles/1', { method: 'PUT', body: replacement, headers }),
          await call('/articles/1', { method: 'DELETE', headers }),
        );
      }
      refused.push(
        await call('/articles/1', {
          method: 'PUT',
          body: replacement,
          headers: { 'if-none-match': '*' },
        }),
      );
      for (const response of refused) {
        expect(response.status).toBe(412);
        expect(response.headers.get('content-type')).toContain(PROBLEM_TYPE);
        expect(await response.json()).toEqual({
          ...PROBLEM,
          title: 'Precondition Failed',
          status: 412,
        });
      }
      const unchanged = await call('/articles/1');
      expect(unchanged.headers.get('etag')).toBe(etag);
      expect(await unchanged.json()).toEqual(article);

      const patched = await call('/articles/1', {
        method: 'PATCH',
        body: { read_position: 7 },
        headers: { 'if-match': etag },
      });
      expect(patched.status).toBe(200);
      expect(patched.headers.get('etag')).not.toBe(etag);
      expect(patched.headers.get('etag')).toBe(etagOf(await json(patched)));
      const created = await call('/articles/5', {
        method: 'PUT',
        body: replacement,
        headers: { 'if-none-match': '*' },
      });
      expect(created.status).toBe(201);
      expect(created.headers.get('location')).toBe('/articles/5');
      expect(await created.json()).toMatchObject({ id: 5, ...replacement, read_position: 0 });
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
      for (const item of responses.slice(1, 5)) {
        expect(item.headers['Content-Type']).toContain(PROBLEM_TYPE);
        expect(item.body).toMatchObject({ ...PROBLEM, title: 'Precondition Failed', status: 412 });
      }
      expect(responses[5]?.body).toMatchObject({ title: 'MoFo', read_position: 10 });
      expect(responses[5]?.body).toEqual(responses[0]?.body);

      // The same, each item with its own precondition headers (no defaults).
      const tag = responses[0]!.headers.ETag!;
      const again = await jsonBatch({
        defaults: { path: '/articles/1' },
        requests: [
          { method: 'PATCH', headers: { 'If-Match': tag }, body: { read_position: 30 } },
          { method: 'PATCH', headers: { 'If-Match': tag }, body: { read_position: 40 } },
          { method: 'PUT', headers: { 'If-None-Match': '*' }, body: { title: 'x', url: 'y' } },
          { method: 'DELETE', headers: { 'If-Match': tag } },
          { method: 'GET' },
        ],
      });
      expect(again.map((item) => item.status)).toEqual([200, 412, 412, 412, 200]);
      expect(again[1]?.body).toMatchObject({ title: 'Precondition Failed', status: 412 });
      expect(again[4]?.body).toEqual(again[0]?.body);
      expect(again[4]?.body.read_position).toBe(30);
    });

    it("keeps owners apart: bob never sees alice's articles", async () => {
      await create('MoFo', 'http://mozilla.org');
      const get = await call('/articles/1', { as: 'bob' });
      expect(get.status).toBe(404);
      expect(await get.json()).toEqual({ ...PROBLEM, title: 'Not Found', status: 404 });
      expect(await (await call('/articles', { as: 'bob' })).json()).toEqual({ data: [] });
      const patch = await call('/articles/1', {
        method: 'PATCH',
        body: { read_position: 1 },
        as: 'bob',
      });
      expect(patch.status).toBe(404);
      const removed = await call('/articles/1', { method: 'DELETE', as: 'bob' });
      expect(removed.status).toBe(404);
      expect(removed.headers.get('content-type')).toContain(PROBLEM_TYPE);
      expect(await removed.json()).toEqual({ ...PROBLEM, title: 'Not Found', status: 404 });
      expect((await call('/articles/1')).status).toBe(200);
      const bobs = await create('MoCo', 'http://mozilla.com', 'bob');
      expect(bobs.article.id).toBe(1);
      expect((await json(await call('/articles'))).data).toMatchObject([{ title: 'MoFo' }]);
    });

    it("keeps ids safe integers: one owner's PUT at the largest id moves no one else's ids", async () => {
      const max = Number.MAX_SAFE_INTEGER;
      const put = await call(`/articles/${max}`, {
        method: 'PUT',
        body: { title: 'Last', url: 'http://x.example' },
        as: 'mallory',
      });
      expect(put.status).toBe(201);
      for (const owner of ['bob', 'bob', 'alice']) await create(owner, 'http://b.example', owner);
      const bobs = (await json(await call('/articles', { as: 'bob' }))).data;
      expect(bobs.map((article: { id: number }) => article.id)).toEqual([1, 2]);
      expect((await call('/articles/2', { as: 'bob' })).status).toBe(200);
      expect((await call('/articles/1')).status).toBe(200);
      const refused = await call('/articles', {
        method: 'POST',
        body: { title: 'Next', url: 'http://y.example' },
        as: 'mallory',
      });
      expect(refused.status).toBe(507);
      expect(refused.headers.get('content-type')).toContain(PROBLEM_TYPE);
    });

    it('answers 400 problem+json to invalid, non-JSON and malformed bodies', async () => {
      const invalid = await call('/articles', {
        method: 'POST',
        body: { title: '', read_position: -1, extra: true },
      });
      expect(invalid.status).toBe(400);
      expect(invalid.headers.get('content-type')).toContain(PROBLEM_TYPE);
      const problem = (await invalid.json()) as { errors: { pointer: string }[] };
      expect(problem).toMatchObject({ ...PROBLEM, title: 'Bad Request', status: 400 });
      expect(problem.errors.map((error) => error.pointer).sort()).toEqual([
        '/extra',
        '/read_position',
        '/title',
        '/url',
      ]);
      await create('MoFo', 'http://mozilla.org');
      const raw = (method: string, path: string, type: string, body: string) =>
        call(path, { method, body, headers: { 'content-type': type } });
      const notJson = [
        await raw('POST', '/articles', 'application/json', '{"title": "MoFo",'),
        await raw('POST', '/articles', 'application/json', '{"title": '),
        await raw('POST', '/articles', 'text/plain', 'MoFo'),
        await raw('POST', '/articles', 'text/plain', 'title=MoFo'),
        await raw('PUT', '/articles/1', 'application/json', '['),
        await raw('PATCH', '/articles/1', 'application/x-www-form-urlencoded', 'read_position=3'),
      ];
      const badPatch = await call('/articles/1', {
        method: 'PATCH',
        body: { read_position: 'far' },
      });
      let last: { errors?: unknown } = {};
      for (const response of [...notJson, badPatch]) {
        expect(response.status).toBe(400);
        expect(response.headers.get('content-type')).toContain(PROBLEM_TYPE);
        last = await json(response);
        expect(last).toMatchObject({ ...PROBLEM, title: 'Bad Request', status: 400 });
      }
      // the last one, the PATCH, says which member was wrong
      expect(last.errors).toEqual([{ pointer: '/read_position', detail: expect.any(String) }]);
      expect(await json(await call('/articles/1'))).toMatchObject({ read_position: 0 });
    });

    it('lists, replaces and deletes; 404 problem+json for unknown routes and ids', async () => {
      await create('MoFo', 'http://mozilla.org');
      for (const [id, title] of [
        [4, 'Four'],
        [3, 'Three'],
      ] as const) {
        const put = await call(`/articles/${id}`, {
          method: 'PUT',
          body: { title, url: `http://${id}.example` },
        });
        expect(put.status).toBe(201);
      }
      const list = (await (await call('/articles')).json()) as { data: { id: number }[] };
      expect(list.data.map((article) => article.id)).toEqual([1, 3, 4]);
      const replaced = await call('/articles/1', {
        method: 'PUT',
        body: { title: 'One', url: 'http://1.example', read_position: 5 },
      });
      expect(replaced.status).toBe(200);
      expect(replaced.headers.get('location')).toBeNull();
      expect(replaced.headers.get('etag')).toMatch(/^"\d+"$/);
      const record = await json(replaced);
      const deleted = await call('/articles/1', { method: 'DELETE' });
      expect(deleted.status).toBe(200);
      const removed = await json(deleted);
      expect(removed).toMatchObject({ id: 1, title: 'One', read_position: 5 });
      expect(removed).toEqual(record);
      for (const path of ['/articles/1', '/articles/abc', '/articles/0', '/articles/99', '/nope']) {
        const response = await call(path);
        expect(response.status).toBe(404);
        expect(response.headers.get('content-type')).toContain(PROBLEM_TYPE);
        expect(await response.json()).toEqual({ ...PROBLEM, title: 'Not Found', status: 404 });
      }
    });

    it('answers a throwing route with 500 problem+json, no stack; the batch stays 200', async () => {
      const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
      try {
        api.store.list = () => {
          throw new Error('disk on fire');
        };
        const direct = await call('/articles');
        expect(direct.status).toBe(500);
        expect(direct.headers.get('content-type')).toContain(PROBLEM_TYPE);
        const text = await direct.text();
        expect(JSON.parse(text)).toEqual({
          ...PROBLEM,
          title: 'Internal Server Error',
          status: 500,
        });
        expect(text).not.toMatch(/disk on fire|\n\s+at /);
        const responses = await jsonBatch({ requests: [{ path: '/articles' }, { path: '/' }] });
        expect(responses.map((item) => item.status)).toEqual([500, 200]);
      } finally {
        quiet.mockRestore();
      }
    });
  });
}
