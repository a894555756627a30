import { fileURLToPath } from 'node:url';
import { ArticleStore, serviceInfo } from '@batch/reading-list';
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
import type { FastifyInstance } from 'fastify';
import { describe, expect, it } from 'vitest';
import { createApp } from './app.js';

/** Listens on loopback, port 0; `close()` closes every connection, then the app. */
async function serve(app: FastifyInstance) {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { url } = await listen(app.server);
  return {
    url,
    close: async () => {
      app.server.closeAllConnections();
      await app.close();
    },
  };
}

conformanceSuite('Fastify example app', {
  start: async ({ batchPath, batch }) => {
    const { app, log } = createApp({ batchPath, batch, conformance: true });
    return { ...(await serve(app)), log };
  },
});

const appDir = fileURLToPath(new URL('..', import.meta.url));

atomicityScenarios('Fastify example app', {
  start: (store) => serve(createApp({ store }).app),
  server: { appDir, framework: 'Fastify' },
});

readingListScenarios('Fastify example app', {
  start: async () => {
    const store = new ArticleStore();
    return { ...(await serve(createApp({ store }).app)), store };
  },
});

serviceInfoTest('Fastify', ({ batchPath, batch }) => serve(createApp({ batchPath, batch }).app));
openApiTest('Fastify', ({ batchPath, batch }) => serve(createApp({ batchPath, batch }).app));
rateLimitTest('Fastify', ({ rateLimit, batch }) => serve(createApp({ rateLimit, batch }).app));

startupTest('Fastify', appDir);
sharedRecordsTest('Fastify', appDir);
shutdownTest('Fastify', appDir, 'start:fastify');

describe('the reading list on Fastify', () => {
  it('answers GET / with the service info, naming Fastify', async () => {
    const api = await serve(createApp().app);
    try {
      const response = await fetch(`${api.url}/`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual(serviceInfo('Fastify'));
    } finally {
      await api.close();
    }
  });
});
