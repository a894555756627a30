import { SAFE_METHODS } from '../http/methods.js';
import type { SubResponse } from '../model/types.js';
import type { OutputWindow } from './outputWindow.js';
import { refusal } from './refusal.js';
import { runGroup, SKIPPED } from './runGroup.js';
import { type RunContext, runItem } from './runItem.js';

/**
 * Which item may start, and when (SPEC §4 "Scheduling: as if one after another, as fast as
 * all at once"). An item waits while:
 * - it is a **barrier** (a write under `parallel: 'reads'`, an atomicity group, or any item
 *   when items run one after another: `concurrency: 1` or `onError: 'stop'`) and an item
 *   before it is not done; and nothing after a running barrier starts before it is done;
 * - an item it **depends on** (`dependsOn`, or the item a `$<id>` reference names) is not done;
 * - `concurrency` items are running, or `2 × concurrency` are in the output window.
 * Consecutive reads start together; a read waiting on its dependencies lets the reads
 * after it by. An item that must not run at all is answered at once (`refusal`).
 */
export class Scheduler {
  readonly #context: RunContext;
  readonly #window: OutputWindow;
  readonly #count: number;
  readonly #concurrency: number;
  readonly #maxInFlight: number;
  readonly #sequential: boolean;
  readonly #started: Uint8Array;
  /** The length of the prefix of items all finished. */
  #done = 0;
  #firstUnstarted = 0;
  #running = 0;
  /** The barrier item running now (at most one runs, alone), or -1. */
  #runningBarrier = -1;
  #pumping = false;
  #closed = false;

  constructor(context: RunContext, window: OutputWindow) {
    const { items, options } = context;
    this.#context = context;
    this.#window = window;
    this.#count = items.length;
    this.#sequential = options.stopOnError || options.concurrency === 1;
    this.#concurrency = this.#sequential ? 1 : options.concurrency;
    this.#maxInFlight = 2 * this.#concurrency;
    this.#started = new Uint8Array(items.length);
  }

  /** Whether every item is finished. */
  get allDone(): boolean {
    return this.#done >= this.#count;
  }

  /** Starts every item that may start now, and wakes the consumer. */
  pump(): void {
    if (this.#pumping || this.#closed) return;
    this.#pumping = true;
    try {
      // An item answered at once may let earlier waiting items (its dependents) start.
      let again = true;
      while (again) again = this.#startReady();
    } finally {
      this.#pumping = false;
    }
    this.#window.wake();
  }

  /** No item starts any more (the consumer went away, or the batch is over). */
  close(): void {
    this.#closed = true;
  }

  /** Item `index` is finished: its final status known, its answer in the output window. */
  readonly finish = (index: number, response: SubResponse): void => {
    const { outcomes } = this.#context;
    outcomes.finish(index, response === SKIPPED ? outcomes.status[index]! : response.status);
    if (index === this.#runningBarrier) this.#runningBarrier = -1;
    while (this.#done < this.#count && outcomes.finished[this.#done] !== undefined) this.#done++;
    this.#window.put(index, response);
  };

  /** Whether item `index` holds every item after it until it is done (see the class). */
  #barrier(index: number): boolean {
    const item = this.#context.items[index]!;
    // An atomicity group runs as one unit, alone (SPEC §4), whatever its methods.
    return (
      this.#sequential ||
      item.group !== undefined ||
      (this.#context.options.parallel === 'reads' && !SAFE_METHODS.has(item.request.method))
    );
  }

  /** Whether item `index` may start now, by the barriers and its dependencies. */
  #ready(index: number): boolean {
    if (this.#barrier(index) && this.#done < index) return false;
    const { dependsOn } = this.#context.items[index]!;
    if (dependsOn !== undefined)
      for (const dependency of dependsOn)
        if (this.#context.outcomes.finished[dependency] === undefined) return false;
    return true;
  }

  /** One pass over the items not yet started; true when one was answered without running. */
  #startReady(): boolean {
    let answered = false;
    // A barrier that runs holds everything after it.
    if (this.#runningBarrier !== -1) return false;
    for (let index = this.#firstUnstarted; index < this.#count; index++) {
      if (this.#running >= this.#concurrency || this.#window.inFlight >= this.#maxInFlight) break;
      if (this.#started[index] === 1) {
        if (index === this.#firstUnstarted) this.#firstUnstarted++;
        continue;
      }
      if (!this.#ready(index)) {
        // Nothing passes a barrier that cannot start; a read waiting on its dependencies
        // lets the reads after it by.
        if (this.#barrier(index)) break;
        continue;
      }
      if (this.#context.items[index]!.group !== undefined) {
        this.#startGroup(index);
        break;
      }
      if (this.#startItem(index)) {
        answered = true;
        continue;
      }
      if (this.#barrier(index)) {
        this.#runningBarrier = index;
        break;
      }
    }
    return answered;
  }

  /** Starts the group item `index` begins (a barrier: everything before it is done). */
  #startGroup(index: number): void {
    const group = this.#context.items[index]!.group!;
    for (let i = group.start; i < group.end; i++) this.#started[i] = 1;
    this.#window.inFlight += group.end - group.start;
    this.#running++;
    this.#runningBarrier = group.end - 1;
    void runGroup(this.#context, group, this.finish).then(() => {
      this.#running--;
      this.pump();
    });
  }

  /** Starts item `index`; true when it was answered at once, without running. */
  #startItem(index: number): boolean {
    const { items, outcomes, cancellation } = this.#context;
    this.#started[index] = 1;
    if (index === this.#firstUnstarted) this.#firstUnstarted++;
    this.#window.inFlight++;
    const known = this.#context.options.known?.get(index);
    if (known !== undefined) {
      this.finish(index, outcomes.known(index, known));
      return true;
    }
    const refused = refusal(items[index]!, index, outcomes, cancellation);
    if (refused !== undefined) {
      this.finish(index, refused);
      return true;
    }
    this.#running++;
    const { turns, options } = this.#context;
    // An item that records its start first passes the gate after that, in `runItem`.
    if (turns === undefined || options.beforeDispatch !== undefined) this.#run(index, false);
    else turns.enter(() => this.#run(index, true));
    return false;
  }

  /** Runs item `index`; `entered`: let in by the turn gate (aborted meanwhile: never runs). */
  #run(index: number, entered: boolean): void {
    const { outcomes, cancellation } = this.#context;
    const answered =
      entered && cancellation.aborted
        ? Promise.resolve(outcomes.unrun(index, cancellation.abortedResponse()))
        : runItem(this.#context, index, entered);
    void answered.then((response) => {
      this.#running--;
      this.finish(index, response);
      this.pump();
    });
  }
}
