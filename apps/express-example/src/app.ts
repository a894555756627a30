import type { BatchOptions } from '@batch/core';
import { batch } from '@batch/express';
import {
  ArticleStore,
  IN_MEMORY,
  openApiDocument,
  RATE_LIMIT_WINDOW_MS,
  serviceInfo,
  TOO_MANY_REQUESTS,
} from '@batch/reading-list';
import express, { type Express } from 'express';
import { rateLimit } from 'express-rate-limit';
import { articlesRouter } from './articles.js';
import { conformanceRoutes, requestLog } from './conformanceRoutes.js';
import { errorHandler, notFound } from './problems.js';

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
   * Options of the batch route (`@batch/core`'s `BatchOptions`). `transaction` defaults to
   * the store's: each atomicity group runs in one SQLite transaction.
   */
  batch?: BatchOptions;
  /** @default '/batch' */
  batchPath?: string;
  /** Also serve the conformance suite's test routes, and record requests in `log`. */
  conformance?: boolean;
  /**
   * Requests per minute per client address (`express-rate-limit`, mounted before the
   * routes, so it counts every item of a batch; `RATE_LIMIT` in `pnpm start`).
   * @default undefined (no limit)
   */
  rateLimit?: number | undefined;
}

/** The reading-list API on Express, with `POST /batch`. */
export function createApp(options: AppOptions = {}): {
  app: Express;
  store: ArticleStore;
  log: string[];
  /** Resolves once no asynchronous batch runs any more. */
  idle: () => Promise<void>;
} {
  const { batchPath = '/batch', conformance = false } = options;
  const store = options.store ?? new ArticleStore({ database: options.database ?? IN_MEMORY });
  const log: string[] = [];
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag'); // articles carry their own ETag

  // The batch route: every item runs in-process through this same app — the JSON parser,
  // the bearer-token rule, the routes, the error handler. Mounted before express.json(),
  // so the batch body is read by the adapter under its own limits (10 MiB by default).
  // An atomicity group runs inside one transaction of the store: all of it, or nothing.
  const batchRoute = batch(app, { transaction: (run) => store.transaction(run), ...options.batch });
  app.use(batchPath, batchRoute);
  if (conformance) app.use(requestLog(log));
  // After the batch route, before the routes: each item is counted, keyed on `req.ip` (the
  // batch's client), and the batch itself is not.
  if (options.rateLimit !== undefined)
    app.use(
      rateLimit({
        windowMs: RATE_LIMIT_WINDOW_MS,
        limit: options.rateLimit,
        standardHeaders: 'draft-8',
        legacyHeaders: false,
        handler: (_req, res) => {
          res.status(429).type('application/problem+json').json(TOO_MANY_REQUESTS);
        },
      }),
    );
  app.use(express.json());

  app.get('/', (_req, res) => {
    res.json(serviceInfo('Express', { ...options.batch, path: batchPath }));
  });
  app.get('/openapi.json', (_req, res) =>
    res.json(openApiDocument({ ...options.batch, path: batchPath })),
  );
  app.use('/articles', articlesRouter(store));
  if (conformance) app.use(conformanceRoutes());

  app.use(notFound);
  app.use(errorHandler);
  // `idle`: resolves when no asynchronous batch runs any more (a graceful stop waits for it).
  return { app, store, log, idle: batchRoute.idle };
}
