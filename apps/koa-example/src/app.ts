import type { BatchOptions } from '@batch/core';
import { batch } from '@batch/koa';
import { ArticleStore, serviceInfo } from '@batch/reading-list';
import { bodyParser } from '@koa/bodyparser';
import { Router } from '@koa/router';
import Koa from 'koa';
import { articlesRouter } from './articles.js';
import { conformanceRoutes, requestLog } from './conformanceRoutes.js';
import { notFound, problemErrors } from './problems.js';

export interface AppOptions {
  /** Where the articles live. @default a fresh, empty `ArticleStore` */
  store?: ArticleStore;
  /** Options of the batch endpoint (`@batch/core`'s `BatchOptions`). @default {} */
  batch?: BatchOptions;
  /** @default '/batch' */
  batchPath?: string;
  /** Also serve @batch/test-suite's conformance routes and log requests (tests only). */
  conformance?: boolean;
}

/** The reading-list API on Koa, with `POST /batch`. */
export function createApp(options: AppOptions = {}): { app: Koa; log: string[] } {
  const {
    store = new ArticleStore(),
    batch: batchOptions = {},
    batchPath = '/batch',
    conformance = false,
  } = options;
  const app = new Koa();
  const log: string[] = [];

  // Every request meets these, the batch's sub-requests included: each one runs through
  // this whole app again, from the top, in-process.
  app.use(problemErrors);
  // Before the body parser: the batch body is streamed, under the batch's own limits.
  app.use(batch(app, { ...batchOptions, path: batchPath }));
  if (conformance) app.use(requestLog(log));
  app.use(bodyParser({ enableTypes: ['json'] }));

  const root = new Router();
  root.get('/', (ctx) => {
    const info = serviceInfo('Koa', batchOptions.maxRequests);
    ctx.body = { ...info, batch: { ...info.batch, path: batchPath } };
  });
  app.use(root.routes());
  if (conformance) app.use(conformanceRoutes().routes());
  app.use(articlesRouter(store).routes());
  app.use(notFound);

  return { app, log };
}
