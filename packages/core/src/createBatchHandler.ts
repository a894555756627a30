import {
  type AsyncAnswer,
  acceptAsync,
  answerMonitor,
  monitorOf,
  type ResolvedAsync,
  resolveAsync,
} from './asyncBatches.js';
import { executeBatchRuns, type PlannedItem } from './engine/executeBatch.js';
import { isBatchRoute, planBatch } from './engine/planBatch.js';
import type { BatchRecord } from './engine/records/RecordStore.js';
import { RecordedBatch } from './engine/records/recordedBatch.js';
import { referencedTarget } from './engine/references.js';
import { EMPTY_BYTES, utf8 } from './http/bytes.js';
import { type AbortSource, ClientAbort } from './http/clientAbort.js';
import { acceptsJsonLines } from './http/contentType.js';
import { getHeader } from './http/headerNames.js';
import { compileInheritPolicy } from './http/headerPolicy.js';
import { dropBodyIfMinimal } from './http/minimalAnswer.js';
import { readBatchPreferences } from './http/preferences.js';
import { settleBody } from './http/readAhead.js';
import type { BodyInput } from './http/readBody.js';
import {
  baseOfBatchPath,
  comparablePath,
  pathOfTarget,
  resolveTarget,
} from './http/resolveTarget.js';
import {
  type DiscardLimits,
  planUnreadBody,
  trackBody,
  type UnreadBody,
} from './http/unreadBody.js';
import { BatchError, PROBLEM_CONTENT_TYPE } from './model/BatchError.js';
import { resolveLimits } from './model/limits.js';
import type {
  BatchFormat,
  DecodedBatch,
  HeaderList,
  ResolvedBatchLimits,
  SubRequest,
  SubResponse,
} from './model/types.js';
import { isODataBatch } from './multipart/isODataBatch.js';
import type { BatchItemInfo, BatchOptions } from './options.js';
import {
  claimKeyedBatch,
  idempotencyKeyOf,
  type ResolvedIdempotency,
  resolveIdempotency,
} from './safeRetries.js';
import { decodeBatchRequest } from './wire/decodeBatchRequest.js';
import { encodeResponseRuns } from './wire/encodeBatchResponse.js';

/** What a dispatcher learns besides the sub-request itself. */
export interface DispatchContext {
  /**
   * Aborted when the item times out, the batch deadline passes or the client goes away.
   * Made when first read (an accessor: read it from the context, not from a spread copy):
   * a dispatcher that never reads it costs no `AbortController`.
   */
  readonly signal: AbortSignal;
  /**
   * What aborts `signal`, for a dispatcher that only needs to be told (`aborted`, `reason`,
   * `addEventListener('abort', …)`): it costs no `AbortController`. Listen to one or the
   * other; `signal` may be a different object.
   */
  readonly aborts: AbortSource;
  /** 0-based position of the item in the batch. */
  index: number;
  /** The batch request the item came in. */
  batch: BatchRequestInfo;
  /**
   * The batch asked for `Prefer: return=minimal` (SPEC §7): an answer with a status below
   * 400 is sent without its body, so the dispatcher need not read one (a stream may be
   * cancelled, and whatever body is returned is dropped unread).
   */
  returnMinimal: boolean;
}

/** The outer batch request, as the dispatcher may need it (its body already read). */
export interface BatchRequestInfo {
  method: string;
  /** The path (and query) the batch was sent to. */
  path: string;
  headers: HeaderList;
  format: BatchFormat;
  /** What the adapter passed as `BatchInput.native` (its framework's request or context). */
  native: unknown;
}

/**
 * Runs one sub-request through the application and answers it, in plain values. The
 * request's `target` is resolved (origin form) and its headers are final (inherited
 * headers added, `Host` the batch's). The only thing an adapter must provide.
 */
export type Dispatcher = (request: SubRequest, context: DispatchContext) => Promise<SubResponse>;

