import { request as httpRequest } from 'node:http';
import {
  type BatchFormat,
  type BatchOptions,
  type DecodedSubResponse,
  decodeBatchResponse,
  encodeBatchRequest,
  type SubRequestInit,
} from '@batch/core';
import { afterAll, describe, expect, it } from 'vitest';
import { asyncBatchesSuite } from './asyncBatches.js';
import { connectionSurvivalSuite } from './connectionSurvival.js';
import { hostileInputSuite } from './hostileInput.js';
import { preferenceScenarios } from './preferenceScenarios.js';
import { robustnessSuite } from './robustness.js';
import { safeRetriesSuite } from './safeRetries.js';
import type { ConformanceTarget, RunningApp } from './testApp.js';

const decoder = new TextDecoder();
const FORMATS: BatchFormat[] = ['json', 'multipart'];

interface Sent {
  status: number;
  headers: Headers;
  parts: DecodedSubResponse[];
  text: string;
}

/** Posts raw bytes to the batch route; decodes the answer when it is a batch. */
async function post(
  app: RunningApp,
  path: string,
  contentType: string,
  body: Uint8Array | string,
  headers: Record<string, string> = {},
): Promise<Sent> {
  const response = await fetch(app.url + path, {
    method: 'POST',
    headers: { 'content-type': contentType, ...headers },
    body: typeof body === 'string' ? body : (body as Uint8Array<ArrayBuffer>),
  });
  const bytes = new Uint8Array(await response.arrayBuffer());
  const type = response.headers.get('content-type');
  const isBatch =
    response.status === 200 && type !== null && !type.startsWith('application/problem');
  return {
    status: response.status,
    headers: response.headers,
    parts: isBatch ? await decodeBatchResponse({ contentType: type, body: bytes }) : [],
    text: decoder.decode(bytes),
  };
}

function send(
  app: RunningApp,
  format: BatchFormat,
  requests: SubRequestInit[],
  headers: Record<string, string> = {},
  path = '/batch',
): Promise<Sent> {
  const encoded = encodeBatchRequest(format, requests);
  return post(app, path, encoded.contentType, encoded.body, headers);
}

// biome-ignore lint/suspicious/noExplicitAny: echoed JSON is read field by field in assertions
function json(part: DecodedSubResponse | undefined): any {
  expect(part).toBeDefined();
  return JSON.parse(decoder.decode(part!.body));
}

function header(part: DecodedSubResponse | undefined, name: string): string[] {
  return (part?.headers ?? [])
    .filter(([key]) => key.toLowerCase() === name)
    .map(([, value]) => value);
}

const jsonBody = (value: unknown): Pick<SubRequestInit, 'headers' | 'body'> => ({
  headers: [['Content-Type', 'application/json']],
  body: JSON.stringify(value),
});

/**
 * Registers the conformance suite for one adapter: every case runs over real HTTP
 * against the adapter's test app (see `testApp.ts` for the routes it must serve).
 */
