import type { HeaderList } from '../model/types.js';
import { getHeader } from './headerNames.js';
import type { BodyInput } from './readBody.js';

/**
 * What the server must do with the rest of a batch request body that was refused before
 * it was read to its end (SPEC §4 "The connection survives a rejection"):
 *
 * - `'discard'`: the rest is small and of known length (`Content-Length`): read and drop
 *   it, at most `maxBytes`, within `timeoutMs`, and keep the connection for the client's
 *   next request. Past either bound, close the connection.
 * - `'close'`: the rest is large or of unknown length (chunked): the answer carries
 *   `Connection: close`; keep reading and dropping what arrives (so that the client reads
 *   the answer instead of a reset) until the connection closes once the answer is written,
 *   and close it anyway after `timeoutMs` or `maxBytes`.
 */
export interface UnreadBody {
  action: 'discard' | 'close';
  /** Most bytes to read and drop before the connection is closed. */
  maxBytes: number;
  /** Most milliseconds to spend on the rest before the connection is closed. */
  timeoutMs: number;
}

/** The bounds on reading the rest of a refused body, resolved. */
export interface DiscardLimits {
  maxDiscardBytes: number;
  discardTimeoutMs: number;
}

/** A body being read, and how far. */
export interface TrackedBody {
  body: BodyInput;
  /** Bytes read so far. */
  readonly bytesRead: number;
  /** True once the body was read to its end (always for a body given as bytes). */
  readonly ended: boolean;
}

/** Wraps `body` to count what is read of it and whether it was read to its end. */
export function trackBody(body: BodyInput): TrackedBody {
  if (body instanceof Uint8Array) return { body, bytesRead: body.length, ended: true };
  const tracked = {
    body: undefined as unknown as BodyInput,
    bytesRead: 0,
    ended: false,
  };
  tracked.body = {
    [Symbol.asyncIterator]: () => {
      const iterator = body[Symbol.asyncIterator]();
      return {
        async next() {
          const result = await iterator.next();
          if (result.done) tracked.ended = true;
          else tracked.bytesRead += result.value.length;
          return result;
        },
        async return(value?: unknown) {
          await iterator.return?.(value);
          return { done: true as const, value: undefined };
        },
      };
    },
  };
  return tracked;
}

/**
 * The plan for the rest of a refused body, or `undefined` when nothing is left to read:
 * the body was read to its end, or the request has none. `hasBody` tells that the request
 * has a body whatever its headers say (a fetch `Request` hides its `Content-Length`).
 */
export function planUnreadBody(
  headers: HeaderList,
  tracked: TrackedBody,
  limits: DiscardLimits,
  hasBody = false,
): UnreadBody | undefined {
  if (tracked.ended) return undefined;
  const chunked = getHeader(headers, 'transfer-encoding') !== undefined;
  const lengthText = getHeader(headers, 'content-length');
  const length =
    lengthText !== undefined && /^\s*\d{1,15}\s*$/.test(lengthText) ? Number(lengthText) : NaN;
  const bounds = { maxBytes: limits.maxDiscardBytes, timeoutMs: limits.discardTimeoutMs };
  if (!chunked) {
    // No Content-Length and no Transfer-Encoding: an HTTP/1.1 request has no body.
    if (lengthText === undefined && !hasBody) return undefined;
    if (Number.isFinite(length)) {
      const rest = length - tracked.bytesRead;
      if (rest <= 0) return undefined;
      if (rest <= limits.maxDiscardBytes) return { action: 'discard', ...bounds };
    }
  }
  return { action: 'close', ...bounds };
}
