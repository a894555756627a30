import { concatBytes } from '../../http/bytes.js';
import { IDEMPOTENT_METHODS, SAFE_METHODS } from '../../http/methods.js';
import { problemResponse } from '../../http/problems.js';
import { BatchError } from '../../model/BatchError.js';
import type { SubRequest, SubResponse, SubResponseBody } from '../../model/types.js';
import { indexOfAnswer } from '../outcomes.js';
import type { PlannedItem } from '../planBatch.js';
import { decodeRecordedAnswer, encodeRecordedAnswer } from './answerCodec.js';
import type { BatchRecord, ClaimResult, LeaseStatus, RecordStore } from './RecordStore.js';
import { RecordTooLarge } from './RecordTooLarge.js';

/** How keyed batches are recorded (SPEC §8), every field resolved. */
export interface RecordingPolicy {
  store: RecordStore;
  leaseMs: number;
  retentionMs: number;
  maxRecordBytes: number;
}

/** Seconds a client is told to wait when the store cannot be reached. */
const STORE_RETRY_AFTER_SECONDS = 2;

/** `409`: the same batch runs elsewhere. */
export function inProgress(retryAfterMs: number): BatchError {
  return new BatchError(
    'batch_in_progress',
    'a batch with this Idempotency-Key is still running; ask again later',
  ).retryAfter(retryAfterMs / 1000);
}

/** `422`: another batch is recorded under the key. */
export function keyReused(): BatchError {
  return new BatchError(
    'idempotency_key_reused',
    'this Idempotency-Key was used for another batch; nothing ran',
  );
}

function unavailable(): BatchError {
  return new BatchError(
    'record_store_unavailable',
    'the batch records cannot be reached; nothing ran — send the batch again',
  ).retryAfter(STORE_RETRY_AFTER_SECONDS);
}

/** Whether an item may run again when its first run's outcome is unknown (SPEC §8 "Crashes"). */
function repeatable(request: SubRequest): boolean {
  if (IDEMPOTENT_METHODS.has(request.method)) return true;
  return request.headers.some(([name]) => name.toLowerCase() === 'idempotency-key');
}

/**
 * One keyed batch's record (SPEC §8): claimed under its caller-scoped key before anything
 * runs, its lease renewed while it runs, each write's start and every answer appended as it
 * is written, finished at the end — or replayed when it was already answered.
 */
export class RecordedBatch {
  readonly #policy: RecordingPolicy;
  readonly #key: string;
  readonly #owner: string;
  #renewal: ReturnType<typeof setInterval> | undefined;
  /** Called once when the store says the batch was cancelled or taken over. */
  #onStop: (() => void) | undefined;
  #stopped = false;

  private constructor(policy: RecordingPolicy, key: string, owner: string) {
    this.#policy = policy;
    this.#key = key;
    this.#owner = owner;
  }

  /**
   * Claims `key`: a `RecordedBatch` to run (new, or taken over after a lapsed lease, with the
   * answers it already has), the record to replay, or the `BatchError` to answer (`409` while
   * it runs elsewhere, `422` for another batch under the key, `503` without a store).
   */
  static async claim(
    policy: RecordingPolicy,
    key: string,
    fingerprint: string,
    total: number,
  ): Promise<{ run: RecordedBatch; taken?: BatchRecord } | { replay: BatchRecord }> {
    const { claim, owner } = await RecordedBatch.claimRecord(policy, key, fingerprint, total, '');
    switch (claim.outcome) {
      case 'new':
        return { run: RecordedBatch.owned(policy, key, owner) };
      case 'takeover':
        return { run: RecordedBatch.owned(policy, key, owner), taken: claim.record };
      case 'finished':
        return { replay: claim.record };
      case 'running':
        throw inProgress(claim.retryAfterMs);
      default:
        throw keyReused();
    }
  }

  /**
   * Claims `key` with `info` kept in the record and says what the store answered, with the
   * owner token a `new` or `takeover` outcome runs under (see `owned`); `503` without a store.
   */
  static async claimRecord(
    policy: RecordingPolicy,
    key: string,
    fingerprint: string,
    total: number,
    info: string,
  ): Promise<{ claim: ClaimResult; owner: string }> {
    const owner = randomId();
    try {
      const claim = await policy.store.claim(key, {
        fingerprint,
        owner,
        leaseMs: policy.leaseMs,
        retentionMs: policy.retentionMs,
        total,
        info,
        maxBytes: policy.maxRecordBytes,
      });
      return { claim, owner };
    } catch {
      throw unavailable();
    }
  }

  /** The run of a record `owner` won (`claimRecord`'s `new` or `takeover`). */
  static owned(policy: RecordingPolicy, key: string, owner: string): RecordedBatch {
    return new RecordedBatch(policy, key, owner);
  }

  /**
   * Calls `listener` once when the store says the batch was cancelled (`DELETE` on its
   * monitor, from any instance) or taken over: what runs should stop.
   */
  whenStopped(listener: () => void): void {
    this.#onStop = listener;
  }

  #status(status: LeaseStatus): void {
    if (status === 'ok' || this.#stopped) return;
    this.#stopped = true;
    this.#onStop?.();
  }

