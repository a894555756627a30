import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { BatchOptions } from '@batch/core';
import { conformanceSuite, listen, postThenGoAway, type RunningApp } from '@batch/test-suite';
import { describe, expect, it } from 'vitest';
import { createNodeBatchHandler, onBatchRoute } from './index.js';

/** The conformance app on plain node:http: a hand-written router. */
async function startPlainNodeApp(batchPath: string, options: BatchOptions): Promise<RunningApp> {
  const log: string[] = [];
  const readBody = async (req: IncomingMessage): Promise<unknown> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (chunks.length === 0) return null;
    const text = Buffer.concat(chunks).toString('utf8');
    return req.headers['content-type']?.startsWith('application/json') ? JSON.parse(text) : text;
  };
  const send = (res: ServerResponse, status: number, type: string, body: string | Buffer) => {
    res.writeHead(status, { 'content-type': type });
    res.end(body);
  };
  const routes = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const path = url.split('?')[0]!;
    if (path === '/echo' || path.startsWith('/echo/')) {
      const body = await readBody(req);
      const pick = (name: string) => (req.headers[name] as string | undefined) ?? null;
      return send(
        res,
        200,
        'application/json',
        JSON.stringify({
          method: req.method,
          url,
          body,
          headers: Object.fromEntries(
            ['authorization', 'cookie', 'accept-language', 'host', 'x-custom', 'content-type'].map(
              (name) => [name, pick(name)],
            ),
          ),
          ip: req.socket.remoteAddress ?? null,
        }),
      );
    }
    if (path === '/cookies') {
      res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
      return send(res, 200, 'text/plain', 'ok');
    }
    if (path === '/binary')
      return send(
        res,
        200,
        'application/octet-stream',
        Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      );
    if (path === '/header') {
      const query = new URLSearchParams(url.slice(path.length + 1));
      const name = (query.get('name') ?? '').toLowerCase();
      const spaces = Number(query.get('spaces') ?? Number.NaN);
      if (Number.isSafeInteger(spaces)) res.setHeader('x-echo', `a${' '.repeat(spaces)}b`);
      const value = name === '' ? null : (req.headers[name] ?? null);
      return send(res, 200, 'application/json', JSON.stringify({ value }));
    }
    if (path === '/text') return send(res, 200, 'text/plain; charset=utf-8', 'héllo wörld');
    if (path === '/empty') return void res.writeHead(204).end();
    if (path === '/not-modified') return void res.writeHead(304).end();
    if (path === '/redirect') return void res.writeHead(302, { location: '/echo' }).end();
    if (path.startsWith('/slow/')) {
      const ms = Number(path.slice(6));
      await new Promise((resolve) => setTimeout(resolve, ms));
      return send(res, 200, 'application/json', JSON.stringify({ slept: ms }));
    }
    if (path.startsWith('/big/'))
      return send(
        res,
        200,
        'application/octet-stream',
        Buffer.alloc(Number(path.slice(5)) * 1024, 'x'),
      );
    if (path === '/fail') throw new Error('boom');
    if (path === '/private') {
      if (!req.headers.authorization)
        return send(res, 401, 'application/json', '{"error":"unauthorized"}');
      return send(res, 200, 'application/json', '{"ok":true}');
    }
    if (path === '/stream') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      for (const chunk of ['a', 'b', 'c']) {
        res.write(chunk);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return void res.end();
    }
    send(res, 404, 'application/json', '{"error":"not found"}');
  };
  const app = (req: IncomingMessage, res: ServerResponse) => {
    log.push(`${req.method} ${req.url}`);
    routes(req, res).catch((error: Error) =>
      send(res, 500, 'application/json', JSON.stringify({ error: error.message })),
    );
  };
  const batch = createNodeBatchHandler(app, options);
  const server = createServer((req, res) => {
    if (onBatchRoute(req.url ?? '/', batchPath)) void batch(req, res);
    else app(req, res);
  });
  return { ...(await listen(server.listen(0, '127.0.0.1'))), log };
}

conformanceSuite('@batch/node (plain node:http)', {
  start: ({ batchPath, batch }) => startPlainNodeApp(batchPath, batch),
});

describe('@batch/node when the client goes away', () => {
  it('destroys the running sub-request (its req emits close), without a signal of its own', async () => {
    const seen: string[] = [];
    const app = (req: IncomingMessage, res: ServerResponse) => {
      if (req.url !== '/hang') {
        res.statusCode = 404;
        res.end();
        return;
      }
      // Answers only once the batch is over for it (what a long query would watch).
      seen.push('started');
      req.once('close', () => seen.push(`closed destroyed=${req.destroyed}`));
    };
    const batch = createNodeBatchHandler(app);
    const server = createServer((req, res) => void batch(req, res));
    const running = await listen(server.listen(0, '127.0.0.1'));
    try {
      await postThenGoAway(
        `${running.url}/batch`,
        ['/hang'],
        () => seen.includes('started'),
        () => seen.length >= 2,
      );
      expect(seen).toEqual(['started', 'closed destroyed=true']);
    } finally {
      await running.close();
    }
  });
});
