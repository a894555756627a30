import type { IncomingMessage, ServerResponse } from 'node:http';
import { type BatchOptions, type BodyInput, createBatchHandler } from '@batch/core';
import { type ConnectionInfo, connectionOf } from './BatchSocket.js';
import { discardUnreadBody } from './discardUnreadBody.js';
import { dispatchToNode, type NodeHandler } from './dispatchToNode.js';
import { headerPairs } from './headerPairs.js';
import { readNodeBody } from './readNodeBody.js';
import { sendBatchOutput } from './sendBatchOutput.js';

/** Answers one batch request on a Node server; `body` overrides how its body is read. */
export type NodeBatchHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  body?: BodyInput,
) => Promise<void>;

interface NodeRequest extends IncomingMessage {
  originalUrl?: string;
}

/**
 * A batch endpoint for any Node `(req, res)` application: each sub-request runs
 * in-process through `app` (the same middleware, auth, routes and error handlers as a
 * direct request), and the batch response streams to `res` with backpressure. For a
 * plain `node:http` server, Connect, or Fastify-style handlers; Express and Koa adapters
 * build on it.
 *
 * ```ts
 * const batch = createNodeBatchHandler(app);
 * http.createServer((req, res) => (req.url === '/batch' ? batch(req, res) : app(req, res)));
 * ```
 */
export function createNodeBatchHandler(
  app: NodeHandler,
  options: BatchOptions = {},
): NodeBatchHandler {
  // The batch request's connection, read once per batch (its items share it).
  const connections = new WeakMap<object, ConnectionInfo>();
  const handler = createBatchHandler({
    ...options,
    dispatch: (request, context) => {
      let connection = connections.get(context.batch);
      if (connection === undefined) {
        connection = connectionOf((context.batch.native as IncomingMessage).socket);
        connections.set(context.batch, connection);
      }
      return dispatchToNode(app, request, connection, context.signal);
    },
  });
  return async (req, res, body) => {
    const controller = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) controller.abort();
    };
    res.once('close', onClose);
    const output = await handler.handle({
      method: req.method ?? 'GET',
      path: (req as NodeRequest).originalUrl ?? req.url ?? '/',
      headers: headerPairs(req.rawHeaders),
      body: body ?? readNodeBody(req, options),
      signal: controller.signal,
      native: req,
    });
    // A refusal before the body's end: drop the rest first, so the answer cannot wait on it.
    if (output.unreadBody !== undefined) discardUnreadBody(req, output.unreadBody);
    try {
      await sendBatchOutput(output, res);
    } finally {
      res.off('close', onClose);
    }
  };
}