/** Options of `createBatchHandler`: the shared `BatchOptions` and the dispatcher. */
export interface BatchHandlerOptions extends BatchOptions {
  dispatch: Dispatcher;
}

/** The outer request as plain values, from any server. */
export interface BatchInput {
  method: string;
  /** The path (and query) the batch request was sent to. */
  path: string;
  headers: HeaderList;
  /** The body, whole or as a stream of chunks; it is read as it arrives. */
  body: BodyInput;
  /**
   * Aborted when the client goes away: no new item starts, running ones are aborted. An
   * `AbortSignal`, or (cheaper, for adapters) a `ClientAbort`.
   */
  signal?: AbortSource | undefined;
  /** Anything the adapter's dispatcher needs from the outer request; passed on as `context.batch.native`. */
  native?: unknown;
}

/** The answer, ready for any server: the body streams as the items finish. */
export interface BatchOutput {
  status: number;
  headers: HeaderList;
  body: AsyncIterable<Uint8Array>;
  /**
   * Set when the batch was refused before its request body was read to the end: what the
   * server must do with the rest so that the connection survives (SPEC §4). With
   * `action: 'close'` the headers already carry `Connection: close`. `fetch()` does it
   * itself; `@batch/node` does it for Node servers.
   */
  unreadBody?: UnreadBody;
}

/** What `BatchHandler.fetch` takes besides the request. */
export interface BatchFetchInit {
  /** Passed to the dispatcher as `context.batch.native`. */
  native?: unknown;
  /**
   * The batch request's body, read instead of `request.body`: what a validator already
   * read, or the server's own cheaper stream of it. With it, a refused batch's unread rest
   * is `onUnreadBody`'s to read and drop.
   */
  body?: BodyInput | undefined;
  /** The batch request's headers as they came (Content-Length included), instead of `request.headers`. */
  headers?: HeaderList | undefined;
  /** Aborts the batch when the client goes away, instead of `request.signal` (see `BatchInput.signal`). */
  signal?: AbortSource | undefined;
  /**
   * With `body`: called when the batch was refused before its body was read to the end,
   * with what to do with the rest (SPEC §4 "The connection survives a refusal").
   */
  onUnreadBody?: ((plan: UnreadBody) => void) | undefined;
}

export interface BatchHandler {
  /** Answers a batch request given as plain values. Never throws: every failure is an answer. */
  handle(input: BatchInput): Promise<BatchOutput>;
  /**
   * Answers a WHATWG `Request`: mounts a batch endpoint on any fetch-native server.
   * `init.native` is passed to the dispatcher as `context.batch.native`; `init.body`
   * replaces the request's body when something (a validator) already read it.
   */
  fetch(request: Request, init?: BatchFetchInit): Promise<Response>;
  /**
   * Resolves when no asynchronous batch (`Prefer: respond-async`, SPEC §9) runs on this
   * handler any more — those accepted meanwhile included. A graceful stop awaits it (up to
   * its grace period) after the server stopped accepting requests.
   */
  idle(): Promise<void>;
  /** How many asynchronous batches run on this handler now. */
  readonly runningAsync: number;
}

/** The handler's options, every field resolved once, at creation. */
interface ResolvedOptions {
  dispatch: Dispatcher;
  concurrency: number;
  parallel: 'reads' | 'all';
  stopOnError: boolean;
  timeoutMs: number | undefined;
  deadlineMs: number | undefined;
  inherits: (lowerName: string) => boolean;
  onItem: ((info: BatchItemInfo) => void) | undefined;
  aroundItem: BatchOptions['aroundItem'];
  limits: ResolvedBatchLimits;
  discard: DiscardLimits;
  formats: BatchOptions['formats'];
  batchPath: string | undefined;
  basePath: string | undefined;
  base64StringBodies: boolean | undefined;
  transaction: BatchOptions['transaction'];
  idempotency: ResolvedIdempotency | undefined;
  spreadStarts: boolean;
  async: ResolvedAsync;
  /** `limits` with `maxRequests` from `maxAsyncRequests`: what an async batch is read under. */
  asyncLimits: ResolvedBatchLimits;
}

