import { describe, expect, it } from 'vitest';
import { readAhead } from './readAhead.js';

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
    expect(await drain(ahead.rest)).toEqual(['a', 'bc']);
  });

  it('stops at the first chunk that waits on a timer; the rest still comes, in order', async () => {
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
    expect(await drain(ahead.rest)).toEqual(['ready', 'late', 'last']);
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
    expect(rest).toHaveLength(100);
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
