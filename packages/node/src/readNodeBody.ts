import type { IncomingMessage } from 'node:http';
import type { BodyInput } from '@batch/core';

const encoder = new TextEncoder();

/**
 * The batch request's body: the stream itself, or — when a body parser such as
 * `express.json()` already read it — what the parser left (`req.body` bytes, text, or a
 * parsed JSON value, serialised again).
 */
export function readNodeBody(
  req: IncomingMessage & { body?: unknown; _body?: boolean },
): BodyInput {
  const consumed = req._body === true || req.readableEnded;
  if (!consumed) return req;
  const { body } = req;
  if (body instanceof Uint8Array) return body;
  if (typeof body === 'string') return encoder.encode(body);
  if (body === undefined || body === null) return new Uint8Array(0);
  return encoder.encode(JSON.stringify(body));
}
