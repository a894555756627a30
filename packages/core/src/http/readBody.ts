import { BatchError } from '../model/BatchError.js';
import { concatBytes } from './bytes.js';

/** A request or response body as the codecs take it. */
export type BodyInput = Uint8Array | AsyncIterable<Uint8Array>;

/** Yields the chunks of `body`, throwing `body_too_large` as soon as it passes `maxBytes`. */
export async function* limitedChunks(
  body: BodyInput,
  maxBytes: number,
): AsyncGenerator<Uint8Array> {
  if (body instanceof Uint8Array) {
    if (body.length > maxBytes) throw tooLarge(maxBytes);
    yield body;
    return;
  }
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > maxBytes) throw tooLarge(maxBytes);
    yield chunk;
  }
}

/**
 * The chunks of `body` to read with `for await`, each to be counted with `countChunk`: the
 * same checks as `limitedChunks` without an async generator between the body and its
 * reader (one fewer promise per chunk).
 */
export function bodyChunks(body: BodyInput): Iterable<Uint8Array> | AsyncIterable<Uint8Array> {
  return body instanceof Uint8Array ? [body] : body;
}

/** Adds a chunk's bytes to `total`; throws `body_too_large` once it passes `maxBytes`. */
export function countChunk(total: number, chunk: Uint8Array, maxBytes: number): number {
  const sum = total + chunk.length;
  if (sum > maxBytes) throw tooLarge(maxBytes);
  return sum;
}

/** Reads all of `body` into one array, up to `maxBytes`. */
export async function readAll(body: BodyInput, maxBytes: number): Promise<Uint8Array> {
  if (body instanceof Uint8Array) {
    if (body.length > maxBytes) throw tooLarge(maxBytes);
    return body;
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of limitedChunks(body, maxBytes)) {
    chunks.push(chunk);
    total += chunk.length;
  }
  return concatBytes(chunks, total);
}

function tooLarge(maxBytes: number): BatchError {
  return new BatchError('body_too_large', `batch request body is larger than ${maxBytes} bytes`);
}
