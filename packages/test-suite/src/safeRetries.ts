import type { BatchOptions, RecordStore } from '@batch/core';
import { createMemoryRecordStore, decodeBatchResponse, StoreUnavailable } from '@batch/core';
import { describe, expect, it } from 'vitest';
import type { RunningApp } from './testApp.js';

const decoder = new TextDecoder();

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * SPEC §8, safe retries, through an adapter: a keyed batch whose answer was lost is replayed
 * (nothing runs twice), `409` while it runs, `422` for another batch under the key, `400` for
 * a bad or missing required key, caller scopes apart, the key never inherited, and `503` with
 * `Retry-After` when the record store fails — unkeyed batches still served.
 */
export function safeRetriesSuite(start: (batch?: BatchOptions) => Promise<RunningApp>): void {
  let shared: Promise<RunningApp> | undefined;
  const app = () => {
    shared ??= start();
    return shared;
  };

  async function post(
    running: RunningApp,
    document: unknown,
    headers: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<Answer> {
    const response = await fetch(`${running.url}/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(document),
      ...(signal === undefined ? {} : { signal }),
    });
    return {
      status: response.status,
      headers: response.headers,
      text: decoder.decode(await response.arrayBuffer()),
    };
  }
  const statuses = (answer: Answer) =>
    (JSON.parse(answer.text) as { responses: Array<{ status: number }> }).responses.map(
      (response) => response.status,
    );
  const unique = () => `k-${Math.random().toString(36).slice(2)}`;

  describe('safe retries (Idempotency-Key)', () => {
    it('replays a batch whose answer was lost: the resend runs nothing, in the format it asks for', async () => {
      const running = await app();
      const key = unique();
      const tag = unique();
      const batch = {
        requests: [
          { method: 'POST', path: `/echo/${tag}`, body: { n: 1 } },
          { path: '/slow/400' },
          { method: 'PATCH', path: `/echo/${tag}/2`, body: { n: 2 } },
        ],
      };
      // The connection drops while the batch runs: the client never reads its answer.
      const controller = new AbortController();
      const lost = post(running, batch, { 'Idempotency-Key': key }, controller.signal);
      await waitFor(() => running.log.includes(`POST /echo/${tag}`));
      controller.abort();
      await lost.catch(() => {});
      // The resend: 409 with Retry-After while the first run goes on, then the replay.
      let again = await post(running, batch, { 'Idempotency-Key': key });
      for (let i = 0; again.status === 409 && i < 100; i++) {
        expect(Number(again.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(again.headers.get('content-type')).toContain('application/problem+json');
        await pause(100);
        again = await post(running, batch, { 'Idempotency-Key': key });
      }
      expect(again.status).toBe(200);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(statuses(again)).toEqual([200, 200, 200]);
      // Every item ran once, the one after the drop included.
      const ran = running.log.filter((line) => line.includes(tag));
      expect(ran).toEqual([`POST /echo/${tag}`, `PATCH /echo/${tag}/2`]);
      // Asked again as JSON Lines: the same answers, each with its index.
      const lines = await post(running, batch, {
        'Idempotency-Key': key,
        Accept: 'application/jsonl',
      });
      expect(lines.headers.get('idempotent-replayed')).toBe('true');
      const indexes = lines.text
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { index: number }).index);
      expect(indexes.sort()).toEqual([0, 1, 2]);
      expect(running.log.filter((line) => line.includes(tag))).toHaveLength(2);
    }, 30_000);

    it('answers 422 for another batch under the same key, 400 for a malformed key; runs nothing', async () => {
      const running = await app();
      const key = unique();
      const tag = unique();
      const first = await post(
        running,
        { requests: [{ method: 'POST', path: `/echo/${tag}` }] },
        {
          'Idempotency-Key': `"${key}"`,
        },
      );
      expect(first.status).toBe(200);
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      const other = await post(
        running,
        { requests: [{ method: 'POST', path: `/echo/${tag}/other` }] },
        { 'Idempotency-Key': key },
      );
      expect(other.status).toBe(422);
      expect(other.headers.get('content-type')).toContain('application/problem+json');
      for (const bad of ['two words', '""', 'k'.repeat(256)]) {
        const refused = await post(
          running,
          { requests: [{ method: 'POST', path: `/echo/${tag}/bad` }] },
          { 'Idempotency-Key': bad },
        );
        expect(refused.status).toBe(400);
      }
      expect(running.log.filter((line) => line.includes(tag))).toEqual([`POST /echo/${tag}`]);
    });

    it('keeps callers apart: the same key from another caller is another batch', async () => {
      const running = await app();
      const key = unique();
      const tag = unique();
      const batch = { requests: [{ method: 'POST', path: `/echo/${tag}` }] };
      for (const who of ['Bearer alice', 'Bearer bob']) {
        const answer = await post(running, batch, { 'Idempotency-Key': key, Authorization: who });
        expect(answer.status).toBe(200);
        expect(answer.headers.get('idempotent-replayed')).toBeNull();
      }
      expect(running.log.filter((line) => line.includes(tag))).toHaveLength(2);
    });

    it("never passes the batch's key on to its items; an item's own key passes untouched", async () => {
      const running = await app();
      const answer = await post(
        running,
        {
          requests: [
            { path: '/header?name=idempotency-key' },
            { path: '/header?name=idempotency-key', headers: { 'Idempotency-Key': 'own' } },
          ],
        },
        { 'Idempotency-Key': unique() },
      );
      const values = (
        JSON.parse(answer.text) as { responses: Array<{ body: { value: unknown } }> }
      ).responses.map((response) => response.body.value);
      expect(values).toEqual([null, 'own']);
    });

    it('requires a key for a batch with writes when asked to (400 naming the header)', async () => {
      const running = await start({ idempotency: { required: true } });
      const before = running.log.length;
      const writes = await post(running, { requests: [{ method: 'POST', path: '/echo' }] }, {});
      expect(writes.status).toBe(400);
      expect(writes.text).toContain('Idempotency-Key');
      const reads = await post(running, { requests: [{ path: '/echo' }] }, {});
      expect(reads.status).toBe(200);
      expect(running.log.slice(before)).toEqual(['GET /echo']);
    });

    it('answers a keyed batch 503 with Retry-After when the store fails, running nothing; unkeyed ones are served', async () => {
      const failing = failingStore();
      const running = await start({ idempotency: { store: failing } });
      const before = running.log.length;
      const keyed = await post(
        running,
        { requests: [{ method: 'POST', path: '/echo' }] },
        {
          'Idempotency-Key': unique(),
        },
      );
      expect(keyed.status).toBe(503);
      expect(Number(keyed.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(running.log.slice(before)).toEqual([]);
      const unkeyed = await post(running, { requests: [{ method: 'POST', path: '/echo' }] }, {});
      expect(unkeyed.status).toBe(200);
      expect(running.log.slice(before)).toEqual(['POST /echo']);
    });

    it('replays a multipart batch sent again with another boundary (the same batch), as multipart', async () => {
      const running = await app();
      const key = unique();
      const tag = unique();
      const part = `--b\r\nContent-Type: application/http\r\n\r\nPOST /echo/${tag} HTTP/1.1\r\n\r\n--b--\r\n`;
      const send = (body: string, type: string) =>
        fetch(`${running.url}/batch`, {
          method: 'POST',
          headers: { 'content-type': type, 'Idempotency-Key': key },
          body,
        });
      const first = await send(part, 'multipart/mixed; boundary=b');
      expect(first.status).toBe(200);
      await first.arrayBuffer();
      const again = await send(
        part.replaceAll('--b', '--other'),
        'multipart/mixed; boundary=other',
      );
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      const parts = await decodeBatchResponse({
        contentType: again.headers.get('content-type'),
        body: new Uint8Array(await again.arrayBuffer()),
      });
      expect(parts.map((p) => p.status)).toEqual([200]);
      expect(running.log.filter((line) => line.includes(tag))).toHaveLength(1);
    });
  });
}

/** A store that cannot be reached, as a Redis that is down. */
function failingStore(): RecordStore {
  const store = createMemoryRecordStore();
  const down = () => Promise.reject(new StoreUnavailable('the store is down'));
  // A class instance: its methods are on its prototype, so each is passed on by name.
  return {
    claim: down,
    started: down,
    append: down,
    renew: down,
    finish: down,
    cancel: (key) => store.cancel(key),
    read: (key) => store.read(key),
    remove: (key) => store.remove(key),
    link: (alias, key, ttlMs) => store.link(alias, key, ttlMs),
    resolve: (alias) => store.resolve(alias),
  };
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await pause(25);
  expect(done()).toBe(true);
}
