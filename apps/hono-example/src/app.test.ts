import type { Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { ArticleStore } from '@batch/reading-list';
import {
  atomicityScenarios,
  conformanceSuite,
  listen,
  openApiTest,
  rateLimitTest,
  readingListScenarios,
  serviceInfoTest,
  sharedRecordsTest,
  shutdownTest,
  startupTest,
} from '@batch/test-suite';
import { serve as serveNode } from '@hono/node-server';
import type { Hono } from 'hono';
import { createApp } from './app.js';

const serve = (app: Hono) =>
  listen(serveNode({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }) as Server);

conformanceSuite('Hono example app', {
  start: async ({ batchPath, batch }) => {
    const { app, log } = createApp({ batchPath, batch, conformance: true });
    return { ...(await serve(app)), log };
  },
});

const appDir = fileURLToPath(new URL('..', import.meta.url));

atomicityScenarios('Hono example app', {
  start: (store) => serve(createApp({ store }).app),
  server: { appDir, framework: 'Hono' },
});

readingListScenarios('Hono example app', {
  start: async () => {
    const store = new ArticleStore();
    return { ...(await serve(createApp({ store }).app)), store };
  },
});

serviceInfoTest('Hono', ({ batchPath, batch }) => serve(createApp({ batchPath, batch }).app));
openApiTest('Hono', ({ batchPath, batch }) => serve(createApp({ batchPath, batch }).app));
rateLimitTest('Hono', ({ rateLimit, batch }) => serve(createApp({ rateLimit, batch }).app));

startupTest('Hono', appDir);
sharedRecordsTest('Hono', appDir);
shutdownTest('Hono', appDir, 'start:hono');
