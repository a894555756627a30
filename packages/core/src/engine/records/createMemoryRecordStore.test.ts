import { describe, expect, it } from 'vitest';
import {
  ANSWER_OVERHEAD_BYTES,
  createMemoryRecordStore,
  RECORD_OVERHEAD_BYTES,
} from './createMemoryRecordStore.js';
import type { ClaimOptions } from './RecordStore.js';
import { RecordTooLarge } from './RecordTooLarge.js';
import { StoreUnavailable } from './StoreUnavailable.js';

// The in-memory store on a fake clock: lifetimes to the millisecond, and its bounds. The
// behaviour it shares with every store (claims, races, takeovers, cancel, answers) is the
// contract suite of @batch/test-suite, run against it and the Redis store in @batch/redis.

function clock() {
  let time = 1_000_000;
  return {
    now: () => time,
    advance(ms: number) {
      time += ms;
    },
  };
}

function claim(overrides: Partial<ClaimOptions> = {}): ClaimOptions {
  return {
    fingerprint: 'fp',
    owner: 'a',
    leaseMs: 1_000,
    retentionMs: 10_000,
    total: 3,
    info: '',
    maxBytes: 1_000_000,
    ...overrides,
  };
}

const bytes = (length: number) => new Uint8Array(length);

describe('createMemoryRecordStore: lifetimes', () => {
  it('a lease lapses at leaseMs, a renewal moves it, a takeover starts a new one', async () => {
    const time = clock();
    const store = createMemoryRecordStore({ now: time.now });
    await store.claim('k', claim());
    time.advance(999);
    expect(await store.claim('k', claim({ owner: 'b' }))).toEqual({
      outcome: 'running',
      retryAfterMs: 1,
      info: '',
    });
    expect(await store.renew('k', 'a', 500)).toBe('ok');
    time.advance(499);
    expect((await store.read('k'))?.leaseLapsed).toBe(false);
    time.advance(1);
    expect((await store.read('k'))?.leaseLapsed).toBe(true);
    expect((await store.claim('k', claim({ owner: 'b', leaseMs: 2_000 }))).outcome).toBe(
      'takeover',
    );
    time.advance(1_999);
    expect(await store.claim('k', claim({ owner: 'c' }))).toMatchObject({
      outcome: 'running',
      retryAfterMs: 1,
    });
  });

  it('a running record lives leaseMs + retentionMs from its last renewal; a finished one retentionMs', async () => {
    const time = clock();
    const store = createMemoryRecordStore({ now: time.now });
    await store.claim('crashed', claim());
    await store.claim('finished', claim());
    time.advance(500);
    await store.renew('crashed', 'a', 1_000);
    await store.finish('finished', 'a', 3_000);
    time.advance(2_999);
    expect((await store.read('finished'))?.state).toBe('finished');
    time.advance(1);
    expect(await store.read('finished')).toBeUndefined();
    time.advance(11_499 - 3_500); // renewed at 500: lives until 500 + 1_000 + 10_000
    expect((await store.read('crashed'))?.leaseLapsed).toBe(true);
    time.advance(1);
    expect(await store.read('crashed')).toBeUndefined();
    expect(await store.renew('crashed', 'a', 1_000)).toBe('lost');
  });

  it('an alias lives ttlMs', async () => {
    const time = clock();
    const store = createMemoryRecordStore({ now: time.now });
    await store.link('m', 'k', 100);
    time.advance(99);
    expect(await store.resolve('m')).toBe('k');
    time.advance(1);
    expect(await store.resolve('m')).toBeUndefined();
  });
});

describe('createMemoryRecordStore: bounds', () => {
  it('evicts the oldest finished records and aliases first, never a live running one', async () => {
    const time = clock();
    const store = createMemoryRecordStore({ now: time.now, maxEntries: 3 });
    await store.claim('running', claim());
    await store.claim('old', claim());
    await store.finish('old', 'a', 10_000);
    await store.link('alias', 'old', 10_000);
    await store.claim('new', claim());
    expect(await store.read('old')).toBeUndefined();
    expect(await store.resolve('alias')).toBe('old');
    expect((await store.read('running'))?.state).toBe('running');
    await store.claim('newer', claim());
    expect(await store.resolve('alias')).toBeUndefined();
    // Only running records under live leases left: a claim cannot be recorded.
    await expect(store.claim('newest', claim())).rejects.toThrow(StoreUnavailable);
    expect(await store.read('newest')).toBeUndefined();
    expect(await store.link('m', 'running', 100).catch((error) => error)).toBeInstanceOf(
      StoreUnavailable,
    );
    // A lease that lapsed makes its record evictable.
    time.advance(1_000);
    expect(await store.renew('new', 'a', 1_000)).toBe('ok');
    expect(await store.renew('newer', 'a', 1_000)).toBe('ok');
    expect(await store.claim('newest', claim())).toEqual({ outcome: 'new' });
    expect(await store.read('running')).toBeUndefined();
  });

  it('a finished record becomes young again: age counts from finish', async () => {
    const store = createMemoryRecordStore({ maxEntries: 2 });
    await store.claim('first', claim());
    await store.claim('second', claim());
    await store.finish('second', 'a', 10_000);
    await store.finish('first', 'a', 10_000);
    await store.claim('third', claim());
    expect(await store.read('second')).toBeUndefined();
    expect((await store.read('first'))?.state).toBe('finished');
  });

  it('bounds bytes: answers evict older records, and a live one that cannot fit is refused', async () => {
    // Room for one record with 1,000 bytes of answers, what each holds beyond its bytes counted.
    const store = createMemoryRecordStore({
      maxBytes: RECORD_OVERHEAD_BYTES + ANSWER_OVERHEAD_BYTES + 1_000,
    });
    await store.claim('old', claim());
    await store.append('old', 'a', [{ index: 0, data: bytes(600) }]);
    await store.finish('old', 'a', 10_000);
    await store.claim('k', claim());
    expect(await store.append('k', 'a', [{ index: 0, data: bytes(600) }])).toBe('ok');
    expect(await store.read('old')).toBeUndefined();
    // The record itself is never evicted to make room for its own answers.
    await expect(store.append('k', 'a', [{ index: 1, data: bytes(600) }])).rejects.toThrow(
      StoreUnavailable,
    );
    expect((await store.read('k'))?.bytes).toBe(600);
    // Evicted or removed records give their bytes back.
    await store.remove('k');
    await store.claim('k2', claim());
    expect(await store.append('k2', 'a', [{ index: 0, data: bytes(900) }])).toBe('ok');
  });

  it('checks the record bound before the store bound', async () => {
    const store = createMemoryRecordStore({ maxBytes: RECORD_OVERHEAD_BYTES + 100 });
    await store.claim('k', claim({ maxBytes: 50 }));
    await expect(store.append('k', 'a', [{ index: 0, data: bytes(60) }])).rejects.toThrow(
      RecordTooLarge,
    );
  });

  it('rejects bounds that are not positive integers', () => {
    expect(() => createMemoryRecordStore({ maxEntries: 0 })).toThrow(RangeError);
    expect(() => createMemoryRecordStore({ maxBytes: 1.5 })).toThrow(RangeError);
  });
});
