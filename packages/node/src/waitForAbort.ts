/** Callbacks waiting on each signal, behind the one listener each signal gets. */
const waiting = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Calls `callback` once when `signal` aborts; returns how to forget it. Every callback on
 * one signal shares a single `abort` listener: a batch's items all wait on the batch's
 * signal, and a listener each (an `EventTarget` listener record, its options validated, a
 * lookup to remove it) costs more than the item's `Set` entry.
 */
export function onAbort(signal: AbortSignal, callback: () => void): () => void {
  let callbacks = waiting.get(signal);
  if (callbacks === undefined) {
    const registered = new Set<() => void>();
    callbacks = registered;
    waiting.set(signal, registered);
    signal.addEventListener(
      'abort',
      () => {
        waiting.delete(signal);
        for (const waiter of registered) waiter();
        registered.clear();
      },
      { once: true },
    );
  }
  callbacks.add(callback);
  return () => {
    callbacks.delete(callback);
  };
}
