// Issue 21 (f), end to end: @batch/client → a TCP proxy (node:net) → the Express example app
// over node:http. The proxy forwards the first batch request and then drops that connection
// (both sides) as soon as the app starts answering: the batch runs, its answer is lost. The
// client sends it again with the same Idempotency-Key; the app replays the recorded answer.
// Every call resolves exactly once and every write is in the store once. Then one
// `batch(requests, { async: true })` against the real app, resolved from its monitor.

import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect, createServer as createTcpServer, type Socket } from 'node:net';
import { createApp } from '@batch/express-example/app';
import { afterEach, describe, expect, it } from 'vitest';
import { createBatchFetch } from './index.js';

/** Everything a test started, stopped after it (servers and their sockets). */
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The Express example app (in-memory SQLite) over node:http on 127.0.0.1, port 0. */
async function startApp(options: { conformance?: boolean } = {}) {
  const { app } = createApp(options);
  const server: Server = createServer(app).listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    server.closeAllConnections();
    server.close();
    await once(server, 'close');
  });
  const { port } = server.address() as AddressInfo;
  return { port, url: `http://127.0.0.1:${port}` };
}

/** What went through one proxied connection, both ways (bytes as latin1 text). */
interface Connection {
  sent: string;
  received: string;
  /** This connection carried the batch request whose answer was lost. */
  dropped: boolean;
}

/**
 * A TCP proxy in front of `port`. The first connection that carries `POST /batch` is
 * forwarded to the app as is, but the moment the app starts answering, both of its sockets
 * are destroyed and nothing of the answer reaches the client. Every other connection is
 * relayed untouched.
 */
