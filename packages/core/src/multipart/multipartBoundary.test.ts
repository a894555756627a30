import { describe, expect, it, vi } from 'vitest';
import { createBoundary, createChangeSetBoundary } from './multipartBoundary.js';

describe('createBoundary', () => {
  it('makes a fresh unquoted token each time: 16 random bytes as 32 base-36 digits', () => {
    const made = Array.from({ length: 500 }, () => createBoundary());
    for (const boundary of made) expect(boundary).toMatch(/^batch_[0-9a-z]{32}$/);
    expect(new Set(made).size).toBe(made.length);
    expect(createChangeSetBoundary('batch_x')).toMatch(/^changeset_[0-9a-z]{32}$/);
  });

  it('takes its bytes from the system random source, a kilobyte at a time, never twice the same', () => {
    const spy = vi.spyOn(globalThis.crypto, 'getRandomValues');
    try {
      // What is left of the last kilobyte first: the first boundary of a new one starts it.
      let first = createBoundary();
      while (spy.mock.calls.length === 0) first = createBoundary();
      const made = [first, ...Array.from({ length: 199 }, () => createBoundary())];
      // 200 × 16 bytes = 3 200 bytes: 4 kilobytes fetched, no more.
      expect(spy.mock.calls.length).toBe(4);
      const filled = spy.mock.results.map((result) => result.value as Uint8Array);
      expect(filled.every((bytes) => bytes.length === 1024)).toBe(true);
      // The tokens are those bytes, in order, none given out twice.
      const digits = filled
        .flatMap((bytes) => Array.from(bytes, (byte) => byte.toString(36).padStart(2, '0')))
        .join('');
      const tokens = made.map((boundary) => boundary.slice('batch_'.length)).join('');
      expect(digits.startsWith(tokens)).toBe(true);
    } finally {
      spy.mockRestore();
    }
  });
});
