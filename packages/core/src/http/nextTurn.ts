/** Runs a callback on the event loop's next turn; returns what cancels it. */
export type TurnScheduler = (callback: () => void) => () => void;

interface Timers {
  setImmediate?: (callback: () => void) => unknown;
  clearImmediate?: (handle: unknown) => void;
}

/**
 * A scheduler for the event loop's next turn — after every chunk and promise job that is
 * ready without I/O or a timer: `setImmediate` where there is one (Node, Bun, Deno), else a
 * `MessageChannel` message (browsers, Workers), else a timer. One per use (a batch, a body
 * read ahead): a channel belongs to the request that made it.
 */
export function turnScheduler(): TurnScheduler {
  const timers = globalThis as Timers;
  const { setImmediate, clearImmediate } = timers;
  if (typeof setImmediate === 'function' && typeof clearImmediate === 'function') {
    return (callback) => {
      const handle = setImmediate(callback);
      return () => clearImmediate(handle);
    };
  }
  if (typeof MessageChannel === 'function') {
    const channel = new MessageChannel();
    const queue: Array<{ callback: () => void; cancelled: boolean }> = [];
    channel.port1.onmessage = () => {
      const entry = queue.shift();
      if (entry !== undefined && !entry.cancelled) entry.callback();
    };
    return (callback) => {
      const entry = { callback, cancelled: false };
      queue.push(entry);
      channel.port2.postMessage(undefined);
      return () => {
        entry.cancelled = true;
      };
    };
  }
  return (callback) => {
    const handle = setTimeout(callback, 0);
    return () => clearTimeout(handle);
  };
}