function positive(name: string, value: number | undefined): number | undefined {
  if (value !== undefined && !(value > 0)) throw new TypeError(`${name} must be a positive number`);
  return value;
}

/** Items running at once by default: see `BatchOptions.concurrency`. */
export const DEFAULT_CONCURRENCY = 50;

const DEFAULT_MAX_DISCARD_BYTES = 1024 * 1024;
const DEFAULT_DISCARD_TIMEOUT_MS = 5000;

function discardLimits(options: BatchOptions): DiscardLimits {
  const maxDiscardBytes = options.maxDiscardBytes ?? DEFAULT_MAX_DISCARD_BYTES;
  if (!Number.isInteger(maxDiscardBytes) || maxDiscardBytes < 0) {
    throw new TypeError('maxDiscardBytes must be a non-negative integer');
  }
  return {
    maxDiscardBytes,
    discardTimeoutMs:
      positive('discardTimeoutMs', options.discardTimeoutMs) ?? DEFAULT_DISCARD_TIMEOUT_MS,
  };
}

/** Every option checked and defaulted field by field: a bad one fails at creation, not at the first request. */
function resolveHandlerOptions(options: BatchHandlerOptions): ResolvedOptions {
  const { dispatch } = options;
  if (typeof dispatch !== 'function')
    throw new TypeError('createBatchHandler needs a dispatch function');
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new TypeError('concurrency must be a positive integer');
  }
  const parallel = options.parallel ?? 'reads';
  if (parallel !== 'reads' && parallel !== 'all') {
    throw new TypeError("parallel must be 'reads' or 'all'");
  }
  const limits = resolveLimits(options);
  const idempotency = resolveIdempotency(options);
  const asyncBatches = resolveAsync(idempotency, options.maxAsyncRequests);
  return {
    dispatch,
    concurrency,
    parallel,
    stopOnError: (options.onError ?? 'continue') === 'stop',
    timeoutMs: positive('timeoutMs', options.timeoutMs),
    deadlineMs: positive('deadlineMs', options.deadlineMs),
    inherits: compileInheritPolicy(options.inheritHeaders),
    onItem: options.onItem,
    aroundItem: options.aroundItem,
    limits,
    discard: discardLimits(options),
    formats: options.formats,
    batchPath: options.batchPath,
    basePath: options.basePath,
    base64StringBodies: options.base64StringBodies,
    transaction: options.transaction,
    idempotency,
    spreadStarts: options.spreadStarts !== false,
    async: asyncBatches,
    asyncLimits: { ...limits, maxRequests: asyncBatches.maxRequests },
  };
}

/**
 * Creates a batch endpoint from a dispatcher (SPEC §4, §5): validates the whole batch
 * before anything runs, resolves targets, applies header inheritance, runs the items in
 * order (or `concurrency` at once), honours `dependsOn`, `onError`, timeouts, the
 * deadline and client disconnects, and streams the answers in request order.
 */
export function createBatchHandler(options: BatchHandlerOptions): BatchHandler {
  const resolved = resolveHandlerOptions(options);
  /** `hasBody`: the request has a body whatever its headers say (see `planUnreadBody`). */
  const handle = (input: BatchInput, hasBody = false) => answerBatch(resolved, input, hasBody);
  const running = resolved.async.running;
  return {
    handle: (input) => handle(input),
    fetch: (request, init = {}) => answerFetchRequest(handle, request, init),
    idle: () => running.idle(),
    get runningAsync() {
      return running.size;
    },
  };
}

