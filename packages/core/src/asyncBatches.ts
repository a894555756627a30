import { fingerprintOf } from './engine/records/fingerprint.js';
import type { BatchRecord, RecordStore } from './engine/records/RecordStore.js';
import {
  inProgress,
  keyReused,
  RecordedBatch,
  type RecordingPolicy,
  randomId,
} from './engine/records/recordedBatch.js';
import { utf8 } from './http/bytes.js';
import { acceptsJsonLines } from './http/contentType.js';
import { getHeader } from './http/headerNames.js';
import { BatchError } from './model/BatchError.js';
import type { BatchFormat, DecodedBatch, HeaderList, SubResponse } from './model/types.js';
import { callerScope, type ResolvedIdempotency, resolveRecordingPolicy } from './safeRetries.js';
import { encodeResponseRuns } from './wire/encodeBatchResponse.js';

/** Asynchronous batches as a handler runs them (SPEC §9), every option resolved. */
export interface ResolvedAsync {
  policy: RecordingPolicy;
  scope: ((headers: HeaderList) => string | undefined) | undefined;
  maxRequests: number;
  /** The batches this handler runs in the background, by monitor id. */
  running: RunningBatches;
}

/** Seconds a client is told to wait between two polls of a monitor. */
const POLL_SECONDS = 1;

export const DEFAULT_MAX_ASYNC_REQUESTS = 10_000;

/**
 * `BatchOptions.maxAsyncRequests` and where async batches are recorded: the safe retries'
 * store and policy (one store serves both), or a memory store of their own when those are off.
 */
export function resolveAsync(
  idempotency: ResolvedIdempotency | undefined,
  maxAsyncRequests: number | undefined,
): ResolvedAsync {
  const maxRequests = maxAsyncRequests ?? DEFAULT_MAX_ASYNC_REQUESTS;
  if (!Number.isSafeInteger(maxRequests) || maxRequests < 0)
    throw new TypeError('maxAsyncRequests must be a non-negative integer');
  return {
    policy: idempotency?.policy ?? resolveRecordingPolicy({}),
    scope: idempotency?.scope,
    maxRequests,
    running: new RunningBatches(),
  };
}

/** What an async batch's answer needs, kept in its record's `info` (never credentials). */
export interface AsyncInfo {
  /** The monitor id (`<batch route>/jobs/<id>`). */
  monitor: string;
  format: BatchFormat;
  /** An OData batch: each Content-ID echoed (SPEC §2). */
  echoContentId: boolean;
  /** `Prefer: return=minimal` (SPEC §7). */
  minimal: boolean;
}

function encodeInfo(info: AsyncInfo): string {
  return JSON.stringify({ async: 1, ...info });
}

/** The async info of a record, or `undefined` for a synchronous keyed batch's record. */
function parseInfo(info: string): AsyncInfo | undefined {
  if (!info.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(info) as Partial<AsyncInfo> & { async?: number };
    if (parsed.async !== 1 || typeof parsed.monitor !== 'string') return undefined;
    return {
      monitor: parsed.monitor,
      format: parsed.format === 'multipart' ? 'multipart' : 'json',
      echoContentId: parsed.echoContentId === true,
      minimal: parsed.minimal === true,
    };
  } catch {
    return undefined;
  }
}

/**
 * The async batches running on this instance, by monitor id: a `DELETE` on one of their
 * monitors aborts them at once, and a graceful stop waits for them (`idle`).
 */
export class RunningBatches {
  readonly #running = new Map<string, { controller: AbortController; done: Promise<void> }>();

