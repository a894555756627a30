import type { BatchOptions } from '@batch/core';
import { batch } from '@batch/koa';
import {
  ArticleStore,
  IN_MEMORY,
  openApiDocument,
  RATE_LIMIT_WINDOW_MS,
  serviceInfo,
  TOO_MANY_REQUESTS,
} from '@batch/reading-list';
import { bodyParser } from '@koa/bodyparser';
import { Router } from '@koa/router';
import Koa from 'koa';
import ratelimit from 'koa-ratelimit';
import { articlesRouter } from './articles.js';
import { conformanceRoutes, requestLog } from './conformanceRoutes.js';
import { notFound, problemErrors } from './problems.js';

export interface AppOptions {
  /** Where the articles live. @default a new `ArticleStore` on `database` */
  store?: ArticleStore;
  /**
   * The SQLite file of the store the app opens when no `store` is given (`:memory:` keeps
   * nothing: a fresh, empty store).
   * @default ':memory:'
   */
  database?: string;
  /**
   * Options of the batch endpoint (`@batch/core`'s `BatchOptions`). `transaction` defaults
   * to the store's: each atomicity group runs in one SQLite transaction.
   * @default {}
   */
  batch?: BatchOptions;
  /** @default '/batch' */
  batchPath?: string;
  /** Also serve @batch/test-suite's conformance routes and log requests (tests only). */
  conformance?: boolean;
  /**
   * Requests per minute per client address (`koa-ratelimit`'s memory driver, mounted before
   * the routes, so it counts every item of a batch; `RATE_LIMIT` in `pnpm start`).
   * @default undefined (no limit)
   */
  rateLimit?: number | undefined;
}

/** The reading-list API on Koa, with `POST /batch`. */
export function createApp(options: AppOptions = {}): {
  app: Koa;
  store: ArticleStore;
  log: string[];
  /** Resolves once no asynchronous batch runs any more. */
  idle: () => Promise<void>;
} {
  const { batch: batchOptions = {}, batchPath = '/batch', conformance = false } = options;
  const store = options.store ?? new ArticleStore({ database: options.database ?? IN_MEMORY });
  const app = new Koa();
  const log: string[] = [];

  // Every request meets these, the batch's sub-requests included: each one runs through
  // this whole app again, from the top, in-process.
  app.use(problemErrors);
  // Before the body parser: the batch body is streamed, under the batch's own limits.
  // An atomicity group runs inside one transaction of the store: all of it, or nothing.
  const transaction: BatchOptions['transaction'] = (run) => store.transaction(run);
  const batchRoute = batch(app, { transaction, ...batchOptions, path: batchPath });
  app.use(batchRoute);
  if (conformance) app.use(requestLog(log));
  // After the batch endpoint, before the routes: each item is counted, keyed on `ctx.ip`
  // (the batch's client), and the batch itself is not.
  if (options.rateLimit !== undefined)
    app.use(
      ratelimit({
        driver: 'memory',
        db: new Map(),
        duration: RATE_LIMIT_WINDOW_MS,
        max: options.rateLimit,
        id: (ctx) => ctx.ip,
        // Thrown to `problemErrors`, which answers it as problem+json.
        errorMessage: TOO_MANY_REQUESTS.detail,
        throw: true,
      }),
    );
  app.use(bodyParser({ enableTypes: ['json'] }));

  const root = new Router();
  root.get('/', (ctx) => {
    ctx.body = serviceInfo('Koa', { ...batchOptions, path: batchPath });
  });
  root.get('/openapi.json', (ctx) => {
    ctx.body = openApiDocument({ ...batchOptions, path: batchPath });
  });
  app.use(root.routes());
  if (conformance) app.use(conformanceRoutes().routes());
  app.use(articlesRouter(store).routes());
  app.use(notFound);

  // `idle`: resolves when no asynchronous batch runs any more (a graceful stop waits for it).
  return { app, store, log, idle: batchRoute.idle };
}
