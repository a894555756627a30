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
import type Koa from 'koa';
import { describe, expect, it } from 'vitest';
import { createApp } from './app.js';

const serve = (app: Koa) => listen(app.listen(0, '127.0.0.1'));

conformanceSuite('Koa example app', {
  start: async ({ batchPath, batch }) => {
    const { app, log } = createApp({ batchPath, batch, conformance: true });
    return { ...(await serve(app)), log };
  },
});

const appDir = fileURLToPath(new URL('..', import.meta.url));

atomicityScenarios('Koa example app', {
  start: (store) => serve(createApp({ store }).app),
  server: { appDir, framework: 'Koa' },
});

readingListScenarios('Koa example app', {
  start: async () => {
    const store = new ArticleStore();
    return { ...(await serve(createApp({ store }).app)), store };
  },
});

serviceInfoTest('Koa', ({ batchPath, batch }) => serve(createApp({ batchPath, batch }).app));
openApiTest('Koa', ({ batchPath, batch }) => serve(createApp({ batchPath, batch }).app));
rateLimitTest('Koa', ({ rateLimit, batch }) => serve(createApp({ rateLimit, batch }).app));

startupTest('Koa', appDir);
sharedRecordsTest('Koa', appDir);
shutdownTest('Koa', appDir, 'start:koa');

describe('the reading list on Koa', () => {
  it('answers GET / with the service info, naming Koa', async () => {
    const api = await serve(createApp().app);
    try {
      const response = await fetch(`${api.url}/`);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual(serviceInfo('Koa'));
    } finally {
      await api.close();
    }
  });
});
