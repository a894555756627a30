import { getEventListeners } from 'node:events';
import { createServer, get, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HeaderList, SubRequest } from '@batch/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectionOf } from './BatchSocket.js';
import { dispatchToNode } from './dispatchToNode.js';
import type { NodeHandler } from './MessageFactory.js';

const connection = connectionOf(undefined);
const request = (target: string, method = 'GET'): SubRequest => ({
  method,
  target,
  headers: [['Host', 'localhost']],
  body: new Uint8Array(0),
});
const text = (body: unknown) => Buffer.from(body as Uint8Array).toString();

/** Headers that describe a connection (or its time), never a message inside a batch. */
const CONNECTION_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'date']);
const messageHeaders = (headers: HeaderList) =>
  headers.filter(([name]) => !CONNECTION_HEADERS.has(name.toLowerCase()));

/** Handlers that send headers every way Node allows (each sets its own Content-Length). */
const senders: Record<string, (res: ServerResponse) => void> = {
  'setHeader, arrays, numbers, then writeHead(status, object)': (res) => {
    res.setHeader('Set-Cookie', ['a=1; Path=/', 'b=2; HttpOnly']);
    res.setHeader('X-Number', 42);
    res.setHeader('content-type', 'text/plain');
    res.writeHead(201, 'Made', { 'X-Late': 'yes', 'Content-Length': '2' });
    res.end('ok');
  },
  'writeHead(status, raw array) with repeated names in any case': (res) => {
    res.writeHead(200, [
      'Set-Cookie',
      'a=1',
      'set-cookie',
      'b=2',
      'X-Case',
      'MiXed',
      'Content-Length',
      '0',
    ]);
    res.end();
  },
  'writeHead(status, array of pairs)': (res) => {
    res.writeHead(200, [
      ['X-A', '1'],
      ['x-a', '2'],
      ['Content-Length', '1'],
    ] as unknown as string[]);
    res.end('x');
  },
  'values with surrounding spaces, appendHeader, Content-Disposition': (res) => {
    res.setHeader('X-Padded', '  padded  ');
    res.appendHeader('Vary', 'Accept');
    res.appendHeader('Vary', 'Origin');
    res.setHeader('Content-Length', 3);
    res.setHeader('Content-Disposition', 'attachment; filename="resume.txt"');
    res.end('abc');
  },
  '204 without headers': (res) => {
    res.writeHead(204).end();
  },
  '304 with an ETag': (res) => {
    res.writeHead(304, { ETag: '"v1"' }).end();
  },
};

describe('dispatchToNode: what a sub-response holds', () => {
  const handler: NodeHandler = (req, res) => senders[decodeURIComponent(req.url!.slice(1))]!(res);
  let port = 0;
  const server = createServer(handler);
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  /** Status, reason and header lines as an HTTP client receives them from `handler`. */
  const overHttp = (path: string) =>
    new Promise<{ status: number; statusText: string; headers: HeaderList }>((resolve, reject) => {
      get({ host: '127.0.0.1', port, path, agent: false }, (res: IncomingMessage) => {
        const headers: HeaderList = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2)
          headers.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!]);
        res.resume();
        res.on('end', () =>
          resolve({ status: res.statusCode!, statusText: res.statusMessage!, headers }),
        );
      }).on('error', reject);
    });

  for (const name of Object.keys(senders)) {
    it(`holds the header lines an HTTP client receives: ${name}`, async () => {
      const path = `/${encodeURIComponent(name)}`;
      const [batched, direct] = await Promise.all([
        dispatchToNode(handler, request(path), connection, new AbortController().signal),
        overHttp(path),
      ]);
      expect(batched.status).toBe(direct.status);
      expect(batched.statusText).toBe(direct.statusText);
      expect(messageHeaders(batched.headers)).toEqual(messageHeaders(direct.headers));
    });
  }
});

describe('dispatchToNode: the response as the handler sees it', () => {
  it('emits finish after end() returned, with writableEnded and writableFinished true, as over HTTP', async () => {
    const states: unknown[] = [];
    const handler: NodeHandler = (_req, res) => {
      res.on('finish', () =>
        states.push({ ended: res.writableEnded, finished: res.writableFinished, sync }),
      );
      let sync = true;
      res.end('x');
      sync = false;
    };
    const answer = await dispatchToNode(
      handler,
      request('/'),
      connection,
      new AbortController().signal,
    );
    expect(states).toEqual([{ ended: true, finished: true, sync: false }]);
    expect(text(answer.body)).toBe('x');
  });

  it('emits close once, after finish, as a server does (what tracing waits for)', async () => {
    const events: string[] = [];
    let response: ServerResponse | undefined;
    const handler: NodeHandler = (_req, res) => {
      response = res;
      res.on('finish', () => events.push('finish'));
      res.on('close', () => events.push(`close ${res.destroyed} ${res.closed}`));
      res.end('x');
    };
    await dispatchToNode(handler, request('/'), connection, new AbortController().signal);
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual(['finish', 'close true true']);
    response!.emit('finish');
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual(['finish', 'close true true', 'finish']);
  });

  it('captures strings in any encoding, Uint8Arrays and Buffers, in order', async () => {
    const handler: NodeHandler = (_req, res) => {
      res.write('aGVs', 'base64');
      res.write(new Uint8Array([0x6c, 0x6f]));
      res.write(Buffer.from(' wö'));
      res.end('rld', 'latin1');
    };
    const answer = await dispatchToNode(
      handler,
      request('/'),
      connection,
      new AbortController().signal,
    );
    expect(text(answer.body)).toBe('hello wörld');
  });

  it('answers an empty body as zero bytes (HEAD keeps the headers, drops the body)', async () => {
    const handler: NodeHandler = (_req, res) => {
      res.setHeader('Content-Length', '5');
      res.end('hello');
    };
    const answer = await dispatchToNode(
      handler,
      request('/', 'HEAD'),
      connection,
      new AbortController().signal,
    );
    expect(answer.body).toHaveLength(0);
    expect(answer.headers).toContainEqual(['Content-Length', '5']);
  });

  it('destroys every running item when the shared signal aborts, on one abort listener', async () => {
    const controller = new AbortController();
    const closed: Promise<string>[] = [];
    const handler: NodeHandler = (req, res) => {
      closed.push(
        Promise.all([
          new Promise((resolve) => req.once('close', resolve)),
          new Promise((resolve) => res.once('close', resolve)),
        ]).then(() => `${req.destroyed} ${res.destroyed}`),
      );
    };
    for (let i = 0; i < 40; i++)
      void dispatchToNode(handler, request('/'), connection, controller.signal);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort();
    expect(await Promise.all(closed)).toEqual(Array(40).fill('true true'));
  });

  it('rejects when the handler throws, and forgets the item', async () => {
    const controller = new AbortController();
    let seen: IncomingMessage | undefined;
    const handler: NodeHandler = (req) => {
      seen = req;
      throw new Error('boom');
    };
    await expect(
      dispatchToNode(handler, request('/'), connection, controller.signal),
    ).rejects.toThrow('boom');
    controller.abort();
    expect(seen?.destroyed).toBe(false);
  });
});
