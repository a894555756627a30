import { type TurnScheduler, turnScheduler } from '../http/nextTurn.js';

/**
 * One item enters the app per task (SPEC §4 "Rate limits"): middleware written for requests
 * that arrive from sockets one event at a time — a rate limiter that increments a counter,
 * then reads it after an `await` — never sees two sub-requests enter in the same task, as no
 * socket would deliver them. Each item that must wait gets a task of its own (a
 * `setImmediate`: Node runs every queued one in the same turn of the event loop, draining
 * promise jobs between them, as it does between two sockets' events), so the items of one
 * batch still start in one turn, in order, and run concurrently. The first item of a task
 * is never delayed.
 */
export class TurnGate {
  /** True while an item has entered in the current task. */
  #occupied = false;
  /** Items waiting for a task of their own. */
  #waiting = 0;
  #schedule: TurnScheduler | undefined;
  /** What the waiting items run when they enter, in order, from `#head`. */
  readonly #queue: Array<(() => void) | undefined> = [];
  #head = 0;
  readonly #onIdle: (() => void) | undefined;

  /** `onIdle` is called each time the last waiting item has entered. */
  constructor(onIdle?: () => void) {
    this.#onIdle = onIdle;
  }

  /** True while items wait for a task of their own. */
  get busy(): boolean {
    return this.#waiting > 0;
  }

  /** Calls `start` now when no item entered in this task, else in a task of its own. */
  enter(start: () => void): void {
    if (this.#enterNow()) start();
    else this.#wait(start);
  }

  /** `enter` as a promise: `undefined` when the caller may enter at once. */
  entered(): Promise<void> | undefined {
    if (this.#enterNow()) return undefined;
    return new Promise<void>((resolve) => this.#wait(resolve));
  }

  #enterNow(): boolean {
    this.#schedule ??= turnScheduler();
    if (this.#occupied || this.#waiting > 0) return false;
    this.#occupied = true;
    this.#schedule(this.#free);
    return true;
  }

  #wait(start: () => void): void {
    this.#waiting++;
    this.#queue.push(start);
    this.#schedule!(this.#next);
  }

  /** The next waiting item's task. */
  readonly #next = (): void => {
    const start = this.#queue[this.#head]!;
    this.#queue[this.#head++] = undefined;
    this.#waiting--;
    // This task is the item's: one that would enter during it waits for a task of its own.
    this.#occupied = true;
    if (this.#waiting === 0) {
      this.#queue.length = 0;
      this.#head = 0;
    }
    start();
    if (this.#waiting === 0) {
      this.#schedule!(this.#free);
      this.#onIdle?.();
    }
  };

  readonly #free = (): void => {
    if (this.#waiting === 0) this.#occupied = false;
  };
}
