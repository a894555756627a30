import { describe, expect, it } from 'vitest';
import { createBatchHandler } from '../createBatchHandler.js';
import type { HeaderList } from '../model/types.js';
import { planUnreadBody, trackBody } from './unreadBody.js';

const limits = { maxDiscardBytes: 1000, discardTimeoutMs: 50 };

async function* chunks(...parts: string[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield new TextEncoder().encode(part);
}

async function readSome(body: AsyncIterable<Uint8Array>, count: number): Promise<void> {
  let n = 0;
  for await (const _ of body) if (++n >= count) break;
}

describe('planUnreadBody', () => {
  it('nothing to do for a body read to its end, given as bytes, or absent', async () => {
    const read = trackBody(chunks('ab', 'cd'));
    await readSome(read.body as AsyncIterable<Uint8Array>, 10);
    expect(read.ended).toBe(true);
    expect(read.bytesRead).toBe(4);
    expect(planUnreadBody([['content-length', '4']], read, limits)).toBeUndefined();
    expect(
      planUnreadBody([['content-length', '3']], trackBody(new Uint8Array(3)), limits),
    ).toBeUndefined();
    // No Content-Length and no Transfer-Encoding: HTTP/1.1 says there is no body.
    expect(planUnreadBody([], trackBody(chunks('x')), limits)).toBeUndefined();
    expect(planUnreadBody([['Content-Length', '0']], trackBody(chunks()), limits)).toBeUndefined();
  });

  it('discards a known rest up to maxDiscardBytes, closes past it', async () => {
    const small = trackBody(chunks('a'.repeat(500), 'b'.repeat(500), 'c'));
    await readSome(small.body as AsyncIterable<Uint8Array>, 1);
    expect(small.bytesRead).toBe(500);
    expect(planUnreadBody([['Content-Length', '1500']], small, limits)).toEqual({
      action: 'discard',
      maxBytes: 1000,
      timeoutMs: 50,
    });
    expect(planUnreadBody([['Content-Length', '1501']], small, limits)?.action).toBe('close');
  });

  it('closes when the length is unknown (chunked) or unreadable', () => {
    const unread = trackBody(chunks('x'));
    expect(planUnreadBody([['Transfer-Encoding', 'chunked']], unread, limits)?.action).toBe(
      'close',
    );
    const headers: HeaderList = [['content-length', '12, 12']];
    expect(planUnreadBody(headers, unread, limits)?.action).toBe('close');
  });
});

describe('createBatchHandler: a refusal before the body ends', () => {
  const handler = createBatchHandler({
    dispatch: async () => ({ status: 200, headers: [], body: null }),
    maxBodyBytes: 10,
    maxDiscardBytes: 100,
    discardTimeoutMs: 1000,
  });

  it('says what to do with the rest, and adds Connection: close when it must close', async () => {
    const small = await handler.handle({
      method: 'POST',
      path: '/batch',
      headers: [
        ['content-type', 'application/json'],
        ['content-length', '60'],
      ],
      body: chunks('{"requests":[', '"xxxxxxxxxxxxxxxx', '"]}'),
    });
    expect(small.status).toBe(413);
    expect(small.unreadBody).toEqual({ action: 'discard', maxBytes: 100, timeoutMs: 1000 });
    expect(small.headers.some(([name]) => name === 'connection')).toBe(false);

    const chunked = await handler.handle({
      method: 'POST',
      path: '/batch',
      headers: [
        ['content-type', 'application/json'],
        ['transfer-encoding', 'chunked'],
      ],
      body: chunks('{"requests":[', '"xxxxxxxxxxxxxxxx', '"]}'),
    });
    expect(chunked.status).toBe(413);
    expect(chunked.unreadBody?.action).toBe('close');
    expect(chunked.headers).toContainEqual(['connection', 'close']);
  });

  it('415 before reading anything: the whole body is the rest', async () => {
    const output = await handler.handle({
      method: 'POST',
      path: '/batch',
      headers: [
        ['content-type', 'text/plain'],
        ['content-length', '5000'],
      ],
      body: chunks('x'.repeat(5000)),
    });
    expect(output.status).toBe(415);
    expect(output.unreadBody?.action).toBe('close');
  });

  it('fetch(): reads and drops the small rest of the request stream', async () => {
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1;
        if (pulled > 5) controller.close();
        else controller.enqueue(new Uint8Array(10));
      },
    });
    const response = await handler.fetch(
      new Request('http://x/batch', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': '50' },
        body: stream,
        duplex: 'half',
      } as RequestInit),
    );
    expect(response.status).toBe(413);
    expect(response.headers.get('connection')).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(pulled).toBe(6);
  });

  it('fetch(): a large rest, or one of unknown length, is answered with Connection: close', async () => {
    const body = () =>
      new ReadableStream<Uint8Array>({
        pull: (controller) => controller.enqueue(new Uint8Array(20)),
      });
    const response = await handler.fetch(
      new Request('http://x/batch', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': '5000' },
        body: body(),
        duplex: 'half',
      } as RequestInit),
    );
    expect(response.status).toBe(413);
    expect(response.headers.get('connection')).toBe('close');
    // No Content-Length at all (a fetch Request may hide it): a body of unknown length.
    const unknown = await handler.fetch(
      new Request('http://x/batch', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: body(),
        duplex: 'half',
      } as RequestInit),
    );
    expect(unknown.status).toBe(413);
    expect(unknown.headers.get('connection')).toBe('close');
  });

  it('rejects bad bounds at creation', () => {
    const dispatch = async () => ({ status: 200, headers: [], body: null });
    expect(() => createBatchHandler({ dispatch, maxDiscardBytes: -1 })).toThrow(/maxDiscardBytes/);
    expect(() => createBatchHandler({ dispatch, discardTimeoutMs: 0 })).toThrow(/discardTimeoutMs/);
  });
});