async function startDroppingProxy(port: number) {
  const connections: Connection[] = [];
  const sockets = new Set<Socket>();
  let dropped = false;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  };
  const server = createTcpServer((client) => {
    const record: Connection = { sent: '', received: '', dropped: false };
    connections.push(record);
    const upstream = connect(port, '127.0.0.1');
    track(client);
    track(upstream);
    client.on('data', (chunk: Buffer) => {
      record.sent += chunk.toString('latin1');
      if (!dropped && /^POST \/batch HTTP/m.test(record.sent)) {
        dropped = true;
        record.dropped = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      record.received += chunk.toString('latin1');
      if (record.dropped) {
        // The answer is lost: the client sees its connection reset, the app its client gone.
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    client.on('end', () => upstream.end());
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    server.close();
    await once(server, 'close');
  });
  const { port: proxyPort } = server.address() as AddressInfo;
  /** Each `POST /batch` that went through the proxy: its key, and whether it was the one dropped. */
  const batches = () =>
    connections.flatMap((connection) =>
      connection.sent
        // Request heads (a multipart body's own request lines never start with POST /batch).
        .split(/^(?=[A-Z]+ \S+ HTTP\/1\.1\r$)/m)
        .filter((request) => request.startsWith('POST /batch HTTP'))
        .map((request, index) => ({
          key: /^idempotency-key: *(.*?)\r?$/im.exec(request)?.[1],
          dropped: connection.dropped && index === 0,
        })),
    );
  return { url: `http://127.0.0.1:${proxyPort}`, connections, batches };
}

const ALICE = { authorization: 'Bearer alice' };

/** alice's articles, read straight from the app (not through the proxy). */
async function articlesOf(appUrl: string): Promise<Array<{ id: number; title: string }>> {
  const response = await fetch(`${appUrl}/articles`, { headers: ALICE });
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: Array<{ id: number; title: string }> }).data;
}

describe('@batch/client safe retries against the Express example app (issue 21 f)', () => {
  it.each(['json', 'multipart'] as const)(
    '%s: the first connection drops after the batch was forwarded; the resend is replayed, each write is stored once',
    async (format) => {
      const app = await startApp();
      const proxy = await startDroppingProxy(app.port);
      /** What the client heard of each batch request: a status (and whether replayed), or `lost`. */
      const answers: string[] = [];
      const api = createBatchFetch({
        endpoint: `${proxy.url}/batch`,
        format,
        maxBatchSize: 100,
        serviceInfo: false,
        headers: ALICE,
        fetch: async (input, init) => {
          try {
            const response = await fetch(input, init);
            const replayed = response.headers.get('idempotent-replayed') === 'true';
            answers.push(`${response.status}${replayed ? ' replayed' : ''}`);
            return response;
          } catch (error) {
            answers.push('lost');
            throw error;
          }
        },
        retries: 5,
        retryBaseMs: 100,
        retryMaxMs: 2_000,
      });

      const titles = ['one', 'two', 'three', 'four'];
      const calls = [
        ...titles.map((title) =>
          api(`${proxy.url}/articles`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ title, url: `https://example.org/${title}` }),
          }),
        ),
        api(`${proxy.url}/articles/40`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ title: 'put', url: 'https://example.org/put' }),
        }),
        api(`${proxy.url}/articles`),
      ];
      // Each call settles exactly once (a promise cannot settle twice; a call answered by
      // both the lost attempt and the replay would show up as a write stored twice below).
      const settled = calls.map(() => 0);
      const outcomes = await Promise.allSettled(
        calls.map((call, index) =>
          call.finally(() => {
            settled[index]!++;
          }),
        ),
      );
      expect(settled).toEqual(calls.map(() => 1));
      expect(outcomes.map((outcome) => outcome.status)).toEqual(calls.map(() => 'fulfilled'));
      const responses = outcomes.map(
        (outcome) => (outcome as PromiseFulfilledResult<Response>).value,
      );
      expect(responses.map((response) => response.status)).toEqual([201, 201, 201, 201, 201, 200]);
      const created = await Promise.all(
        responses.slice(0, 4).map(async (response) => (await response.json()) as { id: number }),
      );
      expect(new Set(created.map(({ id }) => id)).size).toBe(4);

      // The proxy saw the batch at least twice, always under one key; the first answer was
      // lost, and the last resend was answered from the record (`409`s while the first run
      // was still going may come between).
      const batches = proxy.batches();
      expect(batches.length).toBeGreaterThanOrEqual(2);
      expect(batches.length).toBe(answers.length);
      expect(batches[0]!.dropped).toBe(true);
      expect(batches[0]!.key).toMatch(/^"[0-9a-f-]{36}"$/);
      expect(new Set(batches.map(({ key }) => key))).toEqual(new Set([batches[0]!.key]));
      expect(answers[0]).toBe('lost');
      expect(answers.at(-1)).toBe('200 replayed');
      expect(answers.slice(1, -1).every((answer) => answer === '409')).toBe(true);

      // Each write is in the store once.
      const stored = await articlesOf(app.url);
      expect(stored.map(({ title }) => title).sort()).toEqual([...titles, 'put'].sort());
      expect(stored.find(({ title }) => title === 'put')?.id).toBe(40);
    },
  );

  it('batch(requests, { async: true }): 202 + monitor on the real app, resolved from the monitor', async () => {
    const app = await startApp({ conformance: true });
    const seen: string[] = [];
    const api = createBatchFetch({
      endpoint: `${app.url}/batch`,
      maxBatchSize: 100,
      serviceInfo: false,
      headers: ALICE,
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        const url = new URL(input instanceof Request ? input.url : input);
        const path = url.pathname.replace(/\/jobs\/[^/]+$/, '/jobs/<id>');
        seen.push(`${init?.method ?? 'GET'} ${path} ${response.status}`);
        return response;
      },
    });
    const responses = await api.batch(
      [
        [`${app.url}/slow/300`],
        [
          `${app.url}/articles`,
          {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ title: 'async', url: 'https://example.org/async' }),
          },
        ],
        [`${app.url}/articles/99`],
      ],
      { async: true },
    );
    expect(responses.map((response) => response.status)).toEqual([200, 201, 404]);
    expect(responses.failed).toEqual([2]);
    expect(((await responses[1]!.json()) as { title: string }).title).toBe('async');
    // Accepted (202), then the monitor: 202 while it ran, if polled then, and its 200 answer.
    expect(seen[0]).toBe('POST /batch 202');
    expect(seen.at(-1)).toBe('GET /batch/jobs/<id> 200');
    expect(seen.slice(1, -1).every((line) => line === 'GET /batch/jobs/<id> 202')).toBe(true);
    expect((await articlesOf(app.url)).map(({ title }) => title)).toEqual(['async']);
  });

  it('batch(requests, { async: true }) with minimal: the monitor answers as the batch asked (SPEC §7, §9)', async () => {
    const app = await startApp();
    const prefers: Array<string | null> = [];
    const api = createBatchFetch({
      endpoint: `${app.url}/batch`,
      maxBatchSize: 100,
      serviceInfo: false,
      headers: ALICE,
      minimal: true,
      fetch: (input, init) => {
        prefers.push(new Headers(init?.headers).get('prefer'));
        return fetch(input, init);
      },
    });
    const [created, missing] = await api.batch(
      [
        [
          `${app.url}/articles`,
          {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ title: 'minimal', url: 'https://example.org/minimal' }),
          },
        ],
        [`${app.url}/articles/99`],
      ],
      { async: true },
    );
    expect(prefers[0]).toBe('return=minimal, respond-async');
    expect(prefers.slice(1).every((prefer) => prefer === null)).toBe(true);
    expect(created!.status).toBe(201);
    expect(created!.headers.get('location')).toMatch(/\/articles\/\d+$/);
    expect(await created!.text()).toBe('');
    expect(missing!.status).toBe(404);
    expect(((await missing!.json()) as { status: number }).status).toBe(404);
  });
});
