import {
  type BatchFormat,
  baseOfBatchPath,
  DEFAULT_MAX_REQUESTS,
  type DecodedSubResponse,
  decodeBatchResponse,
  decodeJsonLines,
  encodeBatchRequest,
  type HeaderList,
  isJsonLinesMediaType,
  type SubRequestInit,
} from '@batch/core';
import { awaitMonitor, monitorHeaders } from './awaitMonitor.js';
import { BatchFetchError } from './BatchFetchError.js';
import {
  backoffDelay,
  isSafeMethod,
  LOST_ANSWER_STATUSES,
  newIdempotencyKey,
  parseRetryAfter,
  RETRY_LATER_STATUSES,
  sleep,
} from './retryPolicy.js';
import { statusError } from './statusError.js';

type FetchFunction = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;

export interface BatchFetchOptions {
  /** The batch route, e.g. `https://api.example.com/v1/batch` (relative in browsers). */
  endpoint: string | URL;
  /** The wire format of the batch requests. @default 'json' */
  format?: BatchFormat;
  /**
   * Most calls in one batch; more are split into several batches. When left out it is
   * read once from the service info document (`serviceInfo`), falling back to 100.
   */
  maxBatchSize?: number;
  /**
   * Where the server describes itself (`{ "batch": { "maxRequests": … } }`, as the
   * example API's `GET /` does), read when `maxBatchSize` is not given; `false` not to.
   * @default the endpoint's origin + '/'
   */
  serviceInfo?: string | URL | false;
  /**
   * How long calls are gathered before a batch goes out. `0` gathers the calls made in
   * the same tick.
   * @default 0
   */
  windowMs?: number;
  /** The `fetch` that sends batches and bypassing calls. @default globalThis.fetch */
  fetch?: FetchFunction;
  /**
   * Headers of the batch request itself (the server lets sub-requests inherit them,
   * `Authorization` for one).
   */
  headers?: HeadersInit;
  /**
   * Ask for minimal answers (`Prefer: return=minimal`, SPEC §7): a call answered below 400
   * resolves with its status and headers only (`Location`, `ETag`… kept) and an empty
   * body; a failed call keeps its whole answer. For imports, where the bodies of what
   * succeeded are not read.
   * @default false
   */
  minimal?: boolean;
  /**
   * Whether a batch that holds a write (any method but `GET`, `HEAD`, `OPTIONS`) carries a
   * fresh `Idempotency-Key` (SPEC §8), so that it can be sent again when its answer is lost.
   * `false`: such batches are sent once (the server may require a key: `400`).
   * @default true
   */
  idempotencyKeys?: boolean;
  /**
   * How many times a batch whose answer was lost (a network error, `timeoutMs`, `409`,
   * `502`, `503`, `504`) is sent again — with the same key; only batches with a key or
   * without writes. Also how many times one call answered `429`/`503` with `Retry-After` is
   * re-batched, when it is safe to repeat. `0` never retries.
   * @default 3
   */
  retries?: number;
  /**
   * The backoff's first step: before resend `n` (0-based) the client waits a random time
   * up to `min(retryMaxMs, retryBaseMs · 2ⁿ)` (full jitter), and never less than the
   * answer's `Retry-After`.
   * @default 250
   */
  retryBaseMs?: number;
  /**
   * The longest backoff step. A call answered `429`/`503` whose `Retry-After` is longer is
   * not retried: that answer is its `Response`.
   * @default 30000
   */
  retryMaxMs?: number;
  /**
   * How long one attempt may take, from sending the batch to its last answer; past it, its
   * answer counts as lost. `0`: no limit.
   * @default 0
   */
  timeoutMs?: number;
}

/** Options of one `batch()` call. */
export interface BatchSendOptions {
  /**
   * Sends the requests as one asynchronous batch (`Prefer: respond-async`, SPEC §9): the
   * server answers `202` with a monitor, polled (as its `Retry-After` says) until it holds
   * the answers. The requests go out together, never split at `maxBatchSize` (the server
   * has an item limit of its own for them). A server that does not do asynchronous batches
   * answers at once, which is just as good.
   * @default false
   */
  async?: boolean;
}

