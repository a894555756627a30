import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type BatchOptions,
  type BatchOutput,
  type BodyInput,
  createBatchHandler,
} from '@batch/core';
import { type ConnectionInfo, connectionOf } from './BatchSocket.js';
import { clientGone } from './clientGone.js';
import { discardUnreadBody } from './discardUnreadBody.js';
import { dispatchToNode, type NodeHandler } from './dispatchToNode.js';
import { headerPairs } from './headerPairs.js';
import { readNodeBody } from './readNodeBody.js';

/**
 * Runs one batch request on a Node server and gives its answer, not yet written; `body`
 * overrides how the request's body is read. `res` is only watched: the batch is aborted
 * when it closes before it finished (the client went away).
 */
export type NodeBatchRunner = ((
  req: IncomingMessage,
  res: ServerResponse,
  body?: BodyInput,
) => Promise<BatchOutput>) & {
  /** Resolves when no asynchronous batch (SPEC §9) runs any more: a graceful stop awaits it. */
  idle(): Promise<void>;
};

interface NodeRequest extends IncomingMessage {
  originalUrl?: string;
}

/**
 * The batch engine over a Node `(req, res)` application, for a framework that writes the
 * answer itself (through its own reply, so that its hooks apply: `@batch/fastify`).
 * Each sub-request runs in-process through `app`; a batch refused before its body's end has
 * the rest of its body read and dropped (or its connection closed) as SPEC §4 asks.
 * `createNodeBatchHandler` is this plus `sendBatchOutput`.
 */
export function createNodeBatchRunner(
  app: NodeHandler,
  options: BatchOptions = {},
): NodeBatchRunner {
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
      // `aborts`, not `signal`: an AbortController per batch cost more than the bridge.
      return dispatchToNode(app, request, connection, context.aborts);
    },
  });
  const run = async (req: IncomingMessage, res: ServerResponse, body?: BodyInput) => {
    const output = await handler.handle({
      method: req.method ?? 'GET',
      path: (req as NodeRequest).originalUrl ?? req.url ?? '/',
      headers: headerPairs(req.rawHeaders),
      body: body ?? readNodeBody(req, options),
      signal: clientGone(res),
      native: req,
    });
    // A refusal before the body's end: drop the rest first, so the answer cannot wait on it.
    if (output.unreadBody !== undefined) discardUnreadBody(req, output.unreadBody);
    return output;
  };
  return Object.assign(run, { idle: () => handler.idle() });
}
