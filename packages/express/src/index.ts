import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BatchOptions } from '@batch/core';
import { createNodeBatchHandler, type NodeHandler } from '@batch/node';

/** An Express application (4 or 5), or any `(req, res, next)` handler. */
export type ExpressApp = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => unknown;

/** An Express request handler, with what a graceful stop awaits. */
export type ExpressMiddleware = ((
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void) & {
  /** Resolves when no asynchronous batch (SPEC §9) runs any more: a graceful stop awaits it. */
  idle(): Promise<void>;
};

/** What Express sets on a request: where it was mounted, and the route that matched it. */
interface ExpressRequest extends IncomingMessage {
  baseUrl?: string;
  route?: unknown;
}

/** A monitor of an asynchronous batch, relative to the batch route (`/jobs/<id>`). */
const MONITOR = /^\/jobs\/[^/]+\/?$/;

/**
 * The batch route for an Express app: `app.use('/batch', batch(app, options))`. Mounted with
 * `use`, it answers the route itself (`POST`; other methods `405`) and the monitors of
 * asynchronous batches under it (`GET`/`DELETE /batch/jobs/<id>`, SPEC §9), and passes any
 * other path under it on. Mounted as a route (`app.post('/batch', …)`) it answers what
 * that route matches: add `app.all('/batch/jobs/:id', …)` for the monitors.
 *
 * Every sub-request runs in-process through the same `app` — its middleware, auth, routes
 * and error handlers — exactly as a direct request would, and the answers stream back in
 * request order. Works whether or not a body parser (`express.json()`) already read the
 * batch request. `options` is `@batch/core`'s `BatchOptions`.
 */
export function batch(app: ExpressApp, options: BatchOptions = {}): ExpressMiddleware {
  const handler = createNodeBatchHandler(app as NodeHandler, options);
  const middleware = (req: IncomingMessage, res: ServerResponse, next: (e?: unknown) => void) => {
    const { baseUrl, route, url = '/' } = req as ExpressRequest;
    if (route === undefined && baseUrl !== undefined) {
      // Mounted with `use`: `url` is the rest of the path under the batch route.
      const rest = url.split('?', 1)[0]!;
      if (rest !== '/' && rest !== '' && !MONITOR.test(rest)) return next();
    }
    handler(req, res).catch(next);
  };
  return Object.assign(middleware, { idle: handler.idle });
}

export type { BatchOptions } from '@batch/core';
