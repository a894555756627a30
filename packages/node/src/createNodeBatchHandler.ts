import type { IncomingMessage, ServerResponse } from 'node:http';
import type { BatchOptions, BodyInput } from '@batch/core';
import { createNodeBatchRunner } from './createNodeBatchRunner.js';
import type { NodeHandler } from './dispatchToNode.js';
import { sendBatchOutput } from './sendBatchOutput.js';

/** Answers one batch request on a Node server; `body` overrides how its body is read. */
export type NodeBatchHandler = ((
  req: IncomingMessage,
  res: ServerResponse,
  body?: BodyInput,
) => Promise<void>) & {
  /**
   * Resolves when no asynchronous batch (`Prefer: respond-async`, SPEC §9) runs any more:
   * a graceful stop awaits it, up to its grace period, after the server stopped accepting.
   */
  idle(): Promise<void>;
};

/**
 * A batch endpoint for any Node `(req, res)` application: each sub-request runs
 * in-process through `app` (the same middleware, auth, routes and error handlers as a
 * direct request), and the batch response streams to `res` with backpressure. For a
 * plain `node:http` server, Connect, or Fastify-style handlers; Express and Koa adapters
 * build on it.
 *
 * ```ts
 * const batch = createNodeBatchHandler(app);
 * http.createServer((req, res) => (onBatchRoute(req.url, '/batch') ? batch(req, res) : app(req, res)));
 * ```
 */
export function createNodeBatchHandler(
  app: NodeHandler,
  options: BatchOptions = {},
): NodeBatchHandler {
  const run = createNodeBatchRunner(app, options);
  const handle = async (req: IncomingMessage, res: ServerResponse, body?: BodyInput) => {
    await sendBatchOutput(await run(req, res, body), res);
  };
  return Object.assign(handle, { idle: run.idle });
}
