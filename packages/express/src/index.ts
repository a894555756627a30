import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BatchOptions } from '@batch/core';
import { createNodeBatchHandler, type NodeHandler } from '@batch/node';

/** An Express application (4 or 5), or any `(req, res, next)` handler. */
export type ExpressApp = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => unknown;

/** An Express request handler. */
export type ExpressMiddleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/**
 * The batch route for an Express app: `app.post('/batch', batch(app, options))`.
 *
 * Every sub-request runs in-process through the same `app` — its middleware, auth, routes
 * and error handlers — exactly as a direct request would, and the answers stream back in
 * request order. Works whether or not a body parser (`express.json()`) already read the
 * batch request. `options` is `@batch/core`'s `BatchOptions`.
 */
export function batch(app: ExpressApp, options: BatchOptions = {}): ExpressMiddleware {
  const handler = createNodeBatchHandler(app as NodeHandler, options);
  return (req, res, next) => {
    handler(req, res).catch(next);
  };
}

export type { BatchOptions } from '@batch/core';
