import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBatchHandler, type Dispatcher } from '@batch/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createBatchFetch } from './index.js';

// Safe retries over real HTTP (Node's own fetch, a node:http server on loopback): the server
// runs each batch, records its answer under its Idempotency-Key and replays it to a resend —
// and loses answers on purpose: it drops the connection, or answers 409 with Retry-After.

const encoder = new TextEncoder();

async function bodyOf(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

interface Post {
  key: string | undefined;
  at: number;
}

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  }
});

/** A batch server that loses the answer of its first `POST` as `lose` says. */
async function startServer(lose: 'drop' | '409') {
  const written: string[] = [];
  const posts: Post[] = [];
  const dispatch: Dispatcher = async (request) => {
    if (request.method !== 'GET') written.push(`${request.method} ${request.target}`);
    return {
      status: request.method === 'GET' ? 200 : 201,
      headers: [],
      body: encoder.encode(request.target),
    };
  };
  const handler = createBatchHandler({ dispatch });
  const recorded = new Map<string, { status: number; headers: [string, string][]; body: Buffer }>();
  const server = createServer(async (req, res) => {
    const key = req.headers['idempotency-key'] as string | undefined;
    posts.push({ key, at: performance.now() });
    const body = await bodyOf(req);
    if (lose === '409' && posts.length === 1) {
      res.writeHead(409, { 'retry-after': '1', 'content-type': 'application/problem+json' });
      res.end('{"status":409,"title":"still running"}');
      return;
    }
    let answer = key === undefined ? undefined : recorded.get(key);
    const replayed = answer !== undefined;
    if (answer === undefined) {
      const headers = new Headers();
      for (const [name, value] of Object.entries(req.headers))
        if (typeof value === 'string') headers.set(name, value);
      const response = await handler.fetch(
        new Request(`http://${req.headers.host}${req.url}`, {
          method: 'POST',
          headers,
          body: new Uint8Array(body),
        }),
      );
      const answerHeaders: [string, string][] = [];
      response.headers.forEach((value, name) => {
        answerHeaders.push([name, value]);
      });
      answer = {
        status: response.status,
        headers: answerHeaders,
        body: Buffer.from(await response.arrayBuffer()),
      };
      if (key !== undefined) recorded.set(key, answer);
    }
    if (lose === 'drop' && posts.length === 1) {
      // The batch ran; its answer never leaves: the connection drops.
      req.socket.destroy();
      return;
    }
    res.writeHead(answer.status, [
      ...answer.headers.filter(
        ([name]) => name !== 'content-length' && name !== 'transfer-encoding',
      ),
      ...(replayed ? [['idempotent-replayed', 'true'] as [string, string]] : []),
    ]);
    res.end(answer.body);
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, written, posts };
}

describe('@batch/client over real HTTP', () => {
  it('a dropped connection: the batch is sent again with the same key, replayed, every call resolves once', async () => {
    const server = await startServer('drop');
    const api = createBatchFetch({
      endpoint: `${server.origin}/batch`,
      maxBatchSize: 50,
      retryBaseMs: 10,
    });
    const settled: string[] = [];
    const calls = [
      api(`${server.origin}/articles`, { method: 'POST', body: '{"title":"a"}' }),
      api(`${server.origin}/articles/1`, { method: 'PATCH', body: '{"read_position":1}' }),
      api(`${server.origin}/articles/2`, { method: 'DELETE' }),
      api(`${server.origin}/articles`),
    ].map((call, index) =>
      call.then(
        async (response) => {
          settled.push(`${index} ${response.status} ${await response.text()}`);
          return response;
        },
        (error: unknown) => {
          settled.push(`${index} rejected`);
          throw error;
        },
      ),
    );
    await Promise.all(calls);
    expect(settled.sort()).toEqual([
      '0 201 /articles',
      '1 201 /articles/1',
      '2 201 /articles/2',
      '3 200 /articles',
    ]);
    expect(server.posts).toHaveLength(2);
    expect(server.posts[0]?.key).toMatch(/^"[0-9a-f-]{36}"$/);
    expect(server.posts[1]?.key).toBe(server.posts[0]?.key);
    // Each write ran once: the resend was answered from the record.
    expect(server.written).toEqual(['POST /articles', 'PATCH /articles/1', 'DELETE /articles/2']);
  });

  it('409 with Retry-After: 1 — the resend waits for it, then gets the answer', async () => {
    const server = await startServer('409');
    const api = createBatchFetch({
      endpoint: `${server.origin}/batch`,
      maxBatchSize: 50,
      retryBaseMs: 10,
    });
    const response = await api(`${server.origin}/articles`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(201);
    expect(server.posts).toHaveLength(2);
    expect(server.posts[1]?.key).toBe(server.posts[0]?.key);
    // A lower bound only: a busy machine can make the wait longer, never shorter.
    const [first, second] = server.posts;
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(server.written).toEqual(['POST /articles']);
  });
});
