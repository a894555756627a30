import type { BatchOptions } from '@batch/core';
import { batch } from '@batch/hono';
import {
  ArticleStore,
  IN_MEMORY,
  openApiDocument,
  RATE_LIMIT_WINDOW_MS,
  serviceInfo,
  TOO_MANY_REQUESTS,
} from '@batch/reading-list';
import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono, type MiddlewareHandler } from 'hono';
import { rateLimiter } from 'hono-rate-limiter';
import { articlesApp } from './articles.js';
import { conformanceRoutes, requestLog } from './conformanceRoutes.js';
import { notFound, onError } from './problems.js';

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
   * Requests per minute per client address (`hono-rate-limiter`, mounted before the routes,
   * so it counts every item of a batch; `RATE_LIMIT` in `pnpm start`). Keyed on
   * `@hono/node-server`'s client address.
   * @default undefined (no limit)
   */
  rateLimit?: number | undefined;
  /**
   * Middleware mounted before everything else, the batch route too: OpenTelemetry's
   * (`honoTracing()`), so that the batch request and each of its items get a span.
   * @default undefined (none)
   */
  tracing?: MiddlewareHandler | undefined;
}

/** The reading-list API on Hono, with `POST /batch`. */
export function createApp(options: AppOptions = {}): {
  app: Hono;
  store: ArticleStore;
  log: string[];
  /** Resolves once no asynchronous batch runs any more. */
  idle: () => Promise<void>;
} {
  const { batch: batchOptions = {}, batchPath = '/batch', conformance = false } = options;
  const store = options.store ?? new ArticleStore({ database: options.database ?? IN_MEMORY });
  const log: string[] = [];
  const app = new Hono();
  app.onError(onError);
  app.notFound(notFound);
  if (options.tracing !== undefined) app.use(options.tracing);

  // The batch route: every item runs in-process through this same app (`app.fetch`) — the
  // bearer-token rule, the routes, `onError` and `notFound`. `all`, so a GET answers the
  // adapter's 405 with `Allow: POST`. It answers without calling `next()`, so whatever is
  // registered below only sees the batch's items, never the batch itself. An atomicity
  // group runs inside one transaction of the store: all of it, or nothing.
  const batchRoute = batch(app, { transaction: (run) => store.transaction(run), ...batchOptions });
  app.all(`${batchPath}/*`, batchRoute);
  if (conformance) app.use(requestLog(log));
  // Below the batch route, above the routes: each item is counted, keyed on the batch's
  // client address (`c.env.incoming.socket`), and the batch itself is not.
  if (options.rateLimit !== undefined)
    app.use(
      rateLimiter({
        windowMs: RATE_LIMIT_WINDOW_MS,
        limit: options.rateLimit,
        standardHeaders: 'draft-7',
        keyGenerator: (c) => getConnInfo(c).remote.address ?? '',
        handler: (c) =>
          c.json(TOO_MANY_REQUESTS, 429, { 'Content-Type': 'application/problem+json' }),
      }),
    );

  app.get('/', (c) => {
    return c.json(serviceInfo('Hono', { ...batchOptions, path: batchPath }));
  });
  app.get('/openapi.json', (c) => c.json(openApiDocument({ ...batchOptions, path: batchPath })));
  app.route('/articles', articlesApp(store));
  if (conformance) app.route('/', conformanceRoutes());

  // `idle`: resolves when no asynchronous batch runs any more (a graceful stop waits for it).
  return { app, store, log, idle: batchRoute.idle };
}