  /**
   * The answers a taken-over batch already has (replayed, never run again), and a `500`
   * problem for every write that started and was never answered (its outcome is unknown)
   * unless it may run again (SPEC §8 "Crashes").
   */
  static known(record: BatchRecord, items: PlannedItem[]): Map<number, SubResponse> {
    const known = new Map<number, SubResponse>();
    for (const [index, data] of record.answers) known.set(index, decodeRecordedAnswer(data));
    for (const index of record.started) {
      const item = items[index];
      if (item === undefined || known.has(index) || repeatable(item.request)) continue;
      known.set(
        index,
        problemResponse(
          500,
          'outcome-unknown',
          'this request started before the server running the batch stopped, and its outcome is unknown; it was not run again',
        ),
      );
    }
    return known;
  }

  /** Recorded answers in item order, as the encoders take them (`index` for JSON Lines). */
  static replay(record: BatchRecord, completionOrder: boolean): SubResponse[] {
    const answers: SubResponse[] = [];
    for (const [index, data] of [...record.answers].sort(([a], [b]) => a - b)) {
      const answer = decodeRecordedAnswer(data);
      if (completionOrder) answer.index = index;
      answers.push(answer);
    }
    return answers;
  }

  /**
   * A batch whose instance stopped before it finished (its lease lapsed), as its monitor
   * answers it (SPEC §9): the recorded answers, and a problem for every other item — `500`
   * when it started (its outcome is unknown), `503` when it never started.
   */
  static interrupted(record: BatchRecord, completionOrder: boolean): SubResponse[] {
    const started = new Set(record.started);
    const answers: SubResponse[] = [];
    for (let index = 0; index < record.total; index++) {
      const data = record.answers.get(index);
      const answer =
        data !== undefined
          ? decodeRecordedAnswer(data)
          : started.has(index)
            ? problemResponse(
                500,
                'outcome-unknown',
                'this request started before the server running the batch stopped, and its outcome is unknown',
              )
            : problemResponse(
                503,
                'not-run',
                'not run: the server running the batch stopped before this request started',
              );
      if (completionOrder) answer.index = index;
      answers.push(answer);
    }
    return answers;
  }

  /** Records that a write starts; rejects (the item does not run) when it cannot be. */
  readonly beforeDispatch = async (request: SubRequest, index: number): Promise<void> => {
    if (SAFE_METHODS.has(request.method)) return;
    const status = await this.#policy.store.started(this.#key, this.#owner, [index]);
    this.#status(status);
    if (status !== 'ok') throw new Error(`the record is ${status}`);
  };

  /**
   * The engine's runs, each recorded before it goes on; the record finished at the end. A
   * consumer that stops early (the client went away) does not stop the batch: it runs to
   * its end and is recorded, so that the retry finds every answer (SPEC §8).
   */
  record(runs: AsyncGenerator<SubResponse[]>): AsyncIterable<SubResponse[]> {
    const recorded = this.#recorded(runs);
    return {
      [Symbol.asyncIterator]: () => ({
        next: () => recorded.next(),
        return: async () => {
          void drain(recorded);
          return { done: true, value: undefined };
        },
      }),
    };
  }

  async *#recorded(runs: AsyncGenerator<SubResponse[]>): AsyncGenerator<SubResponse[]> {
    const { store, leaseMs } = this.#policy;
    this.#renewal = setInterval(
      () => {
        store
          .renew(this.#key, this.#owner, leaseMs)
          .then((status) => this.#status(status))
          .catch(() => {});
      },
      Math.max(1, Math.floor(leaseMs / 3)),
    );
    try {
      for await (const run of runs) {
        const whole = await Promise.all(run.map(wholeBody));
        await this.#append(whole);
        yield whole;
      }
      await store.finish(this.#key, this.#owner, this.#policy.retentionMs).catch(() => {});
    } finally {
      clearInterval(this.#renewal);
    }
  }

  /** Appends a run's answers; a record past its bound keeps a problem in their place. */
  async #append(run: SubResponse[]): Promise<void> {
    const entries = run.map((answer) => ({
      index: indexOfAnswer.get(answer) ?? -1,
      data: encodeRecordedAnswer(answer, answer.body as Uint8Array),
    }));
    const store = this.#policy.store;
    try {
      await store.append(
        this.#key,
        this.#owner,
        entries.filter(({ index }) => index >= 0),
      );
    } catch (error) {
      if (!(error instanceof RecordTooLarge)) return; // unreachable store: answered, not recorded
      const tooLarge = problemResponse(
        507,
        'record-too-large',
        'this answer was not recorded: the batch record is full; it is not replayed',
      );
      const replacement = entries.map(({ index }) => ({
        index,
        data: encodeRecordedAnswer(tooLarge, tooLarge.body as Uint8Array),
      }));
      await store.append(this.#key, this.#owner, replacement).catch(() => {});
    }
  }
}

/** The answer with its body read whole (a recorded answer keeps its bytes). */
async function wholeBody(answer: SubResponse): Promise<SubResponse> {
  const body: SubResponseBody = answer.body;
  if (body instanceof Uint8Array) return answer;
  let bytes: Uint8Array = new Uint8Array(0);
  if (body !== null) {
    const chunks: Uint8Array[] = [];
    let length = 0;
    for await (const chunk of body) {
      chunks.push(chunk);
      length += chunk.length;
    }
    bytes = concatBytes(chunks, length);
  }
  const copy = { ...answer, body: bytes };
  const index = indexOfAnswer.get(answer);
  if (index !== undefined) indexOfAnswer.set(copy, index);
  return copy;
}

async function drain(iterator: AsyncGenerator<SubResponse[]>): Promise<void> {
  try {
    for (;;) if ((await iterator.next()).done) return;
  } catch {
    // The batch ends as it can; what was recorded stays.
  }
}

/** 128 random bits, hex: an owner token or a monitor id (unguessable). */
export function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return hex;
}
