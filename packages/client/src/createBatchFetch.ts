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
import { BatchFetchError } from './BatchFetchError.js';

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
}

/** What `batch()` resolves with: the answers in order, and the positions of those that failed. */
export type BatchResponses = Response[] & {
  /** 0-based positions, ascending, of the answers with a status ≥ 400 (SPEC §3 "failed"). */
  failed: number[];
};

/** A batching `fetch`: same signature, plus the explicit `batch()` form. */
export interface BatchFetch extends FetchFunction {
  /** Sends these requests as batches now, answers in order (with the failed positions). */
  batch(
    requests: ReadonlyArray<Request | [RequestInfo | URL, RequestInit?]>,
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
}

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
      const { done, value } = await reader.read();
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

  const sendBatch = async (calls: Call[]) => {
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
      let response: Response;
      try {
        response = await send(endpoint, {
          method: 'POST',
          headers,
          body: encoded.body as Uint8Array<ArrayBuffer>,
        });
      } catch (error) {
        throw new BatchFetchError('network', `batch request to ${endpoint.href} failed`, {
          cause: error,
        });
      }
      if (!response.ok) {
        const text = new TextDecoder().decode(
          new Uint8Array(await response.arrayBuffer()).subarray(0, 2048),
        );
        throw new BatchFetchError('status', `batch request answered ${response.status}: ${text}`, {
          status: response.status,
          cause: text,
        });
      }
      const contentType = response.headers.get('content-type');
      if (isJsonLinesMediaType(contentType) && response.body !== null) {
        await resolveLines(calls, response);
        return;
      }
      let parts: DecodedSubResponse[];
      try {
        parts = await decodeBatchResponse({
          contentType,
          body: new Uint8Array(await response.arrayBuffer()),
        });
      } catch (error) {
        throw unparseable(error, response.status);
      }
      if (parts.length !== calls.length)
        throw mismatch(parts.length, calls.length, response.status);
      calls.forEach((call, index) => {
        call.resolve(toResponse(parts[index]!, call.request.url));
      });
    } catch (error) {
      // Calls already answered (JSON Lines) keep their answer; the rest fail.
      for (const call of calls) call.reject(error);
    }
  };

  /** JSON Lines: each call resolves the moment its line arrives, whatever the order. */
  const resolveLines = async (calls: Call[], response: Response) => {
    const answered = new Set<number>();
    try {
      for await (const part of decodeJsonLines(readStream(response.body!))) {
        const index = part.index!;
        if (index >= calls.length || answered.has(index)) {
          throw new BatchFetchError(
            'mismatch',
            `the batch answered item ${index} twice or unasked`,
            {
              status: response.status,
            },
          );
        }
        answered.add(index);
        calls[index]!.resolve(toResponse(part, calls[index]!.request.url));
      }
    } catch (error) {
      throw error instanceof BatchFetchError ? error : unparseable(error, response.status);
    }
    if (answered.size !== calls.length)
      throw mismatch(answered.size, calls.length, response.status);
  };

  const enqueue = (request: Request): Promise<Response> => {
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
    pending.push(call);
    if (timer === undefined) timer = setTimeout(flush, windowMs);
    return promise;
  };

  const batchFetch = ((input: RequestInfo | URL, init?: RequestInit) => {
    // The URL first: a Request whose body goes elsewhere must reach `fetch` unread.
    const url = input instanceof Request ? new URL(input.url) : new URL(input, base ?? endpoint);
    if (!isBatchable(url)) return send(input, init);
    return enqueue(new Request(input instanceof Request ? input : url, init));
  }) as BatchFetch;

  /** Same origin, not the batch route, and under its base (the server resolves targets against it). */
  const isBatchable = (url: URL): boolean =>
    url.origin === endpoint.origin &&
    url.pathname !== endpoint.pathname &&
    (batchBase === '/' || url.pathname === batchBase || url.pathname.startsWith(`${batchBase}/`));

  batchFetch.flush = flush;
  batchFetch.batch = (requests) => {
    const promises = requests.map((entry) =>
      Array.isArray(entry) ? batchFetch(entry[0], entry[1]) : batchFetch(entry),
    );
    flush();
    return Promise.all(promises).then((responses) =>
      Object.assign(responses, {
        failed: responses.flatMap((response, index) => (response.status >= 400 ? [index] : [])),
      }),
    );
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
