import type { BatchRequestInfo } from './createBatchHandler.js';
import type { AtomicityGroupInfo, BatchItemInfo } from './engine/itemInfo.js';
import type { RecordStore } from './engine/records/RecordStore.js';
import type { InheritHeadersPolicy } from './http/headerPolicy.js';
import type {
  BatchFormat,
  BatchLimits,
  HeaderList,
  SubRequest,
  SubResponse,
} from './model/types.js';

export type { AtomicityGroupInfo, BatchItemInfo };

/** What `BatchOptions.aroundItem` is told about the item it wraps. */
export interface AroundItemInfo {
  /** The sub-request about to be dispatched: its target resolved, its headers final. */
  request: SubRequest;
  /** Its 0-based position in the batch. */
  index: number;
  /** The batch request it belongs to. */
  batch: BatchRequestInfo;
}

/**
 * The options every batch endpoint takes, whatever the framework. Each field is resolved
 * on its own: giving one never resets the others' defaults.
 */
export interface BatchOptions extends BatchLimits {
  /**
   * Most sub-requests running at once (SPEC §4 "Scheduling"). Consecutive reads (`GET`,
   * `HEAD`, `OPTIONS`) run together up to this many; any other method waits for everything
   * before it and holds everything after it, so every item still sees the effects of the
   * items before it. `1` runs every item strictly one after another. Memory: at most
   * `2 × concurrency` answers are held at once (running ones, and finished ones waiting
   * for a slower one before them to be written in request order). The default lets 50
   * reads that each wait on I/O take about as long as 50 HTTP/2 streams (apps/bench
   * `versus`); lower it when answers are large.
   * @default 50
   */
  concurrency?: number;
  /**
   * `'reads'`: only consecutive safe-method items run together; writes are barriers.
   * `'all'`: any items run together (writes too), ordered only by `dependsOn` — for APIs
   * whose writes are independent of each other (Microsoft Graph's semantics).
   * @default 'reads'
   */
  parallel?: 'reads' | 'all';
  /**
   * `'continue'`: every item runs whatever happens to the others. `'stop'`: after the
   * first failure (status >= 400, or a throw) the items not yet started answer `424`
   * without running; items then run one after another, so that none starts before an
   * earlier failure is known.
   * @default 'continue'
   */
  onError?: 'continue' | 'stop';
  /**
   * Milliseconds one item may take; past it the item answers `504` and its signal is
   * aborted.
   * @default undefined (no per-item timeout)
   */
  timeoutMs?: number;
  /**
   * Milliseconds the whole batch may take; past it running items are aborted and they
   * and the items not yet started answer `504`.
   * @default undefined (no deadline)
   */
  deadlineMs?: number;
  /**
   * Which headers of the batch request each sub-request inherits (SPEC §4): `'default'`
   * (all but hop-by-hop, `Host`, `Content-*`, `Expect`, `Transfer-Encoding`), `'none'`, a
   * list of names, or a predicate on lower-case names.
   * @default 'default'
   */
  inheritHeaders?: InheritHeadersPolicy;
  /**
   * The wire formats the endpoint accepts; others get `415`.
   * @default ['multipart', 'json']
   */
  formats?: readonly BatchFormat[];
  /**
   * JSON format: read a string `body` whose item's Content-Type is neither JSON nor text
   * (`application/octet-stream`, `image/png`, …) as base64 even without `"bodyEncoding":
   * "base64"` — the Microsoft Graph convention, which its SDK follows for binary bodies.
   * A string that is not base64 (standard or URL-safe alphabet) is then a `400`. Off by
   * default: SPEC §3 sends such a string as its UTF-8 bytes.
   * @default false
   */
  base64StringBodies?: boolean;
  /** Called once per item when it is answered: method, path, status, duration. */
  onItem?: (info: BatchItemInfo) => void;
  /**
   * Wraps each item's dispatch (SPEC §4 "Observability"): `run` dispatches the item into the
   * app; call it once and return (or await) what it returns. A tracer opens a span around it
   * and calls `run` inside that span's context, so the framework's own instrumentation nests
   * under it (`batchTracing()` from `@batch/otel`). Not called for items answered without
   * running (`424`, replayed answers). A hook that throws makes the item answer `500`.
   *
   * ```ts
   * aroundItem: async ({ request }, run) => {
   *   const answer = await run();
   *   log(request.method, request.target, answer.status);
   *   return answer;
   * }
   * ```
   * @default undefined (items are dispatched as they are)
   */
  aroundItem?: (item: AroundItemInfo, run: () => Promise<SubResponse>) => Promise<SubResponse>;
  /**
   * The batch route's path, for the nesting guard and for resolving targets. Adapters
   * fill it from the route they are mounted on.
   * @default the path the batch request was sent to
   */
  batchPath?: string;
  /**
   * The base every target is resolved against (SPEC §4 "Targets"); `'/'` turns
   * prefixing off.
   * @default the batch route's path up to its last segment (`/v1` for `/v1/batch`)
   */
  basePath?: string;
  /**
   * A batch refused before its body was read to the end (`413`, `431`, `400`, `415`, …)
   * must not break the client's next request on the same keep-alive connection (SPEC §4).
   * When the unread rest has a known length (`Content-Length`) of at most this many bytes,
   * it is read and dropped and the connection is kept; a larger rest, or one of unknown
   * length (chunked), is answered with `Connection: close`. It also bounds what is read
   * and dropped while such a connection closes.
   * @default 1048576 (1 MiB)
   */
  maxDiscardBytes?: number;
  /**
   * Runs an atomicity group (a multipart change set, or JSON items sharing an
   * `atomicityGroup`) inside the application's own database transaction (SPEC §4). The
   * engine calls it once per group with `run`, which runs the group's items in order and
   * rejects when one fails (status >= 400, or a throw): let that rejection through your
   * transaction helper, so that it rolls back; when `run` resolves, commit. The data layer
   * must see the transaction inside every sub-request `run` dispatches — with
   * `AsyncLocalStorage`, for example, which the in-process dispatch carries along.
   *
   * ```ts
   * transaction: (run) => db.transaction(run) // rolls back when run() rejects
   * ```
   *
   * Without it a group still runs in order and stops at its first failure, but what already
   * ran stays done.
   * @default undefined (no transaction)
   */
  transaction?: (run: () => Promise<void>, group: AtomicityGroupInfo) => Promise<void>;
  /**
   * Most milliseconds spent reading and dropping the rest of a refused body; past it the
   * connection is closed, so that a client that keeps sending cannot hold it.
   * @default 5000
   */
  discardTimeoutMs?: number;
  /**
   * Whether items that start together enter the app one per task (SPEC §4 "Rate limits"):
   * middleware written for requests that arrive from sockets one event at a time — a rate
   * limiter that increments a counter and reads it after an `await` — then never sees two
   * sub-requests enter in the same task, as no socket would deliver them (with `false`, 30
   * reads under a limit of 20 can all read the 30th count and all answer `429`). Items still
   * run concurrently and start in the same turn of the event loop. Cost: one `setImmediate`
   * per item that starts alongside another (≈0.4 µs per item in the engine bench, ~1 µs in
   * a server), and answers that are ready in separate tasks go to the encoder separately.
   * `false` starts them together, for apps with no such middleware.
   * @default true
   */
  spreadStarts?: boolean;
  /**
   * Safe retries (SPEC §8): a batch that carries `Idempotency-Key` is recorded — every answer
   * as it is written — and a resend with the same key is replayed instead of run again
   * (`409` while it still runs, `422` for another batch under the key). On by default, with
   * a bounded in-memory store of its own; `false` turns it off (the key is then ignored, and
   * still never passed on to sub-requests).
   * @default {} (on, in memory)
   */
  idempotency?: false | IdempotencyOptions;
  /**
   * Most items in an asynchronous batch (`Prefer: respond-async`, SPEC §9), checked while
   * the batch is read as `maxRequests` is for the others: massive operations (imports) may
   * need more items than a synchronous batch allows. `0` refuses every asynchronous batch
   * that holds an item. Async batches are recorded in `idempotency.store` (with its lease
   * and retention), or in a memory store of their own when `idempotency` is `false`.
   * @default 10000
   */
  maxAsyncRequests?: number;
}