/** What `batch()` resolves with: the answers in order, and the positions of those that failed. */
export type BatchResponses = Response[] & {
  /** 0-based positions, ascending, of the answers with a status ≥ 400 (SPEC §3 "failed"). */
  failed: number[];
};

/** A batching `fetch`: same signature, plus the explicit `batch()` form. */
export interface BatchFetch extends FetchFunction {
  /**
   * Sends these requests as batches now (or as one asynchronous batch: `{ async: true }`),
   * answers in order (with the failed positions).
   */
  batch(
    requests: ReadonlyArray<Request | [RequestInfo | URL, RequestInit?]>,
    options?: BatchSendOptions,
  ): Promise<BatchResponses>;
  /** Sends what is gathered now, without waiting for the window. */
  flush(): void;
}

interface Call {
  request: Request;
  /** Filled in once the body is read. */
  init: SubRequestInit | undefined;
  ready: Promise<void>;
  resolve: (response: Response) => void;
  reject: (error: unknown) => void;
  settled: boolean;
  /** How many times the call was re-batched after a `429`/`503` of its own. */
  retried: number;
}

/** Sends a call's answer to it (or holds it for a retry); a replay repeats answered indexes. */
type Answer = (index: number, part: DecodedSubResponse) => void;

/** JSON Lines first (SPEC §3), plain JSON from servers that do not stream. */
const JSON_ACCEPT = 'application/jsonl, application/json;q=0.9';

function unparseable(error: unknown, status: number): BatchFetchError {
  return new BatchFetchError('unparseable', 'the batch response is not a batch', {
    cause: error,
    status,
  });
}

function mismatch(answered: number, asked: number, status: number): BatchFetchError {
  return new BatchFetchError('mismatch', `the batch answered ${answered} of ${asked} requests`, {
    status,
  });
}

