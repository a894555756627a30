import type { SubResponse } from '../model/types.js';
import { SKIPPED } from './runGroup.js';

/**
 * The output window (SPEC §4 "Streaming"): finished answers wait here until they are due —
 * in request order, or in completion order for JSON Lines — and leave in runs, every answer
 * ready when the consumer asks, so that the encoder writes one chunk for them. `inFlight`
 * counts items started and not yet taken by the consumer: the scheduler starts nothing past
 * `2 × concurrency` of them, so a consumer that stops pulling (a slow client) stops the batch.
 *
 * When items enter the app one per task (`TurnGate`), their answers come in separate tasks
 * of one turn: the consumer is woken once the last waiting item has entered (`held`), with
 * every answer of the turn ready — one run and one chunk, not one per item.
 */
export class OutputWindow {
  /** Items started and not yet taken by the consumer. */
  inFlight = 0;
  readonly #count: number;
  readonly #inOrder: boolean;
  readonly #held: Array<SubResponse | undefined>;
  readonly #completed: SubResponse[] = [];
  #written = 0;
  #wake: (() => void) | undefined;
  readonly #gate: { readonly busy: boolean } | undefined;

  /** `gate`: while it is busy, wakes wait for it (it calls `wake()` once it is idle). */
  constructor(count: number, inOrder: boolean, gate?: { readonly busy: boolean }) {
    this.#count = count;
    this.#inOrder = inOrder;
    this.#held = inOrder ? new Array(count) : [];
    this.#gate = gate;
  }

  /** Whether every item's answer was taken. */
  get finished(): boolean {
    return this.#written >= this.#count;
  }

  /** Item `index` is finished with `response` (`SKIPPED`: taken, never written). */
  put(index: number, response: SubResponse): void {
    if (this.#inOrder) this.#held[index] = response;
    else this.#completed.push(response);
  }

  /**
   * Every answer due now, in order (`SKIPPED` ones left out): `undefined` when none is due,
   * possibly `[]` when only skipped ones were.
   */
  take(): SubResponse[] | undefined {
    const run: SubResponse[] = [];
    const before = this.#written;
    let completedAt = 0;
    while (this.#written < this.#count) {
      let response: SubResponse | undefined;
      if (this.#inOrder) {
        response = this.#held[this.#written];
        this.#held[this.#written] = undefined;
      } else if (completedAt < this.#completed.length) {
        response = this.#completed[completedAt++];
      }
      if (response === undefined) break;
      this.#written++;
      this.inFlight--;
      // The other items of a failed change set: answered by the failed one alone.
      if (response !== SKIPPED) run.push(response);
    }
    if (completedAt > 0) this.#completed.splice(0, completedAt);
    return this.#written > before ? run : undefined;
  }

  /** Resolves at the next `wake()`. */
  next(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#wake = resolve;
    });
  }

  /** Wakes the consumer waiting in `next()`, if any — once the gate is idle. */
  wake(): void {
    if (this.#gate?.busy === true) return;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
