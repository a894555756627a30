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
import type { Express } from 'express';
import { createApp } from './app.js';

const serve = (app: Express) => listen(app.listen(0, '127.0.0.1'));

conformanceSuite('Express example app', {
  start: async ({ batchPath, batch }) => {
    const { app, log } = createApp({ batchPath, batch, conformance: true });
    return { ...(await serve(app)), log };
  },
});

const appDir = fileURLToPath(new URL('..', import.meta.url));

atomicityScenarios('Express example app', {
  start: (store) => serve(createApp({ store }).app),
  server: { appDir, framework: 'Express' },
});

readingListScenarios('Express example app', {
  start: async () => {
    const store = new ArticleStore();
    return { ...(await serve(createApp({ store }).app)), store };
  },
});

serviceInfoTest('Express', ({ batchPath, batch }) => serve(createApp({ batchPath, batch }).app));
openApiTest('Express', ({ batchPath, batch }) => serve(createApp({ batchPath, batch }).app));
rateLimitTest('Express', ({ rateLimit, batch }) => serve(createApp({ rateLimit, batch }).app));

startupTest('Express', appDir);
sharedRecordsTest('Express', appDir);
shutdownTest('Express', appDir, 'start');
