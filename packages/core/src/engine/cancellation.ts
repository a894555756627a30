import { type AbortSource, ClientAbort } from '../http/clientAbort.js';
import { problemResponse } from '../http/problems.js';
import type { SubResponse } from '../model/types.js';

/** The reason an item's signal aborts when its own `timeoutMs` passes. */
export class ItemTimedOut extends Error {}
/** The reason the batch's signal aborts when `deadlineMs` passes. */
export class DeadlineExceeded extends Error {}

/**
 * SPEC §4 "Cancellation", per-item timeouts and the batch deadline, in one place: the
 * batch's abort (when the client goes away, the deadline passes, or the consumer stops
 * reading), itself an `AbortSource` whose listeners are the running items' waits (one
 * fan-out, not a listener per item on an `EventTarget`: that would pass its listener warning
 * threshold at 11), the batch's signal made only when asked for, and each item's own signal
 * when it has a timeout.
 */
export class Cancellation extends ClientAbort {
  /** The batch's signal, made when first asked for (most dispatchers never read it). */
  #controller: AbortController | undefined;
  readonly #unfollow: (() => void) | undefined;
  readonly #deadline: ReturnType<typeof setTimeout> | undefined;
  readonly #timeoutMs: number | undefined;
  /** Whether an item's dispatch must be raced against an abort at all. */
  readonly abortable: boolean;

  constructor(
    client: AbortSource | undefined,
    deadlineMs: number | undefined,
    timeoutMs: number | undefined,
  ) {
    super();
    this.#timeoutMs = timeoutMs;
    this.#unfollow = client === undefined ? undefined : this.follow(client);
    this.#deadline =
      deadlineMs === undefined
        ? undefined
        : setTimeout(() => this.abort(new DeadlineExceeded()), deadlineMs);
    this.abortable = client !== undefined || deadlineMs !== undefined || timeoutMs !== undefined;
  }

  /** The batch's signal: aborts when the client goes away, the deadline passes, or it ends. */
  readonly signal = (): AbortSignal => {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.aborted) this.#controller.abort(this.reason);
    }
    return this.#controller.signal;
  };

  /**
   * Aborts the batch (once; `reason`: the client's, `DeadlineExceeded`, or none): the
   * running items' waits first, then the signal.
   */
  override abort(reason?: unknown): void {
    if (this.aborted) return;
    super.abort(reason);
    this.#controller?.abort(reason);
  }

  /**
   * The signal one item runs under: the batch's (`undefined`: `signal()` makes it when
   * asked), or with `timeoutMs` one of its own that also aborts with the batch. `release`
   * forgets the timer and the subscription.
   */
  itemSignal(): { signal: AbortSignal | undefined; release: (() => void) | undefined } {
    if (this.#timeoutMs === undefined) return { signal: undefined, release: undefined };
    const controller = new AbortController();
    const withBatch = () => controller.abort(this.reason);
    if (this.aborted) withBatch();
    else this.addEventListener('abort', withBatch);
    const timer = setTimeout(() => controller.abort(new ItemTimedOut()), this.#timeoutMs);
    return {
      signal: controller.signal,
      release: () => {
        clearTimeout(timer);
        this.removeEventListener('abort', withBatch);
      },
    };
  }

  /**
   * The dispatch's answer, or the answer of an aborted item as soon as the item's `signal`
   * (`undefined`: the batch's) aborts.
   */
  settle(dispatched: Promise<SubResponse>, signal: AbortSignal | undefined): Promise<SubResponse> {
    if (!this.abortable) return dispatched;
    return untilAborted(dispatched, this.#timeoutMs, signal ?? this);
  }

  /** The answer of an item that cannot start because the batch was aborted. */
  abortedResponse(): SubResponse {
    return abortedResponse(this.reason);
  }

  /** The batch is over: stop what still runs when `unfinished`, forget timers and listeners. */
  close(unfinished: boolean): void {
    if (unfinished) this.abort();
    if (this.#deadline !== undefined) clearTimeout(this.#deadline);
    this.#unfollow?.();
    this.forgetListeners();
  }
}

/**
 * The dispatch's response, or the answer for an aborted item as soon as `source` aborts.
 * The abort listener is forgotten once either settles, so nothing per item outlives it.
 */
function untilAborted(
  dispatched: Promise<SubResponse>,
  timeoutMs: number | undefined,
  source: AbortSource,
): Promise<SubResponse> {
  if (source.aborted) {
    dispatched.catch(() => {});
    return Promise.resolve(abortedResponse(source.reason, timeoutMs));
  }
  return new Promise<SubResponse>((resolve, reject) => {
    const onAbort = () => resolve(abortedResponse(source.reason, timeoutMs));
    source.addEventListener('abort', onAbort, { once: true });
    const forget = () => source.removeEventListener('abort', onAbort);
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
