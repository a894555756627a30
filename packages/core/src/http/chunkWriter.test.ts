import { afterEach, describe, expect, it, vi } from 'vitest';
import { ChunkWriter as NativeChunkWriter } from './chunkWriter.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The writer as Node runs it, and as a browser does (no Buffer methods to borrow). */
async function portableChunkWriter(): Promise<typeof NativeChunkWriter> {
  vi.resetModules();
  vi.doMock('./nativeBytes.js', () => ({
    native: undefined,
    nativeUtf8Length: undefined,
    nativeAllocUnsafe: undefined,
  }));
  expect((await import('./nativeBytes.js')).native).toBeUndefined();
  return (await import('./chunkWriter.js')).ChunkWriter;
}

afterEach(() => {
  vi.doUnmock('./nativeBytes.js');
  vi.resetModules();
});

function join(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((total, chunk) => total + chunk.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

describe.each([
  ['with Buffer methods', async () => NativeChunkWriter],
  ['portable', portableChunkWriter],
])('ChunkWriter (%s)', (_name, load) => {
  it('writes text (UTF-8), latin1 text and small bytes into one chunk, in order', async () => {
    const ChunkWriter = await load();
    const out = new ChunkWriter(1024);
    out.text('{"title":"Café ☕ 😀"');
    out.latin1(',"x":"\u00e9"');
    out.bytes(encoder.encode(',"n":1}'));
    const chunks = out.take();
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toEqual(
      join([
        encoder.encode('{"title":"Café ☕ 😀"'),
        new Uint8Array([...',"x":"'].map((c) => c.charCodeAt(0)).concat(0xe9, 0x22)),
        encoder.encode(',"n":1}'),
      ]),
    );
    expect(out.take()).toEqual([]);
  });

  it('passes bytes over the limit on as their own chunk, not copied', async () => {
    const ChunkWriter = await load();
    const out = new ChunkWriter(8);
    const big = encoder.encode('0123456789abcdef');
    out.text('head');
    out.bytes(big);
    out.text('tail');
    const chunks = out.take();
    expect(chunks.map((chunk) => decoder.decode(chunk))).toEqual([
      'head',
      '0123456789abcdef',
      'tail',
    ]);
    expect(chunks[1]).toBe(big);
  });

  it('never changes a chunk it handed out, across many buffers', async () => {
    const ChunkWriter = await load();
    const out = new ChunkWriter(64 * 1024);
    const taken: Array<{ chunk: Uint8Array; copy: Uint8Array }> = [];
    let expected = '';
    for (let i = 0; i < 2000; i++) {
      const piece = `${i}:${'é'.repeat(i % 7)}${'x'.repeat(i % 50)};`;
      expected += piece;
      if (i % 3 === 0) out.bytes(encoder.encode(piece));
      else out.text(piece);
      if (i % 5 === 0) for (const chunk of out.take()) taken.push({ chunk, copy: chunk.slice() });
    }
    for (const chunk of out.take()) taken.push({ chunk, copy: chunk.slice() });
    expect(taken.length).toBeGreaterThan(100);
    for (const { chunk, copy } of taken) expect(chunk).toEqual(copy);
    expect(decoder.decode(join(taken.map(({ chunk }) => chunk)))).toBe(expected);
  });

  it('keeps writers that share the slab apart, whatever order they write in', async () => {
    const ChunkWriter = await load();
    const writers = [0, 1, 2].map(() => ({
      out: new ChunkWriter(64 * 1024),
      expected: '',
      taken: [] as Array<{ chunk: Uint8Array; copy: Uint8Array }>,
    }));
    for (let i = 0; i < 3000; i++) {
      // Interleaved as batches answering at once would: a few pieces each, in turn.
      const writer = writers[(i * 7) % 3]!;
      if (i % 4 === 0) {
        const mark = `${i};`.padEnd(i % 9, '.');
        writer.out.latin1(mark);
        writer.expected += mark;
      }
      const piece = `${i}:${'ü'.repeat(i % 5)}${'y'.repeat(i % 40)};`;
      writer.expected += piece;
      if (i % 2 === 0) writer.out.text(piece);
      else writer.out.bytes(encoder.encode(piece));
      if (i % 11 === 0)
        for (const chunk of writer.out.take()) writer.taken.push({ chunk, copy: chunk.slice() });
    }
    for (const writer of writers) {
      for (const chunk of writer.out.take()) writer.taken.push({ chunk, copy: chunk.slice() });
      for (const { chunk, copy } of writer.taken) expect(chunk).toEqual(copy);
      expect(decoder.decode(join(writer.taken.map(({ chunk }) => chunk)))).toBe(writer.expected);
    }
  });

  it('takes a piece larger than its buffer size whole', async () => {
    const ChunkWriter = await load();
    const out = new ChunkWriter(1024 * 1024);
    const text = 'ü'.repeat(20_000);
    out.text(text);
    out.bytes(new Uint8Array(40_000).fill(0x61));
    expect(decoder.decode(join(out.take()))).toBe(text + 'a'.repeat(40_000));
  });
});
