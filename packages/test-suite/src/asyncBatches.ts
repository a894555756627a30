import type { BatchFormat, BatchOptions } from '@batch/core';
import { decodeBatchResponse, decodeJsonLines, encodeBatchRequest } from '@batch/core';
import { describe, expect, it } from 'vitest';
import type { RunningApp } from './testApp.js';

const decoder = new TextDecoder();

interface Answer {
  status: number;
  headers: Headers;
  bytes: Uint8Array;
  text: string;
}

async function call(
  running: RunningApp,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Uint8Array | string,
): Promise<Answer> {
  const response = await fetch(running.url + path, {
    method,
    headers,
    ...(body === undefined ? {} : { body: body as string | Uint8Array<ArrayBuffer> }),
  });
  const bytes = new Uint8Array(await response.arrayBuffer());
  return { status: response.status, headers: response.headers, bytes, text: decoder.decode(bytes) };
}

/** Sends `requests` as an asynchronous batch in `format`. */
function sendAsync(
  running: RunningApp,
  format: BatchFormat,
  requests: Array<{ method?: string; target: string }>,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const encoded = encodeBatchRequest(
    format,
    requests.map(({ method = 'GET', target }) => ({ method, target })),
  );
  return call(
    running,
    'POST',
    '/batch',
    { 'content-type': encoded.contentType, prefer: 'respond-async', ...headers },
    encoded.body,
  );
}

/** Polls the monitor until it stops answering `202` (bounded), checking each progress answer. */
async function poll(
  running: RunningApp,
  location: string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  for (let i = 0; i < 400; i++) {
    const answer = await call(running, 'GET', location, headers);
    if (answer.status !== 202) return answer;
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await pause(25);
  }
  throw new Error(`${location} still running after 400 polls`);
}

/**
 * SPEC §9, asynchronous batches, through an adapter: `202` with a monitor under the batch
 * route, polled to the answer in the batch's format (JSON Lines when the poll asks), `done`
 * counting, `DELETE` cancelling a running batch, other callers' `404`, a keyed resend's same
 * monitor, the async item limit, and `respond-async` never passed on to sub-requests.
 */