/** The batch, decoded and planned: everything checked, nothing run yet. */
interface PlannedBatch {
  format: BatchFormat;
  items: PlannedItem[];
  /** The batch route (for the nesting guard and OData detection). */
  batchPath: string;
  /** What targets resolve against. */
  base: string;
  host: string | undefined;
  /** The batch as decoded (its items' own headers, before inheritance): its fingerprint. */
  decoded: DecodedBatch;
}

/** Answers one batch: decode and plan, then run and encode; any refusal becomes a problem answer. */
async function answerBatch(
  options: ResolvedOptions,
  input: BatchInput,
  hasBody: boolean,
): Promise<BatchOutput> {
  const body = trackBody(input.body);
  try {
    const monitor = monitorOf(input.method, input.path, options.batchPath);
    if (monitor !== undefined)
      return await answerMonitor(options.async, input.method, input.headers, monitor);
    if (input.method.toUpperCase() !== 'POST') {
      throw new BatchError(
        'method_not_allowed',
        `${input.method} is not allowed on a batch route; use POST`,
      );
    }
    const respondAsync = readBatchPreferences(input.headers).respondAsync;
    const planned = await decodeAndPlan(options, input, body.body, respondAsync);
    const key = idempotencyKeyOf(options.idempotency, input.headers, planned.items);
    // SPEC §9: answered at once with a monitor; the batch runs in the background, recorded.
    if (respondAsync) return await acceptAsyncBatch(options, input, planned, key);
    if (key === undefined) return runAndEncode(options, input, planned);
    // SPEC §8: a keyed batch is recorded as it runs, or replayed.
    const claimed = await claimKeyedBatch(
      options.idempotency!,
      input.headers,
      key,
      planned.decoded,
    );
    if ('replay' in claimed) return replayRecord(input, planned, claimed.replay);
    return runAndEncode(options, input, planned, claimed);
  } catch (error) {
    const output = errorOutput(error);
    const unreadBody = planUnreadBody(input.headers, body, options.discard, hasBody);
    if (unreadBody !== undefined) {
      output.unreadBody = unreadBody;
      if (unreadBody.action === 'close') output.headers.push(['connection', 'close']);
    }
    return output;
  }
}

/** Reads the batch request (limits enforced while it arrives) and plans it (SPEC §4 "Validate everything first"). */
async function decodeAndPlan(
  options: ResolvedOptions,
  input: BatchInput,
  body: BodyInput,
  respondAsync: boolean,
): Promise<PlannedBatch> {
  const batchPath = options.batchPath ?? pathOfTarget(input.path);
  const host = getHeader(input.headers, 'host');
  const decoded = await decodeBatchRequest(
    {
      contentType: getHeader(input.headers, 'content-type'),
      body,
      host,
      formats: options.formats,
      base64StringBodies: options.base64StringBodies,
    },
    respondAsync ? options.asyncLimits : options.limits,
  );
  const base =
    options.basePath === undefined ? baseOfBatchPath(batchPath) : normaliseBase(options.basePath);
  const items = planBatch(decoded, {
    batchPath,
    base,
    outerHeaders: input.headers,
    inherits: options.inherits,
  });
  return { format: decoded.format, items, batchPath, base, host, decoded };
}

/** How the answer is written, chosen from the batch request (SPEC §2, §3). */
interface AnswerShape {
  /** JSON Lines: answers in completion order (SPEC §3). */
  jsonLines: boolean;
  /** An OData batch echoes each Content-ID unchanged (SPEC §2). */
  echoContentId: boolean;
  /** `Prefer: return=minimal` (SPEC §7): answers < 400 without their bodies. */
  minimal: boolean;
}

function chooseAnswerShape(input: BatchInput, planned: PlannedBatch): AnswerShape {
  return {
    minimal: readBatchPreferences(input.headers).returnMinimal,
    jsonLines: planned.format === 'json' && acceptsJsonLines(getHeader(input.headers, 'accept')),
    echoContentId: planned.format === 'multipart' && isODataBatch(planned.batchPath, input.headers),
  };
}

