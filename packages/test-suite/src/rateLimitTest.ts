import { Agent, request } from 'node:http';
import type { BatchOptions } from '@batch/core';
import { describe, expect, it } from 'vitest';
import type { Listening } from './listen.js';

/** Starts an example app with its limiter at `rateLimit` requests per minute per client. */
export type StartRateLimited = (options: {
  rateLimit: number;
  batch: BatchOptions;
}) => Promise<Listening>;

interface Answer {
  status: number;
  body: string;
}

/** One request over a socket bound to `agent`'s local address (the client's own address). */
function send(
  agent: Agent,
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { agent, method: init.method ?? 'GET', headers: init.headers });
    outgoing.on('error', reject);
    outgoing.on('response', (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('error', reject);
      incoming.on('end', () =>
        resolve({ status: incoming.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
      );
    });
    outgoing.end(init.body);
  });
}

const AUTH = { authorization: 'Bearer rate-limit-test' };

/** A JSON batch of `n` × `GET /articles`; the items' statuses, in request order. */
async function batchOfReads(agent: Agent, url: string, n: number): Promise<number[]> {
  const answer = await send(agent, `${url}/batch`, {
    method: 'POST',
    headers: { ...AUTH, 'content-type': 'application/json' },
    body: JSON.stringify({
      requests: Array.from({ length: n }, () => ({ path: '/articles', headers: AUTH })),
    }),
  });
  expect(answer.status, answer.body).toBe(200);
  const { responses } = JSON.parse(answer.body) as { responses: { status: number }[] };
  return responses.map((item) => item.status);
}

/**
 * Registers SPEC §4 "Rate limits" against an example app whose framework's limiter is mounted
 * before its routes: every item of a batch is counted as the same request sent directly
 * would be — a batch of 30 under a limit of 20 gets its first 20 items answered and the last
 * 10 refused (`429`) inside a `200` batch, never 30 refusals and never 30 answers — and the
 * items are keyed on the client's own address: another address still has its whole budget.
 */
export function rateLimitTest(framework: string, start: StartRateLimited): void {
  describe(`${framework} example app: rate limit (RATE_LIMIT)`, () => {
    it('counts each item of a batch, in order, keyed on the client address', async () => {
      const api = await start({ rateLimit: 20, batch: {} });
      // Two clients on loopback: 127.0.0.1 and 127.0.0.2 (Linux routes all of 127/8 to lo).
      const client = new Agent({ localAddress: '127.0.0.1' });
      const other = new Agent({ localAddress: '127.0.0.2' });
      try {
        const statuses = await batchOfReads(client, api.url, 30);
        expect(statuses).toEqual([...Array(20).fill(200), ...Array(10).fill(429)]);
        // The budget is spent: the next direct request is refused too.
        expect((await send(client, `${api.url}/articles`, { headers: AUTH })).status).toBe(429);
        // Another client address is not limited, in a batch or directly.
        expect(await batchOfReads(other, api.url, 3)).toEqual([200, 200, 200]);
        expect((await send(other, `${api.url}/articles`, { headers: AUTH })).status).toBe(200);
      } finally {
        client.destroy();
        other.destroy();
        await api.close();
      }
    });
  });
}
