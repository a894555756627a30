import { Readable } from 'node:stream';
import { type BatchOutput, type HeaderList, settleBody } from '@batch/core';

/** A batch answer as a framework's reply takes it: `reply.code(status).headers(headers).send(body)`. */
export interface NodeBatchAnswer {
  status: number;
  /** Repeated names as arrays; no `Content-Length`: the framework sets it for a whole body. */
  headers: Record<string, string | string[]>;
  /** The whole body when every item answered at once; else a stream of it as items finish. */
  body: Buffer | Readable;
}

/** Header pairs as Node's `setHeader` takes them: one entry per name, repeated ones an array. */
export function groupHeaders(headers: HeaderList): Map<string, string[]> {
  const grouped = new Map<string, string[]>();
  for (const [name, value] of headers) {
    const values = grouped.get(name);
    if (values === undefined) grouped.set(name, [value]);
    else values.push(value);
  }
  return grouped;
}

async function* concat(
  first: readonly Uint8Array[],
  rest: AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  yield* first;
  yield* rest;
}

/**
 * A `BatchOutput` for a framework that sends the answer through its own reply (so that its
 * hooks apply, compression among them): whole when every item answered at once
 * (`settleBody`), else a `Readable` that pulls the batch's chunks as the reply reads it —
 * backpressure from the socket reaches the batch, and destroying the stream (the client
 * went away) stops it.
 */
export async function settleNodeOutput(output: BatchOutput): Promise<NodeBatchAnswer> {
  const settled = await settleBody(output.headers, output.body);
  const headers: Record<string, string | string[]> = {};
  for (const [name, values] of groupHeaders(settled.headers)) {
    if (name.toLowerCase() !== 'content-length')
      headers[name] = values.length === 1 ? values[0]! : values;
  }
  const body =
    'whole' in settled
      ? Buffer.from(settled.whole.buffer, settled.whole.byteOffset, settled.whole.byteLength)
      : Readable.from(concat(settled.first, settled.rest), { objectMode: false });
  return { status: output.status, headers, body };
}
