import {
  type BatchFormat,
  type DecodedSubResponse,
  decodeBatchResponse,
  decodeJsonLines,
  encodeBatchRequest,
  type HeaderList,
  type SubRequestInit,
} from '@batch/core';
import { afterAll, describe, expect, it } from 'vitest';
import type { RequestDescription } from '../app/describeRequest.js';
import type { RunningRuntime } from './startRuntime.js';

/** What the suite expects of a runtime, beyond the answers every runtime gives alike. */
export interface RuntimeFacts {
  /** What `describeRequest` says it runs on. */
  runtime: 'bun' | 'deno' | 'workerd';
  /** Whether @batch/fetch's lazy sub-request passes its self-test there. */
  lazyRequests: boolean;
  /** Workers: bindings (`env.GREETING`) and `ctx.waitUntil` reach every sub-request. */
  workers: boolean;
  /** `http://127.0.0.1:<port>`, once started. */
  origin: string;
}

const decoder = new TextDecoder();
const text = (part: DecodedSubResponse | undefined) => decoder.decode(part?.body);
const json = (part: DecodedSubResponse | undefined): unknown => JSON.parse(text(part));
const header = (headers: HeaderList | undefined, name: string) =>
  (headers ?? []).filter(([key]) => key.toLowerCase() === name).map(([, value]) => value);

interface Item {
  request: SubRequestInit;
  check(part: DecodedSubResponse | undefined, facts: RuntimeFacts): void;
}

function describedAs(facts: RuntimeFacts, authorization: string): RequestDescription {
  return {
    runtime: facts.runtime,
    isRequest: true,
    lazy: facts.lazyRequests,
    greeting: facts.workers ? 'hello from a binding' : null,
    waitUntil: facts.workers,
    authorization,
  };
}

/** The same kinds of items on both apps: text, a body echoed, cookies, a throw, an override, the request itself, its copies. */
const APPS: Record<
  'plain' | 'hono',
  {
    batchPath: string;
    base: string;
    items: Item[];
    /** The n-th of many small GETs, and the body it answers. */
    numbered(n: number): { target: string; body: string };
  }
> = {
  plain: {
    batchPath: '/plain/batch',
    base: '/plain',
    numbered: (n) => ({ target: `/plain/hello?name=${n}`, body: `hello ${n}` }),
    items: [
      {
        request: { target: '/plain/hello?name=ann' },
        check(part) {
          expect(part?.status).toBe(200);
          expect(text(part)).toBe('hello ann');
          expect(header(part?.headers, 'content-type')[0]).toMatch(/^text\/plain;charset=utf-8$/i);
        },
      },
      {
        request: {
          method: 'PATCH',
          target: '/plain/echo',
          headers: [['content-type', 'text/plain']],
          body: 'patched',
        },
        check(part) {
          expect(part?.status).toBe(200);
          expect(json(part)).toEqual({
            method: 'PATCH',
            body: 'patched',
            auth: 'Bearer outer',
            type: 'text/plain',
          });
        },
      },
      {
        request: { target: '/plain/cookies' },
        check(part) {
          expect(part?.status).toBe(204);
          expect(header(part?.headers, 'set-cookie')).toEqual(['a=1; Path=/', 'b=2; Path=/']);
        },
      },
      {
        request: { target: '/plain/fail' },
        check(part) {
          expect(part?.status).toBe(500);
        },
      },
      {
        request: { target: '/plain/nowhere', headers: [['authorization', 'Bearer inner']] },
        check(part) {
          expect(part?.status).toBe(404);
          expect(text(part)).toBe('not found');
        },
      },
      {
        request: { target: '/plain/request' },
        check(part, facts) {
          expect(part?.status).toBe(200);
          expect(json(part)).toEqual(describedAs(facts, 'Bearer outer'));
        },
      },
      {
        request: { method: 'POST', target: '/plain/copy', body: 'copied' },
        check(part, facts) {
          expect(part?.status).toBe(200);
          expect(json(part)).toEqual(copied(facts, '/plain/copy'));
        },
      },
    ],
  },
  hono: {
    batchPath: '/hono/batch',
    base: '/hono',
    numbered: (n) => ({ target: `/articles/${n}`, body: JSON.stringify({ id: n, title: 'MoFo' }) }),
    items: [
      {
        request: { target: '/articles/1' },
        check(part) {
          expect(part?.status).toBe(200);
          expect(json(part)).toEqual({ id: 1, title: 'MoFo' });
        },
      },
      {
        request: {
          method: 'PATCH',
          target: '/hono/articles/2',
          headers: [['content-type', 'application/json']],
          body: '{"read_position":3477}',
        },
        check(part) {
          expect(part?.status).toBe(200);
          expect(json(part)).toEqual({ id: 2, read_position: 3477 });
        },
      },
      {
        request: { target: '/cookies' },
        check(part) {
          expect(part?.status).toBe(200);
          expect(text(part)).toBe('ok');
          expect(header(part?.headers, 'set-cookie')).toEqual(['a=1; Path=/', 'b=2; Path=/']);
        },
      },
      {
        request: { target: '/fail' },
        check(part) {
          expect(part?.status).toBe(500);
          expect(json(part)).toEqual({ error: 'boom' });
        },
      },
      {
        // An empty Authorization overrides the inherited one: the auth rule answers.
        request: { target: '/articles/3', headers: [['authorization', '']] },
        check(part) {
          expect(part?.status).toBe(401);
          expect(json(part)).toEqual({ error: 'unauthorized' });
        },
      },
      {
        request: { target: '/request' },
        check(part, facts) {
          expect(part?.status).toBe(200);
          expect(json(part)).toEqual(describedAs(facts, 'Bearer outer'));
        },
      },
      {
        request: { method: 'POST', target: '/copy', body: 'copied' },
        check(part, facts) {
          expect(part?.status).toBe(200);
          expect(json(part)).toEqual(copied(facts, '/hono/copy'));
        },
      },
    ],
  },
};

