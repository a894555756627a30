import type { ServerResponse } from 'node:http';
import { type BatchOutput, settleBody } from '@batch/core';
import { groupHeaders } from './settleNodeOutput.js';

/**
 * Writes a `BatchOutput` to a `ServerResponse`: status, headers (repeated ones as
 * arrays), then the body — whole, with its Content-Length, in one write when every item
 * answered at once (`settleBody`); else as it streams, waiting for `drain` whenever the
 * socket's buffer is full (backpressure). Stops reading the body — which stops the batch — as soon as
 * the response closes early (the client went away).
 */
export async function sendBatchOutput(output: BatchOutput, res: ServerResponse): Promise<void> {
  const settled = await settleBody(output.headers, output.body);
  res.statusCode = output.status;
  for (const [name, values] of groupHeaders(settled.headers))
    res.setHeader(name, values.length === 1 ? values[0]! : values);
  if ('whole' in settled) {
    if (!res.destroyed) res.end(settled.whole);
    return;
  }

  let closed = res.destroyed;
  let wake: (() => void) | undefined;
  const onClose = () => {
    closed = true;
    wake?.();
  };
  const onDrain = () => wake?.();
  res.on('close', onClose);
  res.on('drain', onDrain);
  /** Writes a chunk; when the socket's buffer is full, waits for it to drain (or close). */
  const send = async (chunk: Uint8Array) => {
    if (res.write(chunk) || closed) return;
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
    wake = undefined;
  };
  const iterator = settled.rest;
  try {
    // What was read ahead goes out with the head.
    for (const chunk of settled.first) {
      if (closed) break;
      await send(chunk);
    }
    while (!closed) {
      const { done, value } = await iterator.next();
      if (done || closed) break;
      await send(value);
    }
    if (!closed) res.end();
  } finally {
    res.off('close', onClose);
    res.off('drain', onDrain);
    if (closed) await iterator.return?.();
  }
}