/** Runs the planned items through the dispatcher and encodes their answers as they come. */
function runAndEncode(
  options: ResolvedOptions,
  input: BatchInput,
  planned: PlannedBatch,
  recorded?: { run: RecordedBatch; taken?: BatchRecord },
): BatchOutput {
  const shape = chooseAnswerShape(input, planned);
  const runs = startRuns(options, input, planned, {
    minimal: shape.minimal,
    order: shape.jsonLines ? 'completion' : 'request',
    // SPEC §4 "Cancellation": a keyed batch runs to its end, so that the retry finds every answer.
    signal: recorded === undefined ? input.signal : undefined,
    recorded,
  });
  const encoded = encodeResponseRuns(
    planned.format,
    recorded === undefined ? runs : recorded.run.record(runs),
    shape,
  );
  const headers: HeaderList = [['content-type', encoded.contentType]];
  if (shape.minimal) headers.push(['preference-applied', 'return=minimal']);
  return { status: 200, headers, body: encoded.body };
}

/** How `startRuns` runs a batch. */
interface RunChoices {
  minimal: boolean;
  order: 'request' | 'completion';
  signal: AbortSource | undefined;
  recorded: { run: RecordedBatch; taken?: BatchRecord } | undefined;
}

/** The engine's runs of the planned items through the dispatcher (not yet recorded). */
function startRuns(
  options: ResolvedOptions,
  input: BatchInput,
  planned: PlannedBatch,
  choices: RunChoices,
): AsyncGenerator<SubResponse[]> {
  const batch: BatchRequestInfo = {
    method: input.method,
    path: input.path,
    headers: input.headers,
    format: planned.format,
    native: input.native,
  };
  const { dispatch, aroundItem } = options;
  const { recorded, minimal: returnMinimal } = choices;
  // One object literal, its fields always in this order: the engine reads it for every item.
  return executeBatchRuns(planned.items, {
    concurrency: options.concurrency,
    parallel: options.parallel,
    stopOnError: options.stopOnError,
    timeoutMs: options.timeoutMs,
    deadlineMs: options.deadlineMs,
    onItem: options.onItem,
    transaction: options.transaction,
    spreadStarts: options.spreadStarts,
    collapseFailedGroups: planned.format === 'multipart',
    resolveReference: (location, referenced, rest) =>
      resolveReference(planned, location, referenced, rest),
    order: choices.order,
    // A body the answer drops is let go (a stream cancelled) as soon as the item answers.
    run: returnMinimal
      ? async (request, index, signal, aborts) =>
          dropBodyIfMinimal(
            await dispatch(request, new ItemContext(signal, aborts, index, batch, true)),
          )
      : (request, index, signal, aborts) =>
          dispatch(request, new ItemContext(signal, aborts, index, batch, false)),
    signal: choices.signal,
    known:
      recorded?.taken === undefined
        ? undefined
        : RecordedBatch.known(recorded.taken, planned.items),
    beforeDispatch: recorded?.run.beforeDispatch,
    recordIndexes: recorded !== undefined,
    aroundItem:
      aroundItem === undefined
        ? undefined
        : (request, index, run) => aroundItem({ request, index, batch }, run),
  });
}

/**
 * A `respond-async` batch (SPEC §9): `202` and its monitor, the batch run in the background
 * under a signal of its own (the client may go away), each answer recorded as it finishes.
 */
