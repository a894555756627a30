import { fileURLToPath } from 'node:url';
import { ArticleStore } from '@batch/reading-list';
import {
  conformanceSuite,
  listen,
  readingListScenarios,
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

readingListScenarios('Express example app', {
  start: async () => {
    const store = new ArticleStore();
    return { ...(await serve(createApp({ store }).app)), store };
  },
});

const appDir = fileURLToPath(new URL('..', import.meta.url));
startupTest('Express', appDir);
shutdownTest('Express', appDir, 'start');
