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
  readonly #onIdle: (() => void) | undefined;

  /** `onIdle` is called each time the last waiting item has entered. */
  constructor(onIdle?: () => void) {
    this.#onIdle = onIdle;
  }

  /** True while items wait for a task of their own. */
  get busy(): boolean {
    return this.#waiting > 0;
  }

  /** Resolves when the caller may enter; `undefined` when it may enter at once. */
  enter(): Promise<void> | undefined {
    this.#schedule ??= turnScheduler();
    if (!this.#occupied && this.#waiting === 0) {
      this.#occupied = true;
      this.#schedule(this.#free);
      return undefined;
    }
    this.#waiting++;
    const schedule = this.#schedule;
    return new Promise<void>((resolve) => {
      schedule(() => {
        this.#waiting--;
        // This task is the item's: one that would enter during it waits for a task of its own.
        this.#occupied = true;
        resolve();
        if (this.#waiting === 0) {
          schedule(this.#free);
          this.#onIdle?.();
        }
      });
    });
  }

  readonly #free = (): void => {
    if (this.#waiting === 0) this.#occupied = false;
  };
}
