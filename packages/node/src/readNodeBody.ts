import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { type BatchLimits, type BodyInput, encodeParsedJsonBatch } from '@batch/core';

const encoder = new TextEncoder();

/**
 * The batch request's body: its chunks as they arrive, or — when a body parser such as
 * `express.json()` already read it — what the parser left (`req.body` bytes, text, or a
 * parsed JSON value, serialised again — lazily, so that a value nested too deep for the
 * limits is answered `400` by the batch handler).
 */
export function readNodeBody(
  req: IncomingMessage & { body?: unknown; _body?: boolean },
  limits?: BatchLimits,
): BodyInput {
  const consumed = req._body === true || req.readableEnded;
  if (!consumed) return chunksOf(req);
  const { body } = req;
  if (body instanceof Uint8Array) return body;
  if (typeof body === 'string') return encoder.encode(body);
  if (body === undefined || body === null) return new Uint8Array(0);
  return (async function* parsed() {
    yield encodeParsedJsonBatch(body, limits);
  })();
}

/**
 * The chunks of `stream` as they arrive. Unlike `for await (… of stream)`, stopping early
 * leaves the stream intact: destroying a request destroys its socket, and with it the
 * client's next request on that keep-alive connection (SPEC §4 "The connection survives a
 * rejection"). What happens to the rest is `discardUnreadBody`'s job.
 */
export async function* chunksOf(stream: Readable): AsyncGenerator<Uint8Array> {
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  let closed = false;
  const onReadable = () => wake?.();
  const onError = (error: Error) => {
    failure = error;
    wake?.();
  };
  const onClose = () => {
    closed = true;
    wake?.();
  };
  stream.on('readable', onReadable);
  stream.on('error', onError);
  stream.on('close', onClose);
  try {
    for (;;) {
      for (;;) {
        const chunk = stream.read() as Uint8Array | null;
        if (chunk === null) break;
        yield chunk;
      }
      if (failure !== undefined) throw failure;
      if (stream.readableEnded) return;
      if (closed || stream.destroyed) throw new Error('the request was closed before its end');
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
  } finally {
    stream.off('readable', onReadable);
    stream.off('error', onError);
    stream.off('close', onClose);
  }
}