export function asyncBatchesSuite(start: (batch?: BatchOptions) => Promise<RunningApp>): void {
  let shared: Promise<RunningApp> | undefined;
  const app = () => {
    shared ??= start();
    return shared;
  };
  const tag = () => Math.random().toString(36).slice(2);

  describe('asynchronous batches (Prefer: respond-async)', () => {
    it.each(['json', 'multipart'] as const)(
      '%s: 202 and a monitor, polled to the answer in the format of the batch',
      async (format) => {
        const running = await app();
        const t = tag();
        const accepted = await sendAsync(running, format, [
          { target: `/echo/${t}/1` },
          { method: 'POST', target: `/echo/${t}/2` },
          { target: '/empty' },
        ]);
        expect(accepted.status).toBe(202);
        expect(accepted.headers.get('preference-applied')).toBe('respond-async');
        expect(Number(accepted.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        const location = accepted.headers.get('location')!;
        expect(location).toMatch(/^\/batch\/jobs\/[0-9a-f]{32,}$/);
        expect(JSON.parse(accepted.text)).toEqual({ status: 'running', total: 3, done: 0 });
        const done = await poll(running, location);
        expect(done.status).toBe(200);
        const type = done.headers.get('content-type')!;
        expect(type).toContain(format === 'json' ? 'application/json' : 'multipart/mixed');
        const parts = await decodeBatchResponse({ contentType: type, body: done.bytes });
        expect(parts.map((part) => part.status)).toEqual([200, 200, 204]);
        expect(JSON.parse(decoder.decode(parts[1]!.body)).url).toBe(`/echo/${t}/2`);
        // Each item ran once; `respond-async` was not passed on.
        expect(running.log.filter((line) => line.includes(t))).toEqual([
          `GET /echo/${t}/1`,
          `POST /echo/${t}/2`,
        ]);
        // The answer stays there for the retention time.
        expect((await call(running, 'GET', location)).status).toBe(200);
      },
    );

    it('answers a JSON batch in JSON Lines when the poll asks, and counts what is done', async () => {
      const running = await app();
      const accepted = await sendAsync(running, 'json', [
        { target: '/echo/a' },
        { target: '/slow/1500' },
      ]);
      const location = accepted.headers.get('location')!;
      let progress = await call(running, 'GET', location);
      for (let i = 0; i < 100 && progress.status === 202; i++) {
        if ((JSON.parse(progress.text) as { done: number }).done === 1) break;
        await pause(20);
        progress = await call(running, 'GET', location);
      }
      expect(progress.status).toBe(202);
      expect(JSON.parse(progress.text)).toEqual({ status: 'running', total: 2, done: 1 });
      const done = await poll(running, location, { accept: 'application/jsonl' });
      expect(done.status).toBe(200);
      expect(done.headers.get('content-type')).toContain('application/jsonl');
      const lines = [];
      for await (const line of decodeJsonLines(done.bytes)) lines.push(line);
      expect(lines.map((line) => [line.index, line.status]).sort()).toEqual([
        [0, 200],
        [1, 200],
      ]);
    });

    it('a DELETE cancels a running batch: the slow item is aborted, later items never start, then 404', async () => {
      const running = await app();
      const t = tag();
      const accepted = await sendAsync(running, 'json', [
        { method: 'POST', target: `/echo/${t}/first` },
        { target: '/slow/8000' },
        { method: 'POST', target: `/echo/${t}/never` },
      ]);
      const location = accepted.headers.get('location')!;
      await waitFor(() => running.log.includes('GET /slow/8000'));
      const started = Date.now();
      expect((await call(running, 'DELETE', location)).status).toBe(204);
      expect((await call(running, 'GET', location)).status).toBe(404);
      expect((await call(running, 'DELETE', location)).status).toBe(404);
      await pause(300);
      expect(running.log).not.toContain(`POST /echo/${t}/never`);
      expect(Date.now() - started).toBeLessThan(20_000);
    });

    it('answers 404 to another caller, as for a monitor that never existed', async () => {
      const running = await app();
      const accepted = await sendAsync(running, 'json', [{ target: '/echo/mine' }], {
        authorization: 'Bearer alice',
      });
      const location = accepted.headers.get('location')!;
      const mine = await poll(running, location, { authorization: 'Bearer alice' });
      expect(mine.status).toBe(200);
      const theirs = await call(running, 'GET', location, { authorization: 'Bearer mallory' });
      expect(theirs.status).toBe(404);
      expect(theirs.headers.get('content-type')).toContain('application/problem+json');
      expect((await call(running, 'DELETE', location)).status).toBe(404);
      const never = await call(running, 'GET', `/batch/jobs/${'0'.repeat(32)}`);
      expect(never.status).toBe(404);
      expect(never.text).toBe(theirs.text);
      expect((await poll(running, location, { authorization: 'Bearer alice' })).status).toBe(200);
    });

    it('gives a resent keyed asynchronous batch the same monitor, and runs it once', async () => {
      const running = await app();
      const t = tag();
      const key = { 'idempotency-key': `async-${t}` };
      const requests = [{ method: 'POST', target: `/echo/${t}` }, { target: '/slow/300' }];
      const first = await sendAsync(running, 'json', requests, key);
      const again = await sendAsync(running, 'json', requests, key);
      expect(first.status).toBe(202);
      expect(again.status).toBe(202);
      expect(again.headers.get('location')).toBe(first.headers.get('location'));
      expect((await poll(running, first.headers.get('location')!)).status).toBe(200);
      const late = await sendAsync(running, 'json', requests, key);
      expect(late.status).toBe(202);
      expect(late.headers.get('location')).toBe(first.headers.get('location'));
      expect(running.log.filter((line) => line === `POST /echo/${t}`)).toHaveLength(1);
    });

    it('has an item limit of its own (maxAsyncRequests), checked while reading', async () => {
      const running = await start({ maxRequests: 2, maxAsyncRequests: 3 });
      const three = [{ target: '/echo/1' }, { target: '/echo/2' }, { target: '/echo/3' }];
      const accepted = await sendAsync(running, 'json', three);
      expect(accepted.status).toBe(202);
      expect((await poll(running, accepted.headers.get('location')!)).status).toBe(200);
      const tooMany = await sendAsync(running, 'json', [...three, { target: '/echo/4' }]);
      expect(tooMany.status).toBe(400);
      expect(tooMany.text).toContain('too-many-requests-in-batch');
      const encoded = encodeBatchRequest('json', three);
      const sync = await call(
        running,
        'POST',
        '/batch',
        { 'content-type': encoded.contentType },
        encoded.body,
      );
      expect(sync.status).toBe(400);
    });

    it('answers a malformed asynchronous batch 400 at once, with no monitor', async () => {
      const running = await app();
      const bad = await call(
        running,
        'POST',
        '/batch',
        { 'content-type': 'application/json', prefer: 'respond-async' },
        '{"requests":[{"methd":"GET","path":"/echo"}]}',
      );
      expect(bad.status).toBe(400);
      expect(bad.headers.get('location')).toBeNull();
    });

    it('never passes respond-async on to sub-requests (other preferences are)', async () => {
      const running = await app();
      const encoded = encodeBatchRequest('json', [
        { method: 'GET', target: '/header?name=prefer' },
      ]);
      const accepted = await call(
        running,
        'POST',
        '/batch',
        { 'content-type': encoded.contentType, prefer: 'respond-async, handling=lenient' },
        encoded.body,
      );
      expect(accepted.status).toBe(202);
      const done = await poll(running, accepted.headers.get('location')!);
      const parts = await decodeBatchResponse({
        contentType: done.headers.get('content-type')!,
        body: done.bytes,
      });
      expect(JSON.parse(decoder.decode(parts[0]!.body))).toEqual({ value: 'handling=lenient' });
    });
  });
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(done: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !done(); i++) await pause(25);
  expect(done()).toBe(true);
}