function acceptAsyncBatch(
  options: ResolvedOptions,
  input: BatchInput,
  planned: PlannedBatch,
  key: string | undefined,
): Promise<AsyncAnswer> {
  const shape = chooseAnswerShape(input, planned);
  const monitorBase = `${(options.batchPath ?? pathOfTarget(input.path)).replace(/\/+$/, '')}/jobs/`;
  return acceptAsync(options.async, input.headers, key, {
    decoded: planned.decoded,
    total: planned.items.length,
    location: (monitor) => monitorBase + monitor,
    info: { format: planned.format, echoContentId: shape.echoContentId, minimal: shape.minimal },
    run: (recorded, signal) =>
      recorded.run.record(
        startRuns(options, input, planned, {
          minimal: shape.minimal,
          order: 'completion',
          signal,
          recorded,
        }),
      ),
    synchronous: (claimed) =>
      'replay' in claimed
        ? replayRecord(input, planned, claimed.replay)
        : runAndEncode(options, input, planned, claimed),
  });
}

/** A finished keyed batch's answer again (SPEC §8), in the format and order this request asks. */
function replayRecord(input: BatchInput, planned: PlannedBatch, record: BatchRecord): BatchOutput {
  const shape = chooseAnswerShape(input, planned);
  const answers = RecordedBatch.replay(record, shape.jsonLines);
  const encoded = encodeResponseRuns(planned.format, oneRun(answers), shape);
  const headers: HeaderList = [
    ['content-type', encoded.contentType],
    ['idempotent-replayed', 'true'],
  ];
  if (shape.minimal) headers.push(['preference-applied', 'return=minimal']);
  return { status: 200, headers, body: encoded.body };
}

async function* oneRun(answers: SubResponse[]): AsyncGenerator<SubResponse[]> {
  if (answers.length > 0) yield answers;
}

/**
 * An item's `DispatchContext`, its signal made when first read. A class (an object literal
 * with a getter is made by the runtime's slow path, per item): `signal` is on the prototype,
 * so read it from the context itself — a spread copy has `index`, `batch`, `returnMinimal`.
 */
class ItemContext implements DispatchContext {
  readonly #signal: () => AbortSignal;
  readonly aborts: AbortSource;
  readonly index: number;
  readonly batch: BatchRequestInfo;
  readonly returnMinimal: boolean;

  constructor(
    signal: () => AbortSignal,
    aborts: AbortSource,
    index: number,
    batch: BatchRequestInfo,
    returnMinimal: boolean,
  ) {
    this.#signal = signal;
    this.aborts = aborts;
    this.index = index;
    this.batch = batch;
    this.returnMinimal = returnMinimal;
  }

  get signal(): AbortSignal {
    return this.#signal();
  }
}

/**
 * The target a `$<id>` reference stands for (SPEC §4 "References"): the referenced item's
 * `Location` resolved against its own target, on the batch's origin and not the batch route.
 */
function resolveReference(
  { base, batchPath, host }: PlannedBatch,
  location: string,
  referenced: string,
  rest: string,
): { target: string; path: string } | { error: string } {
  const target = referencedTarget(location, referenced, rest, host ?? 'localhost');
  if (target === undefined)
    return { error: 'the Location of the request it refers to is on another origin' };
  const resolvedTarget = resolveTarget(target, base);
  const path = pathOfTarget(resolvedTarget);
  return isBatchRoute(path, comparablePath(batchPath))
    ? { error: 'the reference leads to the batch route' }
    : { target: resolvedTarget, path };
}

/** The outer request's headers as plain values, with a `Host` (from the URL when it has none). */
function headersOf(request: Request, init: BatchFetchInit, url: URL): HeaderList {
  let headers = init.headers;
  if (headers === undefined) {
    const list: HeaderList = [];
    request.headers.forEach((value, name) => {
      list.push([name, value]);
    });
    headers = list;
  }
  if (getHeader(headers, 'host') === undefined) headers = [...headers, ['host', url.host]];
  return headers;
}

