import type { AbortSource } from '../http/clientAbort.js';
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
export class Cancellation implements AbortSource {
  /** The batch's signal, made when first asked for (most dispatchers never read it). */
  #controller: AbortController | undefined;
  #aborted = false;
  #reason: unknown;
  readonly #client: AbortSource | undefined;
  readonly #deadline: ReturnType<typeof setTimeout> | undefined;
  readonly #onAbort = new Set<() => void>();
  readonly #timeoutMs: number | undefined;
  /** Whether an item's dispatch must be raced against an abort at all. */
  readonly abortable: boolean;

  constructor(
    client: AbortSource | undefined,
    deadlineMs: number | undefined,
    timeoutMs: number | undefined,
  ) {
    this.#client = client;
    this.#timeoutMs = timeoutMs;
    client?.addEventListener('abort', this.stop, { once: true });
    if (client?.aborted) this.stop();
    this.#deadline =
      deadlineMs === undefined
        ? undefined
        : setTimeout(() => this.#abort(new DeadlineExceeded()), deadlineMs);
    this.abortable = client !== undefined || deadlineMs !== undefined || timeoutMs !== undefined;
  }

  /** The batch's signal: aborts when the client goes away, the deadline passes, or it ends. */
  readonly signal = (): AbortSignal => {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  };

  get aborted(): boolean {
    return this.#aborted;
  }

  /** Why the batch aborted (the client's reason, `DeadlineExceeded`, or none). */
  get reason(): unknown {
    return this.#reason;
  }

  /** Aborts the batch with the client's reason (or none). */
  readonly stop = (): void => {
    this.#abort(this.#client?.reason);
  };

  /**
   * Aborts the batch: the running items' waits first (one fan-out, not a listener per item:
   * that would pass EventTarget's listener warning threshold at 11), then the signal.
   */
  #abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    for (const callback of [...this.#onAbort]) callback();
    this.#controller?.abort(reason);
  }

  /**
   * `AbortSource`: what a dispatcher is given to learn that the batch aborted without its
   * `signal()` (an `AbortController` per batch). A listener added after the abort is not
   * called (read `aborted` first); all are forgotten when the batch is over.
   */
  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.#aborted) this.#onAbort.add(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    this.#onAbort.delete(listener);
  }

  /** Calls `callback` when the batch aborts; returns how to forget it. */
  readonly whenAborted = (callback: () => void): (() => void) => {
    if (this.#aborted) {
      callback();
      return () => {};
    }
    this.#onAbort.add(callback);
    return () => this.#onAbort.delete(callback);
  };

  /**
   * The signal one item runs under: the batch's (`undefined`: `signal()` makes it when
   * asked), or with `timeoutMs` one of its own that also aborts with the batch. `release`
   * forgets the timer and the subscription.
   */
  itemSignal(): { signal: AbortSignal | undefined; release: (() => void) | undefined } {
    if (this.#timeoutMs === undefined) return { signal: undefined, release: undefined };
    const controller = new AbortController();
    const forget = this.whenAborted(() => controller.abort(this.#reason));
    const timer = setTimeout(() => controller.abort(new ItemTimedOut()), this.#timeoutMs);
    return {
      signal: controller.signal,
      release: () => {
        clearTimeout(timer);
        forget();
      },
    };
  }

  /**
   * The dispatch's answer, or the answer of an aborted item as soon as the item's `signal`
   * (`undefined`: the batch's) aborts.
   */
  settle(dispatched: Promise<SubResponse>, signal: AbortSignal | undefined): Promise<SubResponse> {
    if (!this.abortable) return dispatched;
    if (signal !== undefined)
      return untilAborted(dispatched, this.#timeoutMs, signal, (callback) => {
        signal.addEventListener('abort', callback, { once: true });
        return () => signal.removeEventListener('abort', callback);
      });
    return untilAborted(dispatched, this.#timeoutMs, this, this.whenAborted);
  }

  /** The answer of an item that cannot start because the batch was aborted. */
  abortedResponse(): SubResponse {
    return abortedResponse(this.#reason);
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
 * The dispatch's response, or the answer for an aborted item as soon as `source` aborts.
 * The abort callback is forgotten once either settles, so nothing per item outlives it.
 * `subscribe` watches it (the batch is watched without a listener per item).
 */
function untilAborted(
  dispatched: Promise<SubResponse>,
  timeoutMs: number | undefined,
  source: { readonly aborted: boolean; readonly reason: unknown },
  subscribe: (callback: () => void) => () => void,
): Promise<SubResponse> {
  if (source.aborted) {
    dispatched.catch(() => {});
    return Promise.resolve(abortedResponse(source.reason, timeoutMs));
  }
  return new Promise<SubResponse>((resolve, reject) => {
    const forget = subscribe(() => resolve(abortedResponse(source.reason, timeoutMs)));
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