export function conformanceSuite(name: string, target: ConformanceTarget): void {
  const apps: RunningApp[] = [];
  const start = async (batch: BatchOptions = {}, batchPath = '/batch') => {
    const app = await target.start({ batchPath, batch });
    apps.push(app);
    return app;
  };
  let shared: Promise<RunningApp> | undefined;
  const defaultApp = () => {
    shared ??= start();
    return shared;
  };
  afterAll(async () => {
    await Promise.all(apps.map((app) => app.close()));
  });

  describe(`${name}: conformance`, () => {
    describe.each(FORMATS)('%s format', (format) => {
      it('answers every item in order through the app, bodies read by its body parser', async () => {
        const app = await defaultApp();
        const sent = await send(app, format, [
          { method: 'GET', target: '/echo/1?x=1', id: 'a' },
          { method: 'POST', target: '/echo/2', ...jsonBody({ title: 'MoFo' }), id: 'b' },
          { method: 'PATCH', target: '/echo/3', ...jsonBody({ read_position: 3477 }) },
          { method: 'DELETE', target: '/echo/4' },
        ]);
        expect(sent.status).toBe(200);
        expect(sent.parts.map((part) => part.status)).toEqual([200, 200, 200, 200]);
        expect(sent.parts.map((part) => json(part).url)).toEqual([
          '/echo/1?x=1',
          '/echo/2',
          '/echo/3',
          '/echo/4',
        ]);
        expect(sent.parts.map((part) => json(part).method)).toEqual([
          'GET',
          'POST',
          'PATCH',
          'DELETE',
        ]);
        expect(json(sent.parts[1]).body).toEqual({ title: 'MoFo' });
        expect(json(sent.parts[2]).body).toEqual({ read_position: 3477 });
        if (format === 'json') {
          expect(sent.parts.map((part) => part.path)).toEqual([
            '/echo/1',
            '/echo/2',
            '/echo/3',
            '/echo/4',
          ]);
          expect(sent.parts[0]?.id).toBe('a');
        } else {
          expect(sent.parts[0]?.contentId).toBe('<response-a>');
          expect(sent.parts.every((part) => part.statusText === 'OK')).toBe(true);
        }
        for (const part of sent.parts)
          expect(header(part, 'server-timing')[0]).toMatch(/^batch;dur=/);
      });

      it('inherits the batch headers, keeps Host, lets items override (an empty Authorization too)', async () => {
        const app = await defaultApp();
        const sent = await send(
          app,
          format,
          [
            { method: 'GET', target: '/echo' },
            {
              method: 'GET',
              target: '/echo',
              headers: [
                ['X-Custom', 'item'],
                ['Accept-Language', 'de'],
              ],
            },
            { method: 'GET', target: '/private', headers: [['Authorization', '']] },
            { method: 'GET', target: '/private' },
          ],
          {
            authorization: 'Bearer alice',
            cookie: 'sid=1',
            'accept-language': 'fr',
            'x-custom': 'outer',
          },
        );
        const first = json(sent.parts[0]);
        expect(first.headers).toMatchObject({
          authorization: 'Bearer alice',
          cookie: 'sid=1',
          'accept-language': 'fr',
          'x-custom': 'outer',
        });
        expect(first.headers.host).toBe(new URL(app.url).host);
        expect(first.headers['content-type']).toBeNull();
        expect(json(sent.parts[1]).headers).toMatchObject({
          'x-custom': 'item',
          'accept-language': 'de',
          authorization: 'Bearer alice',
        });
        expect(sent.parts[2]?.status).toBe(401);
        expect(sent.parts[3]?.status).toBe(200);
      });

      it('keeps every Set-Cookie, binary and text bodies, HEAD, 204, 304 and redirects', async () => {
        const app = await defaultApp();
        const sent = await send(app, format, [
          { method: 'GET', target: '/cookies' },
          { method: 'GET', target: '/binary' },
          { method: 'GET', target: '/text' },
          { method: 'HEAD', target: '/echo' },
          { method: 'GET', target: '/empty' },
          { method: 'GET', target: '/not-modified' },
          { method: 'GET', target: '/redirect' },
          { method: 'GET', target: '/stream' },
          {
            method: 'POST',
            target: '/echo',
            headers: [['Content-Type', 'application/octet-stream']],
            body: Uint8Array.of(0, 1, 2, 255),
          },
        ]);
        const [cookies, binary, text, head, empty, notModified, redirect, stream] = sent.parts;
        expect(header(cookies, 'set-cookie').map((value) => value.split(';')[0])).toEqual([
          'a=1',
          'b=2',
        ]);
        expect(Array.from(binary!.body)).toEqual(Array.from({ length: 256 }, (_, i) => i));
        expect(decoder.decode(text!.body)).toBe('héllo wörld');
        expect(head?.status).toBe(200);
        expect(head?.body.length).toBe(0);
        expect(empty?.status).toBe(204);
        expect(empty?.body.length).toBe(0);
        expect(notModified?.status).toBe(304);
        expect(redirect?.status).toBe(302);
        expect(header(redirect, 'location')).toEqual(['/echo']);
        expect(decoder.decode(stream!.body)).toBe('abc');
        expect(sent.parts[8]?.status).toBe(200);
        if (format === 'json') {
          // SPEC §3: no body member at all for HEAD, 204 and 304 (the Graph SDK builds a
          // Response from it); the others keep theirs.
          const items = JSON.parse(sent.text).responses as Array<Record<string, unknown>>;
          expect([3, 4, 5].map((i) => 'body' in items[i]!)).toEqual([false, false, false]);
          expect([0, 1, 2, 7].map((i) => 'body' in items[i]!)).toEqual([true, true, true, true]);
        }
      });

      it("answers a throwing route with the app's error handler; the batch stays 200", async () => {
        const app = await defaultApp();
        const sent = await send(app, format, [
          { method: 'GET', target: '/fail' },
          { method: 'GET', target: '/echo' },
          { method: 'GET', target: '/no-such-route' },
        ]);
        expect(sent.status).toBe(200);
        expect(sent.parts[0]?.status).toBe(500);
        expect(json(sent.parts[0])).toEqual({ error: 'boom' });
        expect(sent.parts[1]?.status).toBe(200);
        expect(sent.parts[2]?.status).toBe(404);
      });

      it('rejects a request to the batch route itself (400) and runs nothing', async () => {
        const app = await defaultApp();
        const before = app.log.length;
        const sent = await send(app, format, [
          { method: 'GET', target: '/echo/nested-guard' },
          { method: 'POST', target: '/batch' },
        ]);
        expect(sent.status).toBe(400);
        expect(sent.headers.get('content-type')).toContain('application/problem+json');
        expect(app.log.slice(before)).toEqual([]);
      });
    });

    it('applies JSON defaults deeply, never overwriting', async () => {
      const app = await defaultApp();
      const body = JSON.stringify({
        defaults: { method: 'POST', path: '/echo/articles', headers: { 'X-Custom': 'default' } },
        requests: [
          { body: { title: 'MoFo', url: 'http://mozilla.org' } },
          {
            method: 'PATCH',
            path: '/echo/articles/409',
            headers: { 'X-Custom': 'own' },
            body: { read_position: 3477 },
          },
        ],
      });
      const sent = await post(app, '/batch', 'application/json', body);
      expect(json(sent.parts[0])).toMatchObject({
        method: 'POST',
        url: '/echo/articles',
        body: { title: 'MoFo', url: 'http://mozilla.org' },
      });
      expect(json(sent.parts[0]).headers['x-custom']).toBe('default');
      expect(json(sent.parts[1])).toMatchObject({
        method: 'PATCH',
        url: '/echo/articles/409',
        body: { read_position: 3477 },
      });
      expect(json(sent.parts[1]).headers['x-custom']).toBe('own');
    });

    it('answers endpoint errors as problem+json: 405 with Allow, 415, 400', async () => {
      const app = await defaultApp();
      const get = await fetch(`${app.url}/batch`);
      expect(get.status).toBe(405);
      expect(get.headers.get('allow')).toBe('POST');
      expect(get.headers.get('content-type')).toContain('application/problem+json');
      const text = await post(app, '/batch', 'text/plain', 'hello');
      expect(text.status).toBe(415);
      expect(JSON.parse(text.text).detail).toContain('multipart/mixed');
      const bad = await post(
        app,
        '/batch',
        'application/json',
        '{"requests":[{"path":"/echo","nope":1}]}',
      );
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.text).errors).toEqual([
        expect.objectContaining({ pointer: '/requests/0/nope' }),
      ]);
      expect(bad.text).not.toMatch(/\n\s+at /);
    });

    it('enforces every limit with a clear error, running nothing', async () => {
      const app = await start({
        maxRequests: 2,
        maxBodyBytes: 2048,
        maxPartHeaderBytes: 512,
        maxItemBodyBytes: 64,
      });
      const before = app.log.length;
      const many = await send(app, 'json', [
        { target: '/echo' },
        { target: '/echo' },
        { target: '/echo' },
      ]);
      expect(many.status).toBe(400);
      const big = await post(
        app,
        '/batch',
        'application/json',
        JSON.stringify({ requests: [{ path: '/echo', body: 'x'.repeat(4000) }] }),
      );
      expect(big.status).toBe(413);
      const item = await send(app, 'multipart', [
        {
          method: 'POST',
          target: '/echo',
          headers: [['Content-Type', 'text/plain']],
          body: 'y'.repeat(100),
        },
      ]);
      expect(item.status).toBe(413);
      const head = await send(app, 'multipart', [
        { target: '/echo', headers: [['X-Big', 'z'.repeat(600)]] },
      ]);
      expect(head.status).toBe(431);
      for (const sent of [many, big, item, head])
        expect(sent.headers.get('content-type')).toContain('application/problem+json');
      expect(app.log.slice(before)).toEqual([]);
    });

    it('resolves targets against the batch route base (/v1/batch)', async () => {
      const app = await start({}, '/v1/batch');
      const sent = await send(
        app,
        'json',
        [{ target: '/echo/a' }, { target: '/v1/echo/b' }, { target: 'echo/c?$top=2' }],
        {},
        '/v1/batch',
      );
      expect(sent.status).toBe(200);
      expect(sent.parts.map((part) => part.status)).toEqual([404, 404, 404]);
      expect(app.log.slice(-3)).toEqual([
        'GET /v1/echo/a',
        'GET /v1/echo/b',
        'GET /v1/echo/c?$top=2',
      ]);
    });

    it('answers a batch whose items answer at once whole, with its Content-Length; a waiting one streams', async () => {
      const app = await start();
      for (const format of ['json', 'multipart'] as const) {
        const encoded = encodeBatchRequest(format, [{ target: '/text' }, { target: '/echo/a' }]);
        const response = await fetch(`${app.url}/batch`, {
          method: 'POST',
          headers: { 'content-type': encoded.contentType },
          body: encoded.body as Uint8Array<ArrayBuffer>,
        });
        const bytes = new Uint8Array(await response.arrayBuffer());
        expect(response.status).toBe(200);
        expect(response.headers.get('content-length')).toBe(String(bytes.length));
        const parts = await decodeBatchResponse({
          contentType: response.headers.get('content-type'),
          body: bytes,
        });
        expect(parts.map((part) => part.status)).toEqual([200, 200]);
      }
      const slow = await send(app, 'json', [{ target: '/text' }, { target: '/slow/200' }]);
      expect(slow.headers.get('content-length')).toBeNull();
      expect(slow.parts.map((part) => part.status)).toEqual([200, 200]);
    });

    it('runs items concurrently when asked, answering in order', async () => {
      // What the app had started (its log) when each item finished: all four together means
      // each had started before any finished — no clock to race on a busy machine.
      const startedWhenDone: string[][] = [];
      let log: string[] = [];
      const app = await start({
        concurrency: 4,
        onItem: () => startedWhenDone.push([...log]),
      });
      log = app.log;
      const targets = ['/slow/800', '/slow/700', '/slow/750', '/slow/600'];
      const sent = await send(
        app,
        'json',
        targets.map((target) => ({ target })),
      );
      expect(sent.parts.map((part) => json(part).slept)).toEqual([800, 700, 750, 600]);
      expect(startedWhenDone).toHaveLength(4);
      // The first to finish (600 ms) found all four started.
      expect(startedWhenDone[0]).toEqual(expect.arrayContaining(targets.map((t) => `GET ${t}`)));
    });

    it('runs consecutive reads together and a write alone between them (SPEC §4)', async () => {
      // What the app had started (its log) when each item finished: onItem runs as an item
      // finishes, before anything that waited for it may start.
      const startedWhenDone = new Map<number, string[]>();
      let log: string[] = [];
      const app = await start({
        concurrency: 8,
        onItem: ({ index }) => startedWhenDone.set(index, [...log]),
      });
      log = app.log;
      const reads = ['GET /slow/400', 'GET /slow/400?n=2'];
      const sent = await send(app, 'json', [
        { target: '/slow/400' },
        { target: '/slow/400?n=2' },
        { method: 'POST', target: '/echo/write', ...jsonBody({ n: 1 }) },
        { target: '/slow/10' },
      ]);
      expect(sent.parts.map((part) => part.status)).toEqual([200, 200, 200, 200]);
      expect([...startedWhenDone.keys()].sort()).toEqual([0, 1, 2, 3]);
      // The two reads ran together: each had started before the other finished; the write
      // had not started while either ran.
      expect(startedWhenDone.get(0)).toEqual(expect.arrayContaining(reads));
      expect(startedWhenDone.get(1)).toEqual(expect.arrayContaining(reads));
      for (const index of [0, 1]) {
        expect(startedWhenDone.get(index)).not.toContain('POST /echo/write');
        expect(startedWhenDone.get(index)).not.toContain('GET /slow/10');
      }
      // The write ran alone: the read after it had not started when it finished.
      expect(startedWhenDone.get(2)).toContain('POST /echo/write');
      expect(startedWhenDone.get(2)).not.toContain('GET /slow/10');
      expect(app.log).toEqual([...reads, 'POST /echo/write', 'GET /slow/10']);
    });

    it('runs 40 reads at once without a listener warning (no listener per item on a shared signal)', async () => {
      const app = await start({ concurrency: 40, timeoutMs: 10_000 });
      const warnings: string[] = [];
      const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
      process.on('warning', onWarning);
      try {
        const sent = await send(
          app,
          'json',
          Array.from({ length: 40 }, (_, i) => ({ target: `/slow/20?n=${i}` })),
        );
        expect(sent.parts.map((part) => part.status)).toEqual(Array(40).fill(200));
        const plain = await start({ concurrency: 40 });
        const again = await send(
          plain,
          'json',
          Array.from({ length: 40 }, (_, i) => ({ target: `/slow/20?n=${i}` })),
        );
        expect(again.parts).toHaveLength(40);
        await new Promise((resolve) => setImmediate(resolve));
      } finally {
        process.off('warning', onWarning);
      }
      expect(warnings.filter((line) => line.startsWith('MaxListenersExceededWarning'))).toEqual([]);
    });

    it('JSON Lines: Accept: application/jsonl answers each item as it finishes, with its index', async () => {
      const app = await defaultApp();
      const encoded = encodeBatchRequest('json', [
        { target: '/slow/1500', id: 'slow' },
        { target: '/echo/fast' },
        { target: '/slow/20' },
      ]);
      const response = await fetch(`${app.url}/batch`, {
        method: 'POST',
        headers: { 'content-type': encoded.contentType, accept: 'application/jsonl' },
        body: encoded.body as Uint8Array<ArrayBuffer>,
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('application/jsonl');
      const reader = response.body!.getReader();
      let text = '';
      let linesBeforeSlow = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += decoder.decode(value, { stream: true });
        const complete = text.split('\n').slice(0, -1);
        // Lines arrive one by one: the two fast ones before the slow item is answered.
        if (!complete.some((line) => JSON.parse(line).index === 0))
          linesBeforeSlow = complete.length;
      }
      const lines = text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(lines.map((line) => line.index)).toEqual([1, 2, 0]);
      expect(linesBeforeSlow).toBe(2);
      expect(lines[2]).toMatchObject({ index: 0, id: 'slow', status: 200, body: { slept: 1500 } });
      expect(lines[0].body.url).toBe('/echo/fast');
    });

    it('holds dependsOn items until their dependencies succeed; 424 and unrun when one failed', async () => {
      const app = await defaultApp();
      const before = app.log.length;
      const sent = await send(app, 'json', [
        { target: '/fail', id: 'a' },
        { target: '/echo/after-a', id: 'b', dependsOn: ['a'] },
        { target: '/echo/ok', id: 'c' },
        { target: '/echo/after-c', id: 'd', dependsOn: ['c'] },
      ]);
      expect(sent.parts.map((part) => part.status)).toEqual([500, 424, 200, 200]);
      expect(app.log.slice(before)).toEqual(['GET /fail', 'GET /echo/ok', 'GET /echo/after-c']);
    });

    it("onError: 'stop' answers 424 for every later item without running it", async () => {
      const app = await start({ onError: 'stop' });
      const sent = await send(app, 'multipart', [
        { target: '/echo/1' },
        { target: '/private', headers: [['Authorization', '']] },
        { target: '/echo/3' },
      ]);
      expect(sent.parts.map((part) => part.status)).toEqual([200, 401, 424]);
      expect(app.log).toEqual(['GET /echo/1', 'GET /private']);
    });

    it('answers 504 for an item past timeoutMs, the others unaffected', async () => {
      // Generous: /echo must answer well within the timeout on a busy machine.
      const app = await start({ timeoutMs: 800 });
      const sent = await send(app, 'json', [{ target: '/slow/4000' }, { target: '/echo' }]);
      expect(sent.parts.map((part) => part.status)).toEqual([504, 200]);
    });

    it('starts no more items once the client disconnects mid-batch', async () => {
      // One after another, so that the items not yet started are known.
      const app = await start({ concurrency: 1 });
      const before = app.log.length;
      const requests = Array.from({ length: 9 }, (_, i) => ({ target: `/slow/300?n=${i}` }));
      const encoded = encodeBatchRequest('json', requests);
      const controller = new AbortController();
      const pending = fetch(`${app.url}/batch`, {
        method: 'POST',
        headers: { 'content-type': encoded.contentType },
        body: encoded.body as Uint8Array<ArrayBuffer>,
        signal: controller.signal,
      })
        .then((response) => response.arrayBuffer())
        .catch(() => undefined);
      // Disconnect once the first item runs (not after a fixed time: a busy machine).
      const ran = () => app.log.slice(before).filter((line) => line.startsWith('GET /slow/300'));
      while (ran().length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      controller.abort();
      await pending;
      await new Promise((resolve) => setTimeout(resolve, 800));
      // The first item ran; the one after it may have started as the abort arrived; no more.
      expect(ran().length).toBeGreaterThanOrEqual(1);
      expect(ran().length).toBeLessThanOrEqual(2);
    });

    it('does not run ahead of a client that reads slowly (backpressure)', async () => {
      const app = await start({ concurrency: 2 });
      const before = app.log.length;
      const count = 90;
      const encoded = encodeBatchRequest(
        'multipart',
        Array.from({ length: count }, () => ({ target: '/big/256' })),
      );
      const url = new URL(`${app.url}/batch`);
      const received = await new Promise<{ whilePaused: number; bytes: number }>(
        (resolve, reject) => {
          const req = httpRequest(
            {
              host: url.hostname,
              port: url.port,
              path: url.pathname,
              method: 'POST',
              headers: {
                'content-type': encoded.contentType,
                'content-length': encoded.body.length,
              },
            },
            (res) => {
              res.pause();
              setTimeout(() => {
                const whilePaused = app.log.length - before;
                let bytes = 0;
                res.on('data', (chunk: Buffer) => {
                  bytes += chunk.length;
                });
                res.on('end', () => resolve({ whilePaused, bytes }));
                res.resume();
              }, 500);
            },
          );
          req.on('error', reject);
          req.end(encoded.body);
        },
      );
      // 90 × 256 KiB = 22.5 MiB of answers: a paused client must hold the batch back.
      expect(received.whilePaused).toBeLessThan(count / 2);
      expect(received.bytes).toBeGreaterThan(count * 256 * 1024);
      expect(app.log.length - before).toBe(count);
    });

    connectionSurvivalSuite((batch) => start(batch));
    robustnessSuite((batch) => start(batch));
    hostileInputSuite((batch) => start(batch));
    safeRetriesSuite((batch) => start(batch));
    asyncBatchesSuite((batch) => start(batch));
    preferenceScenarios(defaultApp);
  });
}