/** Answers a WHATWG `Request` through `handle` (see `BatchHandler.fetch`). */
async function answerFetchRequest(
  handle: (input: BatchInput, hasBody: boolean) => Promise<BatchOutput>,
  request: Request,
  init: BatchFetchInit,
): Promise<Response> {
  const url = new URL(request.url);
  // Aborted when the client goes away or stops reading (cancels the response body).
  const cancel = new ClientAbort();
  const forget = cancel.follow(init.signal ?? request.signal);
  // `init.body` (and `init.headers`) spare a server whose `Request` is made lazily from
  // reading `request.body`; a fetch `Request` hides Content-Length, so its body counts.
  const stream = init.body === undefined ? request.body : null;
  const output = await handle(
    {
      method: request.method,
      path: url.pathname + url.search,
      headers: headersOf(request, init, url),
      body: init.body ?? (stream === null ? EMPTY_BYTES : streamChunks(stream)),
      signal: cancel,
      native: init.native,
    },
    init.headers === undefined && stream !== null,
  );
  if (output.unreadBody !== undefined) {
    if (init.body !== undefined) init.onUnreadBody?.(output.unreadBody);
    else if (stream !== null) discardRest(stream, output.unreadBody);
  }
  const settled = await settleBody(output.headers, output.body);
  if ('whole' in settled) {
    // One buffer with its length, which a server writes with its head.
    forget();
    // A `204` (a cancelled monitor) has no body at all.
    const whole = output.status === 204 ? null : (settled.whole as Uint8Array<ArrayBuffer>);
    return new Response(whole, {
      status: output.status,
      headers: settled.headers,
    });
  }
  const body = toReadableStream(settled.first, settled.rest, () => {
    forget();
    cancel.abort();
  });
  return new Response(body, { status: output.status, headers: settled.headers });
}

/** `/api/` → `/api`; `/` stays. */
function normaliseBase(base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  if (trimmed === '') return '/';
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

function errorOutput(error: unknown): BatchOutput {
  const batchError = error instanceof BatchError ? error : null;
  const problem = batchError?.toProblem() ?? {
    type: 'urn:batch:problem:internal-error',
    title: 'Internal Server Error',
    status: 500,
    detail: 'the batch could not be processed',
    errors: [],
  };
  const body = utf8(JSON.stringify(problem));
  const headers: HeaderList = [
    ['content-type', PROBLEM_CONTENT_TYPE],
    ['content-length', String(body.length)],
  ];
  if (batchError?.code === 'method_not_allowed') headers.push(['allow', 'POST']);
  if (batchError?.retryAfterSeconds !== undefined)
    headers.push(['retry-after', String(batchError.retryAfterSeconds)]);
  return { status: problem.status, headers, body: once(body) };
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** Reads a `ReadableStream` as an async iterable (with a reader: not every runtime iterates streams). */
async function* streamChunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/**
 * Reads and drops the rest of a refused request body in the background, within the plan's
 * bounds; past them the body is cancelled (the runtime then closes the connection).
 */
function discardRest(stream: ReadableStream<Uint8Array>, plan: UnreadBody): void {
  if (stream.locked) return;
  const reader = stream.getReader();
  const stop = () => {
    reader.cancel().catch(() => {});
  };
  const timer = setTimeout(stop, plan.timeoutMs);
  // Node: the timer must not keep a process alive (number elsewhere).
  (timer as unknown as { unref?: () => void }).unref?.();
  let dropped = 0;
  const drain = async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      dropped += value.byteLength;
      if (dropped > plan.maxBytes) return stop();
    }
  };
  drain()
    .catch(() => {})
    .finally(() => clearTimeout(timer));
}

/** A pull-based `ReadableStream` over an async iterable: the iterable runs only as fast as it is read. */
function toReadableStream(
  first: readonly Uint8Array[],
  body: AsyncIterable<Uint8Array>,
  onCancel: () => void,
): ReadableStream<Uint8Array> {
  const iterator = body[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of first) controller.enqueue(chunk);
    },
    async pull(controller) {
      const { done, value } = await iterator.next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel() {
      // First abort what runs: an async generator cannot be returned while it awaits.
      onCancel();
      await iterator.return?.();
    },
  });
}
