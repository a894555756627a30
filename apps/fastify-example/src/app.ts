import type { BatchOptions } from '@batch/core';
import { batch } from '@batch/fastify';
import {
  ArticleStore,
  IN_MEMORY,
  openApiDocument,
  RATE_LIMIT_WINDOW_MS,
  serviceInfo,
  TOO_MANY_REQUESTS,
} from '@batch/reading-list';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, type FastifyServerFactory } from 'fastify';
import { articlesPlugin } from './articles.js';
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
   * @default {}
   */
  batch?: BatchOptions;
  /** @default '/batch' */
  batchPath?: string;
  /** Also serve the conformance suite's test routes, and record requests in `log`. */
  conformance?: boolean;
  /** Fastify's `serverFactory` (`pnpm start` puts the playground in front of the app). */
  serverFactory?: FastifyServerFactory;
  /**
   * Requests per minute per client address (`@fastify/rate-limit`, registered after the
   * batch route and before the routes, so it counts every item of a batch; `RATE_LIMIT` in
   * `pnpm start`).
   * @default undefined (no limit)
   */
  rateLimit?: number | undefined;
}

/** The reading-list API on Fastify, with `POST /batch`. */
export function createApp(options: AppOptions = {}): {
  app: FastifyInstance;
  store: ArticleStore;
  log: string[];
} {
  const { batch: batchOptions = {}, batchPath = '/batch', conformance = false } = options;
  const store = options.store ?? new ArticleStore({ database: options.database ?? IN_MEMORY });
  const log: string[] = [];
  const app = Fastify(
    options.serverFactory === undefined ? {} : { serverFactory: options.serverFactory },
  );

  // Every request meets these, the batch's sub-requests included: each one runs through
  // this whole app again, from the router, in-process (hooks, parsers, error handler).
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFound);
  if (conformance) requestLog(app, log, batchPath);
  // JSON bodies are parsed (Fastify's own parser); any other body reaches the routes as
  // `undefined`, which the store refuses (400), as on the Express, Koa and Hono versions.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, _body, done) =>
    done(null, undefined),
  );

  // The batch route, in a scope of its own: its body is streamed to the engine under the
  // batch's limits, whatever the app's parsers. An atomicity group runs inside one
  // transaction of the store: all of it, or nothing.
  const transaction: BatchOptions['transaction'] = (run) => store.transaction(run);
  app.register(batch, { transaction, ...batchOptions, path: batchPath });
  // After the batch route, before the routes: each item is counted, keyed on `request.ip`
  // (the batch's client), and the batch itself is not.
  if (options.rateLimit !== undefined)
    app.register(rateLimit, {
      timeWindow: RATE_LIMIT_WINDOW_MS,
      max: options.rateLimit,
      // Thrown to the error handler, which answers it as problem+json.
      errorResponseBuilder: () =>
        Object.assign(new Error(TOO_MANY_REQUESTS.detail), { statusCode: 429 }),
    });

  app.get('/', async () => serviceInfo('Fastify', { ...batchOptions, path: batchPath }));
  app.get('/openapi.json', async () => openApiDocument({ ...batchOptions, path: batchPath }));
  app.register(articlesPlugin(store), { prefix: '/articles' });
  if (conformance) app.register(conformanceRoutes);

  return { app, store, log };
}
