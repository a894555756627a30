import { describe, expect, it } from 'vitest';
import { joinSmall, readAhead, settleBody } from './readAhead.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (chunks: Uint8Array[]) => chunks.map((chunk) => new TextDecoder().decode(chunk));

async function drain(iterator: AsyncIterator<Uint8Array>): Promise<string[]> {
  const out: Uint8Array[] = [];
  for (;;) {
    const { done, value } = await iterator.next();
    if (done) return text(out);
    out.push(value);
  }
}

describe('readAhead', () => {
  it('reads a body whose chunks are all ready whole, and says it ended', async () => {
    async function* body() {
      yield bytes('a');
      await Promise.resolve();
      yield bytes('bc');
    }
    const ahead = await readAhead(body());
    expect(ahead.ended).toBe(true);
    expect(ahead.bytes).toBe(3);
    expect(text(ahead.chunks)).toEqual(['a', 'bc']);
    expect(await drain(ahead.rest)).toEqual([]);
  });

  it('stops at the first chunk that waits on a timer; the rest comes after, in order', async () => {
    let finished = false;
    async function* body() {
      yield bytes('ready');
      await new Promise((resolve) => setTimeout(resolve, 20));
      yield bytes('late');
      yield bytes('last');
      finished = true;
    }
    const ahead = await readAhead(body());
    expect(ahead.ended).toBe(false);
    expect(text(ahead.chunks)).toEqual(['ready']);
    expect(finished).toBe(false);
    expect(await drain(ahead.rest)).toEqual(['late', 'last']);
  });

  it('reads no further than maxBytes', async () => {
    let pulled = 0;
    async function* body() {
      for (let i = 0; i < 100; i++) {
        pulled++;
        yield new Uint8Array(10);
      }
    }
    const ahead = await readAhead(body(), 35);
    expect(ahead.ended).toBe(false);
    expect(ahead.bytes).toBe(40);
    expect(pulled).toBe(4);
    const rest = await drain(ahead.rest);
    expect(rest).toHaveLength(96);
  });

  it("return() reaches the body's own", async () => {
    let returned = false;
    async function* body() {
      try {
        yield bytes('a');
        await new Promise((resolve) => setTimeout(resolve, 10));
        yield bytes('b');
      } finally {
        returned = true;
      }
    }
    const ahead = await readAhead(body());
    expect(ahead.ended).toBe(false);
    await ahead.rest.return?.();
    expect(returned).toBe(true);
  });
});

describe('joinSmall', () => {
  it('joins small chunks into one, and leaves large ones (and a single one) as they are', () => {
    const small = [bytes('ab'), bytes('c')];
    expect(text(joinSmall(small))).toEqual(['abc']);
    const one = [bytes('abc')];
    expect(joinSmall(one)[0]).toBe(one[0]);
    const large = [new Uint8Array(40), new Uint8Array(40)];
    const kept = joinSmall(large, 64);
    expect(kept).toHaveLength(2);
    expect(kept[0]).toBe(large[0]);
    expect(joinSmall([])).toEqual([]);
  });
});

describe('settleBody', () => {
  async function* chunks(...parts: string[]) {
    for (const part of parts) yield bytes(part);
  }

  it('a body that ends at once: whole, with its Content-Length added', async () => {
    const settled = await settleBody([['content-type', 'application/json']], chunks('{"a":', '1}'));
    if (!('whole' in settled)) throw new Error('expected the whole body');
    expect(text([settled.whole])).toEqual(['{"a":1}']);
    expect(settled.headers).toEqual([
      ['content-type', 'application/json'],
      ['content-length', '7'],
    ]);
    const given = await settleBody([['Content-Length', '2']], chunks('ok'));
    expect(given.headers).toEqual([['Content-Length', '2']]);
  });

  it('a body that waits: what was ready joined, then the rest; headers unchanged', async () => {
    async function* body() {
      yield bytes('a');
      yield bytes('b');
      await new Promise((resolve) => setTimeout(resolve, 10));
      yield bytes('c');
    }
    const settled = await settleBody([['x', '1']], body());
    if (!('first' in settled)) throw new Error('expected a streamed body');
    expect(settled.headers).toEqual([['x', '1']]);
    expect(text(settled.first)).toEqual(['ab']);
    expect(await drain(settled.rest)).toEqual(['c']);
  });
});
