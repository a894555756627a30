import { getHeader } from '../http/headerNames.js';
import type { HeaderList, SubResponse } from '../model/types.js';
import type { BatchItemInfo } from './itemInfo.js';
import type { PlannedItem } from './planBatch.js';

const now = () => performance.now();

/** The item each answer answers, when the batch is recorded (`ExecuteOptions.recordIndexes`). */
export const indexOfAnswer = new WeakMap<SubResponse, number>();

/**
 * What each item's answer said, as soon as it was made, and its final status once it is
 * finished (a group's items finish together, when the whole group is done): dependencies,
 * references, `onError: 'stop'` and the `onItem` hook read it here. Also shapes every
 * answer the engine yields (`answer`).
 */
export class ItemOutcomes {
  /** The status each item answered, as soon as it answered. */
  readonly status: Array<number | undefined>;
  /** The final status of each finished item (set once, when it is finished). */
  readonly finished: Array<number | undefined>;
  /** The `Location` of items a reference names (only those are kept). */
  readonly location: Array<string | undefined>;
  /** The target a referenced item was dispatched to. */
  readonly dispatchedTarget: Array<string | undefined>;
  /** The path an item was dispatched to when a reference chose it. */
  readonly dispatchedPath: Array<string | undefined>;
  readonly isReferenced: Uint8Array;
  /** True once an item failed under `onError: 'stop'`. */
  stopped = false;
  readonly #items: PlannedItem[];
  readonly #durations: Float64Array;
  readonly #ran: Uint8Array;
  readonly #stopOnError: boolean;
  readonly #inOrder: boolean;
  readonly #onItem: ((info: BatchItemInfo) => void) | undefined;
  readonly #recordIndexes: boolean;

  constructor(
    items: PlannedItem[],
    stopOnError: boolean,
    inOrder: boolean,
    onItem: ((info: BatchItemInfo) => void) | undefined,
    recordIndexes = false,
  ) {
    const count = items.length;
    this.#items = items;
    this.status = new Array(count);
    this.finished = new Array(count);
    this.location = new Array(count);
    this.dispatchedTarget = new Array(count);
    this.dispatchedPath = new Array(count);
    this.isReferenced = new Uint8Array(count);
    for (const item of items)
      if (item.reference !== undefined) this.isReferenced[item.reference.index] = 1;
    this.#durations = new Float64Array(count);
    this.#ran = new Uint8Array(count);
    this.#stopOnError = stopOnError;
    this.#inOrder = inOrder;
    this.#onItem = onItem;
    this.#recordIndexes = recordIndexes;
  }

  /**
   * Records an item's answer and shapes it as the engine yields it: its headers plus a
   * `Server-Timing` entry, and what the encoders echo (path, id, Content-ID, group, index).
   */
  answer(index: number, response: SubResponse, started: number, didRun: boolean): SubResponse {
    const item = this.#items[index]!;
    const durationMs = didRun ? now() - started : 0;
    if (this.#stopOnError && response.status >= 400) this.stopped = true;
    this.#durations[index] = durationMs;
    this.#ran[index] = didRun ? 1 : 0;
    this.status[index] = response.status;
    if (this.isReferenced[index] === 1)
      this.location[index] = getHeader(response.headers, 'location');
    const source = response.headers;
    const headers: HeaderList = new Array(source.length + 1);
    for (let i = 0; i < source.length; i++) headers[i] = source[i]!;
    headers[source.length] = ['Server-Timing', `batch;dur=${durationMs.toFixed(3)}`];
    const answered: SubResponse = {
      status: response.status,
      headers,
      body: response.body,
      path: this.dispatchedPath[index] ?? item.path,
    };
    if (response.statusText !== undefined) answered.statusText = response.statusText;
    const { request } = item;
    if (request.id !== undefined) answered.id = request.id;
    if (request.contentId !== undefined) answered.contentId = request.contentId;
    if (request.atomicityGroup !== undefined) answered.atomicityGroup = request.atomicityGroup;
    if (!this.#inOrder) answered.index = index;
    if (request.method === 'HEAD') answered.requestMethod = 'HEAD';
    if (this.#recordIndexes) indexOfAnswer.set(answered, index);
    return answered;
  }

  /**
   * An answer known before the item could run — replayed from a record (SPEC §8): kept as it
   * was answered, only recorded here for the items that depend on it or refer to it.
   */
  known(index: number, response: SubResponse): SubResponse {
    this.#durations[index] = 0;
    this.#ran[index] = 0;
    if (this.#stopOnError && response.status >= 400) this.stopped = true;
    this.status[index] = response.status;
    if (this.isReferenced[index] === 1)
      this.location[index] = getHeader(response.headers, 'location');
    const answered: SubResponse = { ...response };
    if (this.#inOrder) delete answered.index;
    else answered.index = index;
    if (this.#recordIndexes) indexOfAnswer.set(answered, index);
    return answered;
  }

  /** The answer of an item that did not run. */
  unrun(index: number, response: SubResponse): SubResponse {
    return this.answer(index, response, 0, false);
  }

  /** Marks an item finished with its final status, and tells `onItem` (once per item). */
  finish(index: number, status: number): void {
    this.finished[index] = status;
    const onItem = this.#onItem;
    if (onItem === undefined) return;
    const item = this.#items[index]!;
    try {
      onItem({
        index,
        method: item.request.method,
        path: this.dispatchedPath[index] ?? item.path,
        status,
        durationMs: this.#durations[index]!,
        ran: this.#ran[index] === 1,
      });
    } catch {
      // A failing hook must not fail the batch.
    }
  }
}