function copied(facts: RuntimeFacts, path: string) {
  return {
    clone: 'copied',
    copy: 'copied',
    method: 'POST',
    url: `${facts.origin}${path}`,
    authorization: 'Bearer outer',
  };
}

function batchInit(format: BatchFormat, requests: SubRequestInit[], accept?: string): RequestInit {
  const encoded = encodeBatchRequest(format, requests);
  return {
    method: 'POST',
    headers: {
      'content-type': encoded.contentType,
      authorization: 'Bearer outer',
      ...(accept === undefined ? {} : { accept }),
    },
    body: encoded.body as Uint8Array<ArrayBuffer>,
  };
}

/**
 * Batches through a runtime's own server over real HTTP, for the plain fetch handler
 * (@batch/fetch) and the Hono app (@batch/hono): both formats, JSON Lines, refused batches.
 * The runtime is started by the first test that needs it (so that a runtime that cannot
 * start fails every test, with its output) and stopped after the last.
 */
export function runtimeSuite(
  name: string,
  start: () => Promise<RunningRuntime>,
  facts: Omit<RuntimeFacts, 'origin'>,
): void {
  let started: Promise<RunningRuntime> | undefined;
  const origin = async () => {
    started ??= start();
    return (await started).origin;
  };
  afterAll(async () => {
    if (started !== undefined) await (await started.catch(() => undefined))?.stop();
  });

  describe(name, () => {
    it('serves direct requests (the server is up)', async () => {
      const base = await origin();
      const plain = await fetch(`${base}/plain/hello?name=direct`);
      expect(plain.status).toBe(200);
      expect(await plain.text()).toBe('hello direct');
      const hono = await fetch(`${base}/hono/articles/1`, { headers: { authorization: 'x' } });
      expect(await hono.json()).toEqual({ id: 1, title: 'MoFo' });
    });

    describe.each(Object.entries(APPS))('%s app', (_app, { batchPath, base, items, numbered }) => {
      const withOrigin = async () => ({ ...facts, origin: await origin() });

      describe.each(['json', 'multipart'] as const)('%s batch', (format) => {
        it('answers every item in order: statuses, bodies, headers, cookies', async () => {
          const all = await withOrigin();
          const response = await fetch(
            all.origin + batchPath,
            batchInit(
              format,
              items.map((item) => item.request),
            ),
          );
          expect(response.status).toBe(200);
          expect(response.headers.get('content-type')).toMatch(
            format === 'json' ? /^application\/json/ : /^multipart\/mixed; ?boundary=/,
          );
          const parts = await decodeBatchResponse({
            contentType: response.headers.get('content-type'),
            body: new Uint8Array(await response.arrayBuffer()),
          });
          expect(parts).toHaveLength(items.length);
          items.forEach((item, index) => {
            item.check(parts[index], all);
          });
        });
      });

      it('answers JSON Lines when asked (Accept: application/jsonl)', async () => {
        const all = await withOrigin();
        const response = await fetch(
          all.origin + batchPath,
          batchInit(
            'json',
            items.map((item) => item.request),
            'application/jsonl',
          ),
        );
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toBe('application/jsonl');
        const lines: DecodedSubResponse[] = [];
        for await (const line of decodeJsonLines(new Uint8Array(await response.arrayBuffer()))) {
          lines.push(line);
        }
        expect(lines.map((line) => line.index).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(
          items.map((_, index) => index),
        );
        for (const line of lines) items[line.index ?? -1]?.check(line, all);
      });

      it('runs the most items a batch may have (100), each answered in its place', async () => {
        const all = await withOrigin();
        const expected = Array.from({ length: 100 }, (_, n) => numbered(n));
        const response = await fetch(
          all.origin + batchPath,
          batchInit(
            'multipart',
            expected.map(({ target }) => ({ target })),
          ),
        );
        expect(response.status).toBe(200);
        const parts = await decodeBatchResponse({
          contentType: response.headers.get('content-type'),
          body: new Uint8Array(await response.arrayBuffer()),
        });
        expect(parts.map((part) => [part.status, text(part)])).toEqual(
          expected.map(({ body }) => [200, body]),
        );
      });

      it('refuses 101 items (400 problem+json) before running any', async () => {
        const all = await withOrigin();
        const many = Array.from({ length: 101 }, () => ({ target: `${base}/fail` }));
        const response = await fetch(all.origin + batchPath, batchInit('json', many));
        expect(response.status).toBe(400);
        expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        const problem = (await response.json()) as { status?: number };
        expect(problem.status).toBe(400);
      });

      it('refuses a body that is no batch (415) and a GET (405)', async () => {
        const all = await withOrigin();
        const refused = await fetch(all.origin + batchPath, {
          method: 'POST',
          headers: { 'content-type': 'text/plain' },
          body: 'not a batch',
        });
        expect(refused.status).toBe(415);
        expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        await refused.arrayBuffer();
        const get = await fetch(all.origin + batchPath);
        expect(get.status).toBe(405);
        expect(get.headers.get('allow')).toBe('POST');
        await get.arrayBuffer();
      });

      it("a direct request sees the runtime's own Request, env and ctx", async () => {
        const all = await withOrigin();
        const target = base === '/plain' ? '/plain/request' : '/hono/request';
        const direct = await fetch(all.origin + target, { headers: { authorization: 'Bearer d' } });
        expect(await direct.json()).toEqual({
          ...describedAs(all, 'Bearer d'),
          lazy: false,
        });
      });
    });
  });
}
