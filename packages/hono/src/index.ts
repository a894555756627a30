import type { IncomingMessage } from 'node:http';
import { type BatchOptions, type BodyInput, type ClientAbort, onBatchRoute } from '@batch/core';
import { batch as fetchBatch } from '@batch/fetch';
import {
  type ClosingResponse,
  chunksOf,
  clientGone,
  discardUnreadBody,
  headerPairs,
} from '@batch/node/incoming';
import type { Context, Env, ExecutionContext, Handler } from 'hono';

export type { BatchOptions } from '@batch/core';

/** What `batch()` needs of the app: Hono's `fetch(request, env, executionCtx)`. */
export interface HonoFetchApp {
  fetch(
    request: Request,
    env?: unknown,
    executionCtx?: ExecutionContext,
  ): Response | Promise<Response>;
}

/**
 * A Hono handler answering batch requests (SPEC: multipart/mixed or JSON): every
 * sub-request runs in-process through `app.fetch` (see `@batch/fetch`) with the batch
 * request's `c.env` and `c.executionCtx`, so it meets the same middleware, routes and
 * error handlers as a direct request. Options are `@batch/core`'s `BatchOptions`; the
 * engine is created once.
 *
 * ```ts
 * const app = new Hono();
 * app.get('/articles/:id', (c) => c.json({ id: c.req.param('id') }));
 * app.all('/batch/*', batch(app, { concurrency: 4 })); // GET /batch answers 405
 * ```
 *
 * Mounted on `/batch/*` (which Hono matches for `/batch` too), it answers the batch route
 * and the monitors of asynchronous batches under it (`GET`/`DELETE /batch/jobs/<id>`, SPEC
 * §9), and passes any other path under it on (`next()`). Mounted on `/batch`, no monitor
 * reaches it.
 */
export function batch<E extends Env = Env>(
  app: HonoFetchApp,
  options: BatchOptions = {},
): Handler<E> & { idle(): Promise<void> } {
  const handle = fetchBatch(app, options);
  const handler: Handler<E> = (c, next) => {
    const { routePath } = c.req;
    // `/batch/*`: the route itself and its monitors; any other path under it is not ours.
    if (routePath.endsWith('/*') && !routePath.includes(':')) {
      if (!onBatchRoute(c.req.path, routePath.slice(0, -2))) return next();
    }
    const node = nodeIncoming(c.env);
    const env = c.env;
    // @hono/node-server passes no ExecutionContext: Hono's getter would only throw.
    const executionCtx = node === undefined ? contextOf(c) : undefined;
    const consumed = consumedBody(c);
    const incoming = consumed === undefined ? node : undefined;
    // Each init is one object literal (a spread made it the slow way: see @batch/fetch).
    if (incoming === undefined) return handle(c.req.raw, { env, executionCtx, body: consumed });
    // On @hono/node-server: the body straight from Node's request. Its `Request` is made
    // lazily, and `request.body` would make it whole (an undici Request, a web stream over
    // the Node one): ~250 µs of a batch's CPU here, more than 50 small items cost.
    return handle(c.req.raw, {
      env,
      executionCtx,
      body: chunksOf(incoming),
      headers: headerPairs(incoming.rawHeaders),
      signal: clientGoneOf(c.env),
      onUnreadBody: (plan) => discardUnreadBody(incoming, plan),
    });
  };
  return Object.assign(handler, { idle: handle.idle });
}

/**
 * The Node request behind `c.env` when the app runs on @hono/node-server (its documented
 * `HttpBindings`: `c.env.incoming`), else `undefined` (Bun, Deno, Workers, `app.request`).
 */
function nodeIncoming(env: unknown): IncomingMessage | undefined {
  const incoming = (env as { incoming?: unknown } | undefined)?.incoming as
    | Partial<IncomingMessage>
    | undefined;
  if (
    incoming === undefined ||
    incoming === null ||
    typeof incoming.read !== 'function' ||
    typeof incoming.on !== 'function' ||
    !Array.isArray(incoming.rawHeaders) ||
    incoming.readableEnded === true
  ) {
    return undefined;
  }
  return incoming as IncomingMessage;
}

/**
 * On @hono/node-server: aborted when its response (`c.env.outgoing`) closes before it
 * finished. `request.signal` says the same, but the server makes an `AbortController` for it
 * when it is first read: with the batch's own, that was the largest fixed cost of a batch of
 * one there (~40 µs of ~150 µs of CPU).
 */
function clientGoneOf(env: unknown): ClientAbort | undefined {
  const outgoing = (env as { outgoing?: Partial<ClosingResponse> }).outgoing;
  return typeof outgoing?.once === 'function' ? clientGone(outgoing as ClosingResponse) : undefined;
}

/**
 * `c.executionCtx`, which Hono throws for outside Workers-like runtimes: on Node, Bun and
 * Deno on every batch. The `Error` it throws is made without a stack trace (capturing one was
 * 2–5 % of a batch's CPU on @hono/node-server); nothing else reads the limit meanwhile.
 */
function contextOf(c: Context): ExecutionContext | undefined {
  const limit = Error.stackTraceLimit;
  let lowered = false;
  try {
    Error.stackTraceLimit = 0;
    lowered = true;
  } catch {
    // Frozen intrinsics: the stack is captured, as before.
  }
  try {
    return c.executionCtx;
  } catch {
    return undefined;
  } finally {
    if (lowered) Error.stackTraceLimit = limit;
  }
}

/** Hono's cached copy of the batch body when a validator already read it; else `undefined` (the stream is read). */
function consumedBody(c: Context): BodyInput | undefined {
  if (!c.req.raw.bodyUsed && Object.keys(c.req.bodyCache).length === 0) return undefined;
  return cachedBody(c);
}

async function* cachedBody(c: Context): AsyncGenerator<Uint8Array> {
  yield new Uint8Array(await c.req.arrayBuffer());
}
