import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type BatchOptions, decodeBatchResponse, encodeBatchRequest } from '@batch/core';
import { conformanceSuite, type RunningApp } from '@batch/test-suite';
import express5 from 'express';
import express4 from 'express4';
import { describe, expect, it } from 'vitest';
import { batch } from './index.js';

type Express = typeof express5;

/**
 * The conformance app, written the Express way. `parsersFirst`: `express.json()` runs
 * before the batch route, so the batch request's body arrives already parsed.
 */
async function startExpressApp(
  express: Express,
  batchPath: string,
  options: BatchOptions,
  parsersFirst: boolean,
): Promise<RunningApp> {
  const log: string[] = [];
  const app = express();
  const parsers = [
    express.json(),
    express.text({ type: 'text/*' }),
    express.raw({ type: 'application/octet-stream' }),
  ];
  if (parsersFirst) app.use(parsers);
  app.use((req, _res, next) => {
    if (req.path !== batchPath) log.push(`${req.method} ${req.originalUrl}`);
    next();
  });
  app.all(batchPath, batch(app, options));
  if (!parsersFirst) app.use(parsers);
  // Express 5 names its wildcards; Express 4 does not.
  const echoPaths = express === express5 ? ['/echo', '/echo/*splat'] : ['/echo', '/echo/*'];
  app.all(echoPaths, (req, res) => {
    const pick = (name: string) => req.get(name) ?? null;
    const body = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : (req.body ?? null);
    res.json({
      method: req.method,
      url: req.originalUrl,
      body:
        typeof body === 'object' && body !== null && Object.keys(body).length === 0 ? null : body,
      headers: Object.fromEntries(
        ['authorization', 'cookie', 'accept-language', 'host', 'x-custom', 'content-type'].map(
          (name) => [name, pick(name)],
        ),
      ),
      ip: req.ip ?? null,
    });
  });
  app.get('/cookies', (_req, res) => {
    res.cookie('a', '1');
    res.cookie('b', '2');
    res.type('text/plain').send('ok');
  });
  app.get('/binary', (_req, res) => {
    res
      .type('application/octet-stream')
      .send(Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
  });
  app.get('/text', (_req, res) => {
    res.type('text/plain; charset=utf-8').send('héllo wörld');
  });
  app.get('/empty', (_req, res) => {
    res.status(204).end();
  });
  app.get('/not-modified', (_req, res) => {
    res.status(304).end();
  });
  app.get('/redirect', (_req, res) => {
    res.redirect(302, '/echo');
  });
  app.get('/slow/:ms', (req, res) => {
    const ms = Number(req.params.ms);
    setTimeout(() => res.json({ slept: ms }), ms);
  });
  app.get('/big/:kb', (req, res) => {
    res.type('application/octet-stream').send(Buffer.alloc(Number(req.params.kb) * 1024, 'x'));
  });
  app.get('/fail', () => {
    throw new Error('boom');
  });
  app.get('/private', (req, res) => {
    if (!req.get('authorization')) res.status(401).json({ error: 'unauthorized' });
    else res.json({ ok: true });
  });
  app.get('/stream', async (_req, res) => {
    res.type('text/plain');
    for (const chunk of ['a', 'b', 'c']) {
      res.write(chunk);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    res.end();
  });
  app.use((_req: express5.Request, res: express5.Response) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use(
    (
      error: Error,
      _req: express5.Request,
      res: express5.Response,
      _next: express5.NextFunction,
    ) => {
      res.status(500).json({ error: error.message });
    },
  );
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    log,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

for (const [version, express] of [
  ['Express 5', express5],
  ['Express 4', express4 as unknown as Express],
] as const) {
  for (const parsersFirst of [false, true]) {
    conformanceSuite(
      `@batch/express (${version}${parsersFirst ? ', express.json() before the batch route' : ''})`,
      {
        start: ({ batchPath, batch: options }) =>
          startExpressApp(express, batchPath, options, parsersFirst),
      },
    );
  }

  describe(`@batch/express (${version}): what a sub-request sees`, () => {
    it('res.sendFile streams a file into its sub-response, byte for byte', async () => {
      const file = fileURLToPath(new URL('../package.json', import.meta.url));
      const app = express();
      app.post('/batch', batch(app));
      app.get('/file', (_req, res) => {
        res.sendFile(file);
      });
      const server = app.listen(0, '127.0.0.1');
      await new Promise<void>((resolve) => server.once('listening', () => resolve()));
      const { port } = server.address() as AddressInfo;
      try {
        const encoded = encodeBatchRequest('multipart', [
          { target: '/file' },
          { method: 'HEAD', target: '/file' },
        ]);
        const response = await fetch(`http://127.0.0.1:${port}/batch`, {
          method: 'POST',
          headers: { 'content-type': encoded.contentType },
          body: encoded.body as Uint8Array<ArrayBuffer>,
        });
        const parts = await decodeBatchResponse({
          contentType: response.headers.get('content-type'),
          body: new Uint8Array(await response.arrayBuffer()),
        });
        expect(parts[0]?.status).toBe(200);
        expect(Buffer.from(parts[0]!.body).equals(await readFile(file))).toBe(true);
        expect(
          parts[0]?.headers.find(([name]) => name.toLowerCase() === 'content-type')?.[1],
        ).toContain('application/json');
        expect(parts[1]?.status).toBe(200);
        expect(parts[1]?.body.length).toBe(0);
      } finally {
        server.closeAllConnections();
        server.close();
      }
    });

    it('req.ip, req.protocol, req.hostname and req.socket reflect the batch request', async () => {
      const app = express();
      app.post('/batch', batch(app));
      app.get('/who', (req, res) => {
        res.json({
          ip: req.ip,
          protocol: req.protocol,
          hostname: req.hostname,
          remote: req.socket.remoteAddress,
        });
      });
      const server = app.listen(0, '127.0.0.1');
      await new Promise<void>((resolve) => server.once('listening', () => resolve()));
      const { port } = server.address() as AddressInfo;
      try {
        const response = await fetch(`http://127.0.0.1:${port}/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ requests: [{ path: '/who' }] }),
        });
        const { responses } = (await response.json()) as {
          responses: { body: Record<string, string> }[];
        };
        expect(responses[0]?.body).toEqual({
          ip: '127.0.0.1',
          protocol: 'http',
          hostname: '127.0.0.1',
          remote: '127.0.0.1',
        });
      } finally {
        server.closeAllConnections();
        server.close();
      }
    });
  });
}
