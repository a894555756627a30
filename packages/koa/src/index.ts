import type { IncomingMessage, ServerResponse } from 'node:http';
import { type BatchOptions, type BodyInput, onBatchRoute } from '@batch/core';
import { createNodeBatchHandler, type NodeHandler } from '@batch/node';

/** Options of `batch()`: the shared `BatchOptions` of `@batch/core`, plus the route to answer. */
export type KoaBatchOptions = BatchOptions & {
  /**
   * The batch route, for `app.use(batch(app, { path }))`: the middleware answers the
   * requests whose `ctx.path` equals it (non-POST ones with `405`) and the monitors of
   * asynchronous batches under it (`GET`/`DELETE <path>/jobs/<id>`, SPEC §9), and passes
   * every other request on. Leave it out when a router mounts the middleware: it then answers every
   * request it is given, and the batch route is the path the request was sent to.
   * @default undefined (answer every request)
   */
  path?: string;
};

/** What `batch()` needs of a Koa application (Koa 2 or 3): its `(req, res)` callback. */
export interface KoaApplication {
  callback(): NodeHandler;
}

/** What the batch middleware reads of a Koa context (Koa 2 or 3, with or without a router). */
export interface KoaBatchContext {
  path: string;
  originalUrl: string;
  req: IncomingMessage;
  res: ServerResponse;
  respond?: boolean;
  /** Its `body` and `rawBody` are read when a body parser already consumed the batch request. */
  request: object;
}

/** The middleware `batch()` returns: for `app.use()` or a router's route. */
export type KoaBatchMiddleware = ((
  ctx: KoaBatchContext,
  next: () => Promise<unknown>,
) => Promise<void>) & {
  /** Resolves when no asynchronous batch (SPEC §9) runs any more: a graceful stop awaits it. */
  idle(): Promise<void>;
};

const encoder = new TextEncoder();

/**
 * The batch request's body when a body parser already read it (`rawBody` as
 * `@koa/bodyparser` leaves it, else a parsed `ctx.request.body`); `undefined` lets the
 * bridge read the stream.
 */
function consumedBody(ctx: KoaBatchContext): BodyInput | undefined {
  const { rawBody, body } = ctx.request as { body?: unknown; rawBody?: unknown };
  if (typeof rawBody === 'string') return encoder.encode(rawBody);
  if (!ctx.req.readableEnded || body === undefined || body === null) return undefined;
  if (body instanceof Uint8Array) return body;
  return encoder.encode(typeof body === 'string' ? body : JSON.stringify(body));
}

/**
 * A batch endpoint for a Koa app (Koa 2 or 3): every sub-request runs in-process through
 * the same app — its middleware, authentication, router and error handling — and the
 * answers stream back in one `multipart/mixed` or JSON body.
 *
 * ```ts
 * app.use(batch(app, { path: '/batch', concurrency: 4 })); // as app middleware, or
 * router.all(['/batch', '/batch/jobs/:id'], batch(app)); // as @koa/router routes
 * ```
 *
 * The app's callback is taken at the first batch, so middleware added after `batch()`
 * is run too. The middleware sets `ctx.respond = false` and writes `ctx.res` itself.
 */
export function batch(app: KoaApplication, options: KoaBatchOptions = {}): KoaBatchMiddleware {
  const { path, ...batchOptions } = options;
  if (path !== undefined && batchOptions.batchPath === undefined) batchOptions.batchPath = path;
  let callback: NodeHandler | undefined;
  // Created now, so that bad options fail here; the app's callback is composed lazily.
  const handle = createNodeBatchHandler((req, res) => {
    callback ??= app.callback();
    return callback(req, res);
  }, batchOptions);

  const middleware = async (ctx: KoaBatchContext, next: () => Promise<unknown>) => {
    if (path !== undefined && !onBatchRoute(ctx.path, path)) {
      await next();
      return;
    }
    // The bridge takes the batch route from `originalUrl`, which a router or mount keeps.
    const req = ctx.req as IncomingMessage & { originalUrl?: string };
    req.originalUrl ??= ctx.originalUrl;
    ctx.respond = false;
    try {
      await handle(ctx.req, ctx.res, consumedBody(ctx));
    } catch (error) {
      // A bridge failure: let the app's error handling answer, unless the answer started.
      if (ctx.res.headersSent) ctx.res.destroy();
      else ctx.respond = true;
      throw error;
    }
  };
  return Object.assign(middleware, { idle: handle.idle });
}
