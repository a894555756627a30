import type { AbortSource } from '@batch/core';
/** What waits on a signal: told once when it aborts. */
export interface AbortWaiter {
  onAbort(): void;
}

/** The waiters on each signal, behind the one listener each signal gets. */
const waiting = new WeakMap<AbortSource, Set<AbortWaiter>>();

/**
 * Tells `waiter` once when `signal` aborts, unless it is deleted from the set returned
 * first (`stopWaitingForAbort` does that when the set is not at hand). Every
 * waiter on one signal shares a single `abort` listener: a batch's items all wait on the
 * batch's signal, and a listener each (an `EventTarget` listener record, its options
 * validated, a lookup to remove it) costs more than the item's `Set` entry.
 */
export function waitForAbort(signal: AbortSource, waiter: AbortWaiter): Set<AbortWaiter> {
  let waiters = waiting.get(signal);
  if (waiters === undefined) {
    const registered = new Set<AbortWaiter>();
    waiters = registered;
    waiting.set(signal, registered);
    signal.addEventListener(
      'abort',
      () => {
        waiting.delete(signal);
        for (const each of registered) each.onAbort();
        registered.clear();
      },
      { once: true },
    );
  }
  waiters.add(waiter);
  return waiters;
}

/** Forgets `waiter`: it is not told when `signal` aborts. */
export function stopWaitingForAbort(signal: AbortSource, waiter: AbortWaiter): void {
  waiting.get(signal)?.delete(waiter);
}
