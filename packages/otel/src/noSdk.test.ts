import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AroundItemInfo, SubResponse } from '@batch/core';
import { createNodeBatchHandler } from '@batch/node';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { afterAll, describe, expect, it } from 'vitest';
import { batchTracing } from './index.js';

// No SDK in this file: `@opentelemetry/api` alone, as in an app that does not trace.
const servers: Server[] = [];
afterAll(() => {
  for (const server of servers) server.close();
});

const item: AroundItemInfo = {
  request: {
    method: 'GET',
    target: '/books/1',
    headers: [['traceparent', 'x']],
    body: new Uint8Array(),
  },
  index: 0,
  batch: { method: 'POST', path: '/batch', headers: [], format: 'json', native: undefined },
};

describe('batchTracing with no SDK registered', () => {
  it('runs the item as it is: no span, the very promise run returned', async () => {
    const answer: SubResponse = { status: 200, headers: [], body: new Uint8Array() };
    let active: unknown = 'unset';
    const pending = Promise.resolve(answer);
    const run = () => {
      active = trace.getActiveSpan();
      return pending;
    };
    const hook = batchTracing();
    expect(hook(item, run)).toBe(pending);
    expect(active).toBeUndefined();
    expect(context.active()).toBe(ROOT_CONTEXT);
    await expect(hook(item, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
  });

  it('a batch through a real server answers as without it', async () => {
    const handler = createNodeBatchHandler(
      (req, res) => {
        res.statusCode = req.url === '/fail' ? 500 : 200;
        res.setHeader('content-type', 'text/plain');
        res.end(req.url);
      },
      { aroundItem: batchTracing() },
    );
    const server = createServer((req, res) => {
      void handler(req, res);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const response = await fetch(
      `http://127.0.0.1:${(server.address() as AddressInfo).port}/batch`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          requests: [
            { method: 'GET', path: '/a' },
            { method: 'GET', path: '/fail' },
          ],
        }),
      },
    );
    expect(response.status).toBe(200);
    const { responses } = (await response.json()) as {
      responses: Array<{ status: number; body: unknown }>;
    };
    expect(responses.map(({ status, body }) => [status, body])).toEqual([
      [200, '/a'],
      [500, '/fail'],
    ]);
  });
});