/** A `ReadableStream` as an async iterable (with a reader: not every runtime iterates streams). */
async function* readStream(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  let ended = false;
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (error) {
        // The connection dropped (or timed out) mid-answer: the rest of it is lost.
        throw new BatchFetchError('network', 'the batch answer was cut off', { cause: error });
      }
      const { done, value } = chunk;
      if (done) {
        ended = true;
        return;
      }
      yield value;
    }
  } finally {
    // Stopped early (a bad line): let the connection go instead of leaving the body unread.
    if (!ended) reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/** Status codes a `Response` must have no body for. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

function toResponse(part: DecodedSubResponse, url: string): Response {
  const headers = new Headers();
  for (const [name, value] of part.headers) {
    try {
      headers.append(name, value);
    } catch {
      // A header the platform refuses to expose (e.g. Set-Cookie in browsers).
    }
  }
  const status = part.status >= 200 && part.status <= 599 ? part.status : 500;
  const body =
    NULL_BODY.has(status) || part.body.length === 0 ? null : (part.body as Uint8Array<ArrayBuffer>);
  const response = new Response(body, { status, statusText: part.statusText, headers });
  Object.defineProperty(response, 'url', { value: url });
  return response;
}

/**
 * A drop-in `fetch` that gathers the calls made in the same tick (or within `windowMs`)
 * to the endpoint's origin and sends them as one `POST` to the batch endpoint (split at
 * `maxBatchSize`); each call resolves with a real `Response`. Calls to other origins go
 * straight to `fetch`. A call's `AbortSignal` takes it out of a pending batch, or stops
 * its wait. If the batch request fails, every call in it rejects with a
 * `BatchFetchError` carrying the cause.
 */
export function createBatchFetch(options: BatchFetchOptions): BatchFetch {
  const base = (globalThis as { location?: { href: string } }).location?.href;
  const endpoint = new URL(options.endpoint, base);
  const batchBase = baseOfBatchPath(endpoint.pathname);
  const format = options.format ?? 'json';
  const windowMs = options.windowMs ?? 0;
  const idempotencyKeys = options.idempotencyKeys ?? true;
  const retries = options.retries ?? 3;
  const retryBaseMs = options.retryBaseMs ?? 250;
  const retryMaxMs = options.retryMaxMs ?? 30_000;
  const timeoutMs = options.timeoutMs ?? 0;
  for (const [name, value] of Object.entries({ retries, retryBaseMs, retryMaxMs, timeoutMs })) {
    if (!(Number.isSafeInteger(value) && value >= 0))
      throw new TypeError(`${name} must be a non-negative integer`);
  }
  if (new Headers(options.headers).has('idempotency-key'))
    throw new TypeError('headers must not hold Idempotency-Key: each batch gets its own');
  const send: FetchFunction = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  let maxBatchSize: Promise<number> | undefined =
    options.maxBatchSize === undefined ? undefined : Promise.resolve(options.maxBatchSize);
  if (
    options.maxBatchSize !== undefined &&
    !(Number.isInteger(options.maxBatchSize) && options.maxBatchSize > 0)
  ) {
    throw new TypeError('maxBatchSize must be a positive integer');
  }

  const limit = (): Promise<number> => {
    maxBatchSize ??= readMaxRequests(send, options.serviceInfo, endpoint);
    return maxBatchSize;
  };

  let pending: Call[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;

  const flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const calls = pending;
    pending = [];
    if (calls.length > 0) void dispatch(calls);
  };

  const dispatch = async (calls: Call[]) => {
    await Promise.all(calls.map((call) => call.ready));
    const live = calls.filter((call) => !call.settled);
    const size = await limit();
    for (let i = 0; i < live.length; i += size) void sendBatch(live.slice(i, i + size));
  };

  /**
   * Sends one batch and answers its calls: again, with the same `Idempotency-Key`, when its
   * answer was lost (SPEC §6); then, on their own, the calls answered `429`/`503` with
   * `Retry-After` that are safe to repeat.
   */
  const sendBatch = async (calls: Call[], async = false) => {
    // Indexes answered by any attempt: a replay answers them again, and is not heard twice.
    const answered = new Set<number>();
    const later: Array<{ call: Call; part: DecodedSubResponse; waitMs: number }> = [];
    const answer: Answer = (index, part) => {
      if (answered.has(index)) return;
      answered.add(index);
      const call = calls[index]!;
      const waitMs = retryItemAfter(call, part);
      if (waitMs === undefined) call.resolve(toResponse(part, call.request.url));
      else later.push({ call, part, waitMs });
    };
    try {
      const encoded = encodeBatchRequest(
        format,
        calls.map((call) => call.init!),
      );
      const headers = new Headers(options.headers);
      headers.set('content-type', encoded.contentType);
      // SPEC §6: JSON batches ask for JSON Lines, so that each call resolves as its item
      // finishes; a server that does not speak it answers plain JSON (still accepted).
      if (format === 'json' && !headers.has('accept')) headers.set('accept', JSON_ACCEPT);
      if (options.minimal === true) headers.append('prefer', 'return=minimal');
      // SPEC §8: a batch that holds a write carries a fresh key, the same on every resend.
      const writes = calls.some((call) => !isSafeMethod(call.init!.method ?? 'GET'));
      if (writes && idempotencyKeys) headers.set('idempotency-key', newIdempotencyKey());
      if (async) headers.append('prefer', 'respond-async');
      const monitor = {
        send,
        headers: monitorHeaders(headers),
        retries,
        retryBaseMs,
        retryMaxMs,
        abandoned: () => calls.every((call, index) => call.settled || answered.has(index)),
      };
      for (let attempt = 0; ; attempt++) {
        let retryAfterMs: number | undefined;
        try {
          let response = await post(headers, encoded.body);
          if (LOST_ANSWER_STATUSES.has(response.status)) {
            retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
            throw await statusError(response);
          }
          if (async && response.status === 202) {
            const done = await awaitMonitor(response, endpoint, monitor);
            if (done === undefined) return;
            response = done;
          }
          await readAnswer(calls, response, answer);
          break;
        } catch (error) {
          const lost =
            error instanceof BatchFetchError &&
            (error.reason === 'network' ||
              (error.reason === 'status' && LOST_ANSWER_STATUSES.has(error.status ?? 0)));
          // Only a batch that is safe to send again is: it has a key, or nothing but reads.
          const resendable = !writes || headers.has('idempotency-key');
          if (!lost || !resendable || attempt >= retries || monitor.abandoned()) throw error;
          await sleep(backoffDelay(attempt, retryBaseMs, retryMaxMs, retryAfterMs));
        }
      }
    } catch (error) {
      // Calls already answered (JSON Lines) keep their answer; those held for a retry get
      // the answer they had; the rest fail.
      for (const { call, part } of later.splice(0))
        call.resolve(toResponse(part, call.request.url));
      for (const call of calls) call.reject(error);
    }
    if (later.length === 0) return;
    await sleep(Math.max(...later.map(({ waitMs }) => waitMs)));
    const again = later.map(({ call }) => call).filter((call) => !call.settled);
    for (const call of again) call.retried++;
    if (again.length > 0) void sendBatch(again, async);
  };

  /** How long to wait before sending a call again on its own, or `undefined` to answer it now. */
  const retryItemAfter = (call: Call, part: DecodedSubResponse): number | undefined => {
    if (!RETRY_LATER_STATUSES.has(part.status) || call.retried >= retries) return undefined;
    // Safe to repeat: a safe method, or the call's own key for the app to honour.
    if (!isSafeMethod(call.init!.method ?? 'GET') && !call.request.headers.has('idempotency-key'))
      return undefined;
    const retryAfter = part.headers.find(([name]) => name.toLowerCase() === 'retry-after')?.[1];
    const waitMs = parseRetryAfter(retryAfter);
    return waitMs !== undefined && waitMs <= retryMaxMs ? waitMs : undefined;
  };

  const post = async (headers: Headers, body: Uint8Array): Promise<Response> => {
    try {
      return await send(endpoint, {
        method: 'POST',
        headers,
        body: body as Uint8Array<ArrayBuffer>,
        ...(timeoutMs > 0 ? { signal: AbortSignal.timeout(timeoutMs) } : {}),
      });
    } catch (error) {
      throw new BatchFetchError('network', `batch request to ${endpoint.href} failed`, {
        cause: error,
      });
    }
  };

  /** Reads a batch answer (a `2xx`), answering each call as its part is decoded. */
  const readAnswer = async (calls: Call[], response: Response, answer: Answer) => {
    if (!response.ok) throw await statusError(response);
    const contentType = response.headers.get('content-type');
    if (isJsonLinesMediaType(contentType) && response.body !== null) {
      await resolveLines(calls, response, answer);
      return;
    }
    let body: Uint8Array;
    try {
      body = new Uint8Array(await response.arrayBuffer());
    } catch (error) {
      throw new BatchFetchError('network', 'the batch answer was cut off', {
        cause: error,
        status: response.status,
      });
    }
    let parts: DecodedSubResponse[];
    try {
      parts = await decodeBatchResponse({ contentType, body });
    } catch (error) {
      throw unparseable(error, response.status);
    }
    if (parts.length !== calls.length) throw mismatch(parts.length, calls.length, response.status);
    parts.forEach((part, index) => {
      answer(index, part);
    });
  };

  /** JSON Lines: each call resolves the moment its line arrives, whatever the order. */
  const resolveLines = async (calls: Call[], response: Response, answer: Answer) => {
    const seen = new Set<number>();
    try {
      for await (const part of decodeJsonLines(readStream(response.body!))) {
        const index = part.index!;
        if (index >= calls.length || seen.has(index)) {
          throw new BatchFetchError(
            'mismatch',
            `the batch answered item ${index} twice or unasked`,
            {
              status: response.status,
            },
          );
        }
        seen.add(index);
        answer(index, part);
      }
    } catch (error) {
      throw error instanceof BatchFetchError ? error : unparseable(error, response.status);
    }
    if (seen.size !== calls.length) throw mismatch(seen.size, calls.length, response.status);
  };

  /** A call, gathered in `pending` (or in `into`: an asynchronous batch of its own). */
  const enqueue = (request: Request, into?: Call[]): Promise<Response> => {
    let resolve!: (response: Response) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<Response>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const call: Call = {
      request,
      init: undefined,
      ready: Promise.resolve(),
      settled: false,
      retried: 0,
      resolve: (response) => {
        if (call.settled) return;
        call.settled = true;
        resolve(response);
      },
      reject: (error) => {
        if (call.settled) return;
        call.settled = true;
        reject(error);
      },
    };
    const { signal } = request;
    if (signal.aborted) {
      call.reject(abortError(signal));
      return promise;
    }
    signal.addEventListener(
      'abort',
      () => {
        pending = pending.filter((other) => other !== call);
        call.reject(abortError(signal));
      },
      { once: true },
    );
    call.ready = toInit(request).then(
      (init) => {
        call.init = init;
      },
      (error: unknown) => call.reject(error),
    );
    if (into !== undefined) {
      into.push(call);
      return promise;
    }
    pending.push(call);
    if (timer === undefined) timer = setTimeout(flush, windowMs);
    return promise;
  };

  const route = (input: RequestInfo | URL, init?: RequestInit, into?: Call[]) => {
    // The URL first: a Request whose body goes elsewhere must reach `fetch` unread.
    const url = input instanceof Request ? new URL(input.url) : new URL(input, base ?? endpoint);
    if (!isBatchable(url)) return send(input, init);
    return enqueue(new Request(input instanceof Request ? input : url, init), into);
  };
  const batchFetch = ((input: RequestInfo | URL, init?: RequestInit) =>
    route(input, init)) as BatchFetch;

  /** Same origin, not the batch route, and under its base (the server resolves targets against it). */
  const isBatchable = (url: URL): boolean =>
    url.origin === endpoint.origin &&
    url.pathname !== endpoint.pathname &&
    (batchBase === '/' || url.pathname === batchBase || url.pathname.startsWith(`${batchBase}/`));

  batchFetch.flush = flush;
  batchFetch.batch = (requests, sendOptions = {}) => {
    const into: Call[] | undefined = sendOptions.async === true ? [] : undefined;
    const promises = requests.map((entry) =>
      Array.isArray(entry) ? route(entry[0], entry[1], into) : route(entry, undefined, into),
    );
    if (into === undefined) flush();
    else void sendAsync(into);
    return Promise.all(promises).then((responses) =>
      Object.assign(responses, {
        failed: responses.flatMap((response, index) => (response.status >= 400 ? [index] : [])),
      }),
    );
  };

  /** An asynchronous batch (SPEC §9): these calls alone, in one batch. */
  const sendAsync = async (calls: Call[]) => {
    await Promise.all(calls.map((call) => call.ready));
    const live = calls.filter((call) => !call.settled);
    if (live.length > 0) await sendBatch(live, true);
  };
  return batchFetch;
}

/** A request as the batch codec takes it: method, origin-form target, headers, body bytes. */
async function toInit(request: Request): Promise<SubRequestInit> {
  const url = new URL(request.url);
  const headers: HeaderList = [];
  request.headers.forEach((value, name) => {
    headers.push([name, value]);
  });
  // What `fetch` sends when the caller names no Accept; without it the call would inherit
  // the batch request's own (`application/jsonl, …`) on the server.
  if (!request.headers.has('accept')) headers.push(['accept', '*/*']);
  const body = request.body === null ? null : new Uint8Array(await request.arrayBuffer());
  return { method: request.method, target: url.pathname + url.search, headers, body };
}

/** `batch.maxRequests` from the service info document, or 100 when it cannot be read. */
async function readMaxRequests(
  send: FetchFunction,
  serviceInfo: string | URL | false | undefined,
  endpoint: URL,
): Promise<number> {
  if (serviceInfo === false) return DEFAULT_MAX_REQUESTS;
  try {
    const response = await send(new URL(serviceInfo ?? '/', endpoint), {
      headers: { accept: 'application/json' },
    });
    if (!response.ok) return DEFAULT_MAX_REQUESTS;
    const info = (await response.json()) as { batch?: { maxRequests?: unknown } };
    const value = info.batch?.maxRequests;
    return typeof value === 'number' && Number.isInteger(value) && value > 0
      ? value
      : DEFAULT_MAX_REQUESTS;
  } catch {
    return DEFAULT_MAX_REQUESTS;
  }
}
