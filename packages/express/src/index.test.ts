import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type BatchOptions, decodeBatchResponse, encodeBatchRequest } from '@batch/core';
import { conformanceSuite, listen, type RunningApp } from '@batch/test-suite';
import express5 from 'express';
import express4 from 'express4';
import { describe, expect, it } from 'vitest';
// The conformance routes live in the example app (tests only: packages never depend on apps).
import {
  conformanceRoutes,
  requestLog,
} from '../../../apps/express-example/src/conformanceRoutes.js';
import { batch } from './index.js';

type Express = typeof express5;

/**
 * The conformance app: the example app's conformance routes (shared), mounted on Express 4
 * or 5. `parsersFirst`: `express.json()` runs before the batch route, so the batch request's
 * body arrives already parsed.
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
  app.use(batchPath, batch(app, options));
  app.use(requestLog(log));
  if (!parsersFirst) app.use(parsers);
  app.use(conformanceRoutes({ express, express4: express !== express5 }));
  app.use((_req: express5.Request, res: express5.Response) => {
    res.status(404).json({ error: 'not found' });
  });
  // For what fails outside the routes (the body parsers); the routes have their own.
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
  return { ...(await listen(app.listen(0, '127.0.0.1'))), log };
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
      const server = await listen(app.listen(0, '127.0.0.1'));
      try {
        const encoded = encodeBatchRequest('multipart', [
          { target: '/file' },
          { method: 'HEAD', target: '/file' },
        ]);
        const response = await fetch(`${server.url}/batch`, {
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
        await server.close();
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
      const server = await listen(app.listen(0, '127.0.0.1'));
      try {
        const response = await fetch(`${server.url}/batch`, {
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
        await server.close();
      }
    });
  });
}