/** How keyed batches are recorded and replayed (SPEC §8). Each field defaults on its own. */
export interface IdempotencyOptions {
  /**
   * Where records live. Several instances of an API share one (`@batch/redis`); one process
   * may keep them in memory.
   * @default createMemoryRecordStore() — 10,000 records, 64 MiB, oldest evicted
   */
  store?: RecordStore;
  /**
   * Milliseconds a finished batch's record is kept: a resend within it is replayed, after
   * it the key is new again.
   * @default 86400000 (24 h)
   */
  retentionMs?: number;
  /**
   * Milliseconds a running batch's lease lasts; it is renewed every third of it while the
   * batch runs. When the server running it dies, a resend after the lease lapsed takes the
   * batch over.
   * @default 30000
   */
  leaseMs?: number;
  /**
   * Most bytes one batch may record (answers, bodies included). Past it, the answers that do
   * not fit are recorded as a `507` problem: the client got them, a replay says they were
   * not kept — never a silently shortened replay.
   * @default 16777216 (16 MiB)
   */
  maxRecordBytes?: number;
  /**
   * Makes the key mandatory for a batch holding an unsafe method: without one, `400`.
   * @default false
   */
  required?: boolean;
  /**
   * The caller a key belongs to, as a string (hashed before it is stored): two callers using
   * one key never see each other's batches. `undefined` falls back to the default.
   * @default the batch request's Authorization and Cookie values
   */
  scope?: (headers: HeaderList) => string | undefined;
}
