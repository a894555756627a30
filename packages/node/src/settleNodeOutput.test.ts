import { Readable } from 'node:stream';
import type { BatchOutput } from '@batch/core';
import { describe, expect, it } from 'vitest';
import { settleNodeOutput } from './settleNodeOutput.js';

const bytes = (text: string) => new TextEncoder().encode(text);

function output(body: AsyncIterable<Uint8Array>): BatchOutput {
  return {
    status: 200,
    headers: [
      ['Content-Type', 'application/json'],
      ['Set-Cookie', 'a=1'],
      ['Set-Cookie', 'b=2'],
    ],
    body,
  };
}

describe('settleNodeOutput', () => {
  it('gives a batch whose items all answered at once whole, its headers grouped, no Content-Length', async () => {
    const answer = await settleNodeOutput(
      output(
        (async function* () {
          yield bytes('{"responses":');
          yield bytes('[]}');
        })(),
      ),
    );
    expect(answer.status).toBe(200);
    expect(answer.headers).toEqual({
      'Content-Type': 'application/json',
      'Set-Cookie': ['a=1', 'b=2'],
    });
    expect(Buffer.isBuffer(answer.body)).toBe(true);
    expect(answer.body.toString()).toBe('{"responses":[]}');
  });

  it('streams a waiting batch as a Readable; destroying it stops the batch', async () => {
    let stopped = false;
    let release = () => {};
    const waiting = new Promise<void>((resolve) => {
      release = resolve;
    });
    let releaseLast = () => {};
    const last = new Promise<void>((resolve) => {
      releaseLast = resolve;
    });
    const answer = await settleNodeOutput(
      output(
        (async function* () {
          try {
            yield bytes('first');
            await waiting;
            yield bytes('second');
            // An item still running when the client goes away: it ends (aborted), and
            // what it yields is never read.
            await last;
            yield bytes('third');
            yield bytes('fourth');
          } finally {
            stopped = true;
          }
        })(),
      ),
    );
    expect(answer.body).toBeInstanceOf(Readable);
    const stream = answer.body as Readable;
    const chunks: string[] = [];
    stream.on('data', (chunk: Buffer) => {
      chunks.push(chunk.toString());
      if (chunks.length === 1) release();
      if (chunks.length === 2) stream.destroy();
    });
    await new Promise((resolve) => stream.once('close', resolve));
    releaseLast();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(chunks).toEqual(['first', 'second']);
    expect(stopped).toBe(true);
  });
});
