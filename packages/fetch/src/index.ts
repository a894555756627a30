import {
  type BatchFetchInit,
  type BatchOptions,
  createBatchHandler,
  type Dispatcher,
} from '@batch/core';
import { createSubRequest } from './createSubRequest.js';
import { readSubResponse } from './readSubResponse.js';

export type { BatchOptions } from '@batch/core';
export { onBatchRoute } from '@batch/core';

/**
 * What `batch()` needs of the app: a `fetch(request, env?, ctx?)` — Hono, Elysia, h3,
 * itty-router, a Bun, Deno or Workers module's default export — or that function itself.
 */
export type FetchApp =
  | {
      fetch(request: Request, env?: never, ctx?: never): Response | Promise<Response>;
    }
  | ((request: Request, env?: never, ctx?: never) => Response | Promise<Response>);

/** The outer request as every sub-request of one batch sees it (`context.batch.native`). */
export interface FetchBatchContext {
  /** Sub-request URLs are this origin + the item's target. */
  origin: string;
  /** Passed to `app.fetch` as its second argument (Workers bindings, Hono's `c.env`). */
  env?: unknown;
  /** Passed to `app.fetch` as its third argument (Workers' `ExecutionContext`). */
  executionCtx?: unknown;
}

/**
 * What a server or framework adapter may pass with the batch request: the `env` and
 * `executionCtx` every sub-request gets, and core's `BatchFetchInit` fields (a body
 * already read, the raw headers, the client's signal, what to do with an unread body).
 */
export interface FetchBatchInit extends Omit<BatchFetchInit, 'native'> {
  env?: unknown;
  executionCtx?: unknown;
}

/** Answers one batch request (or a monitor of an asynchronous one). */
export type FetchBatchHandler = ((request: Request, init?: FetchBatchInit) => Promise<Response>) & {
  /**
   * Resolves when no asynchronous batch (`Prefer: respond-async`, SPEC §9) runs any more: a
   * graceful stop awaits it. On Workers, `executionCtx.waitUntil` is given it by itself.
   */
  idle(): Promise<void>;
};

/**
 * A handler answering batch requests (SPEC: multipart/mixed, JSON, JSON Lines): every
 * sub-request runs in-process through `app.fetch` — as a `Request` on the batch request's
 * origin, with the `env` and `executionCtx` given in `init` — so it meets the same
 * routing, middleware and error handling as a direct request. Options are `@batch/core`'s
 * `BatchOptions`; the engine is created once.
 *
 * ```ts
 * const handleBatch = batch(app);
 * export default {
 *   fetch: (request: Request, env: Env, ctx: ExecutionContext) =>
 *     onBatchRoute(new URL(request.url).pathname, '/batch')
 *       ? handleBatch(request, { env, executionCtx: ctx })
 *       : app.fetch(request, env, ctx),
 * };
 * ```
 */
export function batch(app: FetchApp, options: BatchOptions = {}): FetchBatchHandler {
  const handler = createBatchHandler({ ...options, dispatch: createFetchDispatcher(app) });
  const handle = async (request: Request, init: FetchBatchInit = {}) => {
    const { env, executionCtx } = init;
    const native: FetchBatchContext = { origin: new URL(request.url).origin, env, executionCtx };
    // Field by field, not `{ ...rest, native }`: on a busy Node server an object made by rest
    // and spread cost ~20 µs of CPU per batch (its shape is made anew, and every read of it
    // after goes the slow way). Typed `EveryField`: a field added to `BatchFetchInit` fails
    // to compile here until it is passed on.
    const response = await handler.fetch(request, {
      native,
      body: init.body,
      headers: init.headers,
      signal: init.signal,
      onUnreadBody: init.onUnreadBody,
    } satisfies EveryField<BatchFetchInit>);
    // An asynchronous batch runs after its answer: a Workers-like runtime must be told.
    if (handler.runningAsync > 0) waitUntil(executionCtx, handler.idle());
    return response;
  };
  return Object.assign(handle, { idle: () => handler.idle() });
}

/** `executionCtx.waitUntil(promise)` when the runtime has it (Workers), else nothing. */
/** `T` with every field required (possibly `undefined`): an object literal must name each. */
type EveryField<T> = { [K in keyof T]-?: T[K] };

function waitUntil(executionCtx: unknown, promise: Promise<void>): void {
  const ctx = executionCtx as { waitUntil?: (promise: Promise<unknown>) => void } | undefined;
  if (typeof ctx?.waitUntil === 'function') ctx.waitUntil(promise);
}

/**
 * The dispatcher of `@batch/core`'s `createBatchHandler` for a fetch-native app: each
 * sub-request is a lazy `Request` (see `createSubRequest`) given to `app.fetch` with the
 * `FetchBatchContext` passed as `native`, its answer read as plain values (see
 * `readSubResponse`). For adapters that build their own handler; `batch()` uses it.
 */
export function createFetchDispatcher(app: FetchApp): Dispatcher {
  const run = (typeof app === 'function' ? app : app.fetch.bind(app)) as (
    request: Request,
    env: unknown,
    ctx: unknown,
  ) => Response | Promise<Response>;
  return async (request, context) => {
    const { batch, returnMinimal } = context;
    const outer = batch.native as FetchBatchContext;
    const response = await run(
      // The signal only when the app reads it (most never do): no AbortController otherwise.
      createSubRequest(outer.origin, request, () => context.signal),
      outer.env,
      outer.executionCtx,
    );
    return readSubResponse(response, returnMinimal);
  };
}
