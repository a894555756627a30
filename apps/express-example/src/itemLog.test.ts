import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { batch } from '@batch/express';
import { listen } from '@batch/test-suite';
import express from 'express';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';

// The structured-log example of the core README ("Logs: one line per item"), as written there.
function createLoggedApp(destination: NodeJS.WritableStream) {
  const logger = pino(destination);
  const batchId = new AsyncLocalStorage<string>();
  const app = express();
  app.use(
    '/batch',
    (req, _res, next) => batchId.run(req.get('x-request-id') ?? randomUUID(), next),
    batch(app, {
      onItem: (item) => logger.info({ reqId: batchId.getStore(), ...item }, 'batch item'),
    }),
  );
  app.get('/articles/:id', (req, res) => {
    if (req.params.id === '404') res.status(404).json({ error: 'not found' });
    else res.json({ id: Number(req.params.id) });
  });
  return app;
}

describe('Express: onItem with pino (core README, "Logs")', () => {
  it('writes one JSON line per item, each with the batch request id', async () => {
    const lines: string[] = [];
    const destination = new PassThrough();
    let rest = '';
    destination.on('data', (chunk: Buffer) => {
      const text = rest + chunk.toString();
      const parts = text.split('\n');
      rest = parts.pop() ?? '';
      lines.push(...parts);
    });
    const api = await listen(createLoggedApp(destination).listen(0, '127.0.0.1'));
    try {
      const post = (id: string, paths: string[]) =>
        fetch(`${api.url}/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': id },
          body: JSON.stringify({ requests: paths.map((path) => ({ path })) }),
        }).then(async (response) => {
          expect(response.status).toBe(200);
          await response.arrayBuffer();
        });
      await post('batch-a', ['/articles/1', '/articles/404', '/articles/3']);
      await post('batch-b', ['/articles/7']);
      // pino writes synchronously to a stream destination; give it the widest of margins anyway.
      await expect.poll(() => lines.length, { timeout: 5000 }).toBe(4);
      const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
      // Items of a batch finish in any order: compare them by batch, then by index.
      const fields = entries
        .map(({ reqId, index, method, path, status, ran, msg }) => ({
          reqId,
          index,
          method,
          path,
          status,
          ran,
          msg,
        }))
        .sort((a, b) => `${a.reqId}${a.index}`.localeCompare(`${b.reqId}${b.index}`));
      expect(fields).toEqual([
        ...[
          { index: 0, path: '/articles/1', status: 200 },
          { index: 1, path: '/articles/404', status: 404 },
          { index: 2, path: '/articles/3', status: 200 },
        ].map((item) => ({
          reqId: 'batch-a',
          method: 'GET',
          ran: true,
          msg: 'batch item',
          ...item,
        })),
        {
          reqId: 'batch-b',
          index: 0,
          method: 'GET',
          path: '/articles/7',
          status: 200,
          ran: true,
          msg: 'batch item',
        },
      ]);
      for (const entry of entries) {
        expect(entry.level).toBe(30);
        expect(typeof entry.time).toBe('number');
        expect(typeof entry.durationMs).toBe('number');
      }
    } finally {
      await api.close();
    }
  });
});