  /** Runs `run` in the background under `controller` until it settles. */
  track(monitor: string, controller: AbortController, run: Promise<void>): void {
    const done = run.catch(() => {}).finally(() => this.#running.delete(monitor));
    this.#running.set(monitor, { controller, done });
  }

  /** Aborts the batch of `monitor` if it runs here. */
  cancel(monitor: string): void {
    this.#running.get(monitor)?.controller.abort();
  }

  get size(): number {
    return this.#running.size;
  }

  /** Resolves when no async batch runs here (those started meanwhile included). */
  async idle(): Promise<void> {
    while (this.#running.size > 0)
      await Promise.all([...this.#running.values()].map(({ done }) => done));
  }
}

/** What `acceptAsync` needs from the handler: how to run a recorded batch, how to answer at once. */
export interface AsyncHooks {
  decoded: DecodedBatch;
  total: number;
  /** The `Location` of a monitor. */
  location: (monitor: string) => string;
  /** What the answer needs (format, Content-ID echo, `return=minimal`); `monitor` is filled in. */
  info: Omit<AsyncInfo, 'monitor'>;
  /** Runs the batch, recorded, under `signal` (not the client's): the engine's runs. */
  run: (
    recorded: { run: RecordedBatch; taken?: BatchRecord },
    signal: AbortSignal,
  ) => AsyncIterable<SubResponse[]>;
  /** A synchronous keyed batch under the same key: answered as §8 does (replay or takeover). */
  synchronous: (claimed: { run: RecordedBatch; taken?: BatchRecord } | { replay: BatchRecord }) => {
    status: number;
    headers: HeaderList;
    body: AsyncIterable<Uint8Array>;
  };
}

/** An answer of the async layer: status, headers, a whole body. */
export interface AsyncAnswer {
  status: number;
  headers: HeaderList;
  body: AsyncIterable<Uint8Array>;
}

/**
 * Accepts a batch that asked `Prefer: respond-async` (SPEC §9), already decoded and planned:
 * claims its record (under its `Idempotency-Key`, or a key of its own), links its monitor,
 * starts it in the background and answers `202` with the monitor's `Location`. A resent
 * keyed async batch gets the same monitor (taking it over after a crash).
 */
export async function acceptAsync(
  options: ResolvedAsync,
  headers: HeaderList,
  key: string | undefined,
  hooks: AsyncHooks,
): Promise<AsyncAnswer> {
  const { policy } = options;
  const [scope, fingerprint] = await Promise.all([
    callerScope(options.scope, headers),
    fingerprintOf(hooks.decoded),
  ]);
  const fresh = randomId();
  const recordKey = key === undefined ? `${scope}:async:${fresh}` : `${scope}:${key}`;
  const info = encodeInfo({ monitor: fresh, ...hooks.info });
  const { claim, owner } = await RecordedBatch.claimRecord(
    policy,
    recordKey,
    fingerprint,
    hooks.total,
    info,
  );
  switch (claim.outcome) {
    case 'mismatch':
      throw keyReused();
    case 'running': {
      const existing = parseInfo(claim.info);
      if (existing === undefined) throw inProgress(claim.retryAfterMs);
      const done = (await readOrUnavailable(policy.store, recordKey))?.answers.size ?? 0;
      return accepted(hooks.location(existing.monitor), 'running', hooks.total, done);
    }
    case 'finished': {
      const existing = parseInfo(claim.record.info);
      if (existing === undefined) return hooks.synchronous({ replay: claim.record });
      return accepted(hooks.location(existing.monitor), 'finished', hooks.total, hooks.total);
    }
    default: {
      const run = RecordedBatch.owned(policy, recordKey, owner);
      const taken = claim.outcome === 'takeover' ? claim.record : undefined;
      const monitor = taken === undefined ? fresh : parseInfo(taken.info)?.monitor;
      // A synchronous keyed batch taken over: it stays synchronous (its record has no monitor).
      if (monitor === undefined) return hooks.synchronous({ run, taken: taken! });
      try {
        await policy.store.link(monitor, recordKey, policy.leaseMs + policy.retentionMs);
      } catch {
        await policy.store.remove(recordKey).catch(() => {});
        throw unavailable();
      }
      start(options, monitor, recordKey, run, taken, hooks);
      const done = taken?.answers.size ?? 0;
      return accepted(hooks.location(monitor), 'running', hooks.total, done);
    }
  }
}

/** Runs the batch in the background, recorded; its monitor linked for the retention at its end. */
function start(
  options: ResolvedAsync,
  monitor: string,
  recordKey: string,
  run: RecordedBatch,
  taken: BatchRecord | undefined,
  hooks: AsyncHooks,
): void {
  const controller = new AbortController();
  // Cancelled from another instance (`store.cancel`), or taken over: stop here too.
  run.whenStopped(() => controller.abort());
  const runs = hooks.run(taken === undefined ? { run } : { run, taken }, controller.signal);
  const { store, retentionMs } = options.policy;
  const background = async () => {
    for await (const _ of runs) {
      // Each run is recorded as it is written; nobody reads the answer now.
    }
    await store.link(monitor, recordKey, retentionMs).catch(() => {});
  };
  options.running.track(monitor, controller, background());
}

function accepted(location: string, status: string, total: number, done: number): AsyncAnswer {
  const answer = progress(202, status, total, done);
  answer.headers.push(['preference-applied', 'respond-async'], ['location', location]);
  return answer;
}

function progress(code: number, status: string, total: number, done: number): AsyncAnswer {
  const body = utf8(JSON.stringify({ status, total, done }));
  return {
    status: code,
    headers: [
      ['content-type', 'application/json'],
      ['content-length', String(body.length)],
      ['retry-after', String(POLL_SECONDS)],
    ],
    body: once(body),
  };
}

function unavailable(): BatchError {
  return new BatchError(
    'record_store_unavailable',
    'the batch records cannot be reached; ask again later',
  ).retryAfter(2);
}

function notFound(): BatchError {
  return new BatchError(
    'batch_not_found',
    'no such batch: it never existed, was cancelled or expired',
  );
}

async function readOrUnavailable(
  store: RecordStore,
  key: string,
): Promise<BatchRecord | undefined> {
  try {
    return await store.read(key);
  } catch {
    throw unavailable();
  }
}

/** `GET|DELETE <batch route>/jobs/<id>`: the monitor id, or `undefined` for another request. */
export function monitorOf(
  method: string,
  path: string,
  batchPath: string | undefined,
): string | undefined {
  const upper = method.toUpperCase();
  if (upper !== 'GET' && upper !== 'DELETE') return undefined;
  const query = path.indexOf('?');
  const bare = query === -1 ? path : path.slice(0, query);
  const match = /^(.*)\/jobs\/([^/]+)\/?$/.exec(bare);
  if (match === null) return undefined;
  if (batchPath !== undefined && trimSlash(match[1]!) !== trimSlash(batchPath)) return undefined;
  return match[2];
}

/**
 * Whether a request for `path` (its query ignored) belongs to the batch route `route`: the
 * route itself, or one of its monitors (`<route>/jobs/<id>`, SPEC §9). For servers that
 * route by hand: `onBatchRoute(url.pathname, '/batch') ? batch(request) : app(request)`.
 */
export function onBatchRoute(path: string, route: string): boolean {
  const query = path.indexOf('?');
  const bare = trimSlash(query === -1 ? path : path.slice(0, query));
  const base = trimSlash(route);
  if (bare === base) return true;
  const rest = bare.startsWith(`${base}/jobs/`) ? bare.slice(base.length + 6) : '';
  return rest !== '' && !rest.includes('/');
}

function trimSlash(path: string): string {
  return path.replace(/\/+$/, '');
}

/**
 * Answers a monitor (SPEC §9): `GET` — `202` with progress while the batch runs, `200` with
 * its answer once finished (or, its instance gone, with what was recorded and a problem for
 * the rest); `DELETE` — cancels it, `204`. `404` for another caller, as for no batch at all.
 */
export async function answerMonitor(
  options: ResolvedAsync,
  method: string,
  headers: HeaderList,
  monitor: string,
): Promise<AsyncAnswer> {
  const { store } = options.policy;
  let recordKey: string | undefined;
  try {
    recordKey = await store.resolve(monitor);
  } catch {
    throw unavailable();
  }
  if (recordKey === undefined) throw notFound();
  const scope = await callerScope(options.scope, headers);
  if (!recordKey.startsWith(`${scope}:`)) throw notFound();
  const record = await readOrUnavailable(store, recordKey);
  const info = record === undefined ? undefined : parseInfo(record.info);
  if (record === undefined || record.state === 'cancelled' || info?.monitor !== monitor)
    throw notFound();
  if (method.toUpperCase() === 'DELETE') {
    options.running.cancel(monitor);
    await store.cancel(recordKey).catch(() => {
      throw unavailable();
    });
    return { status: 204, headers: [], body: empty() };
  }
  if (record.state === 'running' && !record.leaseLapsed)
    return progress(202, 'running', record.total, record.answers.size);
  const jsonLines = info.format === 'json' && acceptsJsonLines(getHeader(headers, 'accept'));
  const answers =
    record.state === 'finished'
      ? RecordedBatch.replay(record, jsonLines)
      : RecordedBatch.interrupted(record, jsonLines);
  const encoded = encodeResponseRuns(info.format, oneRun(answers), {
    jsonLines,
    echoContentId: info.echoContentId,
    minimal: info.minimal,
  });
  const answerHeaders: HeaderList = [['content-type', encoded.contentType]];
  if (info.minimal) answerHeaders.push(['preference-applied', 'return=minimal']);
  return { status: 200, headers: answerHeaders, body: encoded.body };
}

async function* oneRun(answers: SubResponse[]): AsyncGenerator<SubResponse[]> {
  if (answers.length > 0) yield answers;
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

async function* empty(): AsyncGenerator<Uint8Array> {}
