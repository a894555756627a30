import type { BatchOptions } from '@batch/core';
import { batch } from '@batch/hono';
import { ArticleStore, serviceInfo } from '@batch/reading-list';
import { Hono } from 'hono';
import { articlesApp } from './articles.js';
import { conformanceRoutes, requestLog } from './conformanceRoutes.js';
import { notFound, onError } from './problems.js';

export interface AppOptions {
  /** Where the articles live; a fresh, empty store by default. */
  store?: ArticleStore;
  /** Options of the batch route (`@batch/core`'s `BatchOptions`). */
  batch?: BatchOptions;
  /** @default '/batch' */
  batchPath?: string;
  /** Also serve the conformance suite's test routes, and record requests in `log`. */
  conformance?: boolean;
}

/** The reading-list API on Hono, with `POST /batch`. */
export function createApp(options: AppOptions = {}): { app: Hono; log: string[] } {
  const {
    store = new ArticleStore(),
    batch: batchOptions = {},
    batchPath = '/batch',
    conformance = false,
  } = options;
  const log: string[] = [];
  const app = new Hono();
  app.onError(onError);
  app.notFound(notFound);

  // The batch route: every item runs in-process through this same app (`app.fetch`) — the
  // bearer-token rule, the routes, `onError` and `notFound`. `all`, so a GET answers the
  // adapter's 405 with `Allow: POST`. It answers without calling `next()`, so whatever is
  // registered below only sees the batch's items, never the batch itself.
  app.all(batchPath, batch(app, batchOptions));
  if (conformance) app.use(requestLog(log));

  app.get('/', (c) => {
    const info = serviceInfo('Hono', batchOptions.maxRequests);
    return c.json({ ...info, batch: { ...info.batch, path: batchPath } });
  });
  app.route('/articles', articlesApp(store));
  if (conformance) app.route('/', conformanceRoutes());

  return { app, log };
}
