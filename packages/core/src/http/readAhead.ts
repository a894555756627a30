/** What `readAhead` read: the chunks ready at once, whether the body ended, and the rest. */
export interface ReadAhead {
  /** The chunks that were ready before anything had to wait, in order. */
  chunks: Uint8Array[];
  /** Their total length in bytes. */
  bytes: number;
  /** True when the body ended among them: `chunks` is the whole body. */
  ended: boolean;
  /** What comes after `chunks` (its `return()` is the body's own). */
  rest: AsyncIterableIterator<Uint8Array>;
}

import type { HeaderList } from '../model/types.js';
import { concatBytes } from './bytes.js';
import { getHeader } from './headerNames.js';
import { type TurnScheduler, turnScheduler } from './nextTurn.js';

const WAITING: unique symbol = Symbol('waiting');

/** Settles on the event loop's next turn: after every chunk that is ready without I/O or a timer. */
function nextTurn(schedule: TurnScheduler): {
  promise: Promise<typeof WAITING>;
  cancel: () => void;
} {
  let cancel!: () => void;
  const promise = new Promise<typeof WAITING>((resolve) => {
    cancel = schedule(() => resolve(WAITING));
  });
  return { promise, cancel };
}

/**
 * Reads a body's chunks for as long as they come without waiting (on I/O or a timer), up to
 * `maxBytes`. A batch whose items all answer at once is then whole before its first byte is
 * written: it goes out with its headers in one write, with a Content-Length — one system
 * call where a stream takes one for the head, one a chunk and one for the end. A batch that
 * waits on its items streams as before, its first chunks held no longer than one turn of the
 * event loop.
 */
export async function readAhead(
  body: AsyncIterable<Uint8Array>,
  maxBytes = 1024 * 1024,
): Promise<ReadAhead> {
  const iterator = body[Symbol.asyncIterator]();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  let ended = false;
  let pending: Promise<IteratorResult<Uint8Array>> | undefined;
  const schedule = turnScheduler();
  let turn: ReturnType<typeof nextTurn> | undefined;
  try {
    while (bytes <= maxBytes) {
      const next = iterator.next();
      // Armed once the body was asked for more: what asking scheduled for this turn (the
      // engine's items entering one per task) comes before it.
      turn = nextTurn(schedule);
      const result = await Promise.race([next, turn.promise]);
      // Quiet for a whole turn: the rest waits on I/O (or a timer). A chunk that came within
      // the turn starts another.
      turn.cancel();
      if (result === WAITING) {
        pending = next;
        break;
      }
      if (result.done === true) {
        ended = true;
        break;
      }
      chunks.push(result.value);
      bytes += result.value.length;
    }
  } finally {
    turn?.cancel();
  }
  const rest: AsyncIterableIterator<Uint8Array> = {
    next() {
      if (ended) return Promise.resolve({ done: true, value: undefined });
      const waiting = pending;
      pending = undefined;
      return waiting ?? iterator.next();
    },
    async return(value?: unknown) {
      await iterator.return?.(value);
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return { chunks, bytes, ended, rest };
}

/**
 * A batch answer ready to be written: `whole` when its body ended while it was read ahead
 * (then `headers` carry its Content-Length), else the chunks to write with the head
 * (`first`: joined into one when small together) and the `rest` to stream after them.
 */
export type SettledBody =
  | { headers: HeaderList; whole: Uint8Array }
  | { headers: HeaderList; first: Uint8Array[]; rest: AsyncIterableIterator<Uint8Array> };

/**
 * Reads a batch answer's body ahead (`readAhead`) and says how to write it: whole, with its
 * Content-Length, in one write with its head; or streamed, what was ready going out with the
 * head. What every server integration does with a `BatchOutput` (`fetch()`, `@batch/node`).
 */
export async function settleBody(
  headers: HeaderList,
  body: AsyncIterable<Uint8Array>,
): Promise<SettledBody> {
  const ahead = await readAhead(body);
  if (ahead.ended) {
    const withLength =
      getHeader(headers, 'content-length') === undefined
        ? [...headers, ['content-length', String(ahead.bytes)] as [string, string]]
        : headers;
    return { headers: withLength, whole: concatBytes(ahead.chunks, ahead.bytes) };
  }
  return { headers, first: joinSmall(ahead.chunks), rest: ahead.rest };
}

/** The chunks read ahead as they may be written: one when small together, else as they are. */
export function joinSmall(chunks: readonly Uint8Array[], maxJoinedBytes = 64 * 1024): Uint8Array[] {
  let bytes = 0;
  for (const chunk of chunks) bytes += chunk.length;
  if (chunks.length <= 1 || bytes > maxJoinedBytes) return [...chunks];
  return [concatBytes(chunks, bytes)];
}
