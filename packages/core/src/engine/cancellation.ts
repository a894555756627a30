import { problemResponse } from '../http/problems.js';
import type { SubResponse } from '../model/types.js';

/** The reason an item's signal aborts when its own `timeoutMs` passes. */
export class ItemTimedOut extends Error {}
/** The reason the batch's signal aborts when `deadlineMs` passes. */
export class DeadlineExceeded extends Error {}

/**
 * SPEC §4 "Cancellation", per-item timeouts and the batch deadline, in one place: the
 * batch's signal (aborted when the client goes away, the deadline passes, or the consumer
 * stops reading), one listener on it fanned out to the running items, and each item's own
 * signal when it has a timeout.
 */
export class Cancellation {
  readonly #batch = new AbortController();
  readonly #client: AbortSignal | undefined;
  readonly #deadline: ReturnType<typeof setTimeout> | undefined;
  readonly #onAbort = new Set<() => void>();
  readonly #timeoutMs: number | undefined;
  /** Whether an item's dispatch must be raced against an abort at all. */
  readonly abortable: boolean;

  constructor(
    client: AbortSignal | undefined,
    deadlineMs: number | undefined,
    timeoutMs: number | undefined,
  ) {
    this.#client = client;
    this.#timeoutMs = timeoutMs;
    // One listener on the batch signal fans the abort out to the running items: a listener
    // per item would pass EventTarget's listener warning threshold at 11 running items.
    this.#batch.signal.addEventListener(
      'abort',
      () => {
        for (const callback of [...this.#onAbort]) callback();
      },
      { once: true },
    );
    client?.addEventListener('abort', this.stop, { once: true });
    if (client?.aborted) this.stop();
    this.#deadline =
      deadlineMs === undefined
        ? undefined
        : setTimeout(() => this.#batch.abort(new DeadlineExceeded()), deadlineMs);
    this.abortable = client !== undefined || deadlineMs !== undefined || timeoutMs !== undefined;
  }

  get signal(): AbortSignal {
    return this.#batch.signal;
  }

  get aborted(): boolean {
    return this.#batch.signal.aborted;
  }

  /** Aborts the batch with the client's reason (or none). */
  readonly stop = (): void => {
    this.#batch.abort(this.#client?.reason);
  };

  /** Calls `callback` when the batch aborts; returns how to forget it. */
  readonly whenAborted = (callback: () => void): (() => void) => {
    if (this.#batch.signal.aborted) {
      callback();
      return () => {};
    }
    this.#onAbort.add(callback);
    return () => this.#onAbort.delete(callback);
  };

  /**
   * The signal one item runs under: the batch's, or with `timeoutMs` one of its own that
   * also aborts with the batch. `release` forgets the timer and the subscription.
   */
  itemSignal(): { signal: AbortSignal; release: (() => void) | undefined } {
    if (this.#timeoutMs === undefined) return { signal: this.#batch.signal, release: undefined };
    const controller = new AbortController();
    const forget = this.whenAborted(() => controller.abort(this.#batch.signal.reason));
    const timer = setTimeout(() => controller.abort(new ItemTimedOut()), this.#timeoutMs);
    return {
      signal: controller.signal,
      release: () => {
        clearTimeout(timer);
        forget();
      },
    };
  }

  /** The dispatch's answer, or the answer of an aborted item as soon as `signal` aborts. */
  settle(dispatched: Promise<SubResponse>, signal: AbortSignal): Promise<SubResponse> {
    if (!this.abortable) return dispatched;
    return untilAborted(
      dispatched,
      signal,
      this.#timeoutMs,
      signal === this.#batch.signal ? this.whenAborted : undefined,
    );
  }

  /** The answer of an item that cannot start because the batch was aborted. */
  abortedResponse(): SubResponse {
    return abortedResponse(this.#batch.signal.reason);
  }

  /** The batch is over: stop what still runs when `unfinished`, forget timers and listeners. */
  close(unfinished: boolean): void {
    if (unfinished) this.stop();
    if (this.#deadline !== undefined) clearTimeout(this.#deadline);
    this.#client?.removeEventListener('abort', this.stop);
    this.#onAbort.clear();
  }
}

/**
 * The dispatch's response, or the answer for an aborted item as soon as `signal` aborts.
 * The abort callback is forgotten once either settles, so nothing per item outlives it.
 * `subscribe` watches the signal (the batch's shared one) without a listener per item.
 */
function untilAborted(
  dispatched: Promise<SubResponse>,
  signal: AbortSignal,
  timeoutMs: number | undefined,
  subscribe: ((callback: () => void) => () => void) | undefined,
): Promise<SubResponse> {
  if (signal.aborted) {
    dispatched.catch(() => {});
    return Promise.resolve(abortedResponse(signal.reason, timeoutMs));
  }
  return new Promise<SubResponse>((resolve, reject) => {
    const onAbort = () => resolve(abortedResponse(signal.reason, timeoutMs));
    let forget: () => void;
    if (subscribe !== undefined) {
      forget = subscribe(onAbort);
    } else {
      signal.addEventListener('abort', onAbort, { once: true });
      forget = () => signal.removeEventListener('abort', onAbort);
    }
    dispatched.then(
      (response) => {
        forget();
        resolve(response);
      },
      (error: unknown) => {
        forget();
        reject(error);
      },
    );
  });
}

/** `504` for a timeout or the deadline, `503` when the client went away. */
function abortedResponse(reason: unknown, timeoutMs?: number): SubResponse {
  if (reason instanceof ItemTimedOut) {
    return problemResponse(504, 'item-timeout', `the request took longer than ${timeoutMs} ms`);
  }
  if (reason instanceof DeadlineExceeded) {
    return problemResponse(
      504,
      'batch-deadline',
      'the batch deadline passed before this request was answered',
    );
  }
  return problemResponse(503, 'batch-aborted', 'the batch was aborted: the client went away');
}
