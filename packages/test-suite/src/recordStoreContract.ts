import { type ClaimOptions, type RecordStore, RecordTooLarge, StoreUnavailable } from '@batch/core';
import { describe, expect, it } from 'vitest';

/** A `RecordStore` under test: the contract suite runs the same cases against each. */
export interface RecordStoreTarget {
  /** The store, ready (connected); the suite uses fresh keys in every case. */
  store(): RecordStore;
}

// Timing: leases and lifetimes that must lapse are short (LAPSE_MS) and waited out with a
// wide margin (WAIT_MS); those that must not lapse are long (LIVE_MS). A busy machine can
// only make a wait longer, never shorter, so neither side can flake.
const LAPSE_MS = 100;
const WAIT_MS = 700;
const LIVE_MS = 60_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let counter = 0;
const fresh = (name: string) => `${name}:${Date.now().toString(36)}:${++counter}`;

function claimOptions(overrides: Partial<ClaimOptions> = {}): ClaimOptions {
  return {
    fingerprint: 'fp-1',
    owner: 'owner-a',
    leaseMs: LIVE_MS,
    retentionMs: LIVE_MS,
    total: 4,
    info: '{"format":"json","monitor":"m-1"}',
    maxBytes: 1024 * 1024,
    ...overrides,
  };
}

/** Every byte value, and then some. */
const allBytes = Uint8Array.from({ length: 512 }, (_, i) => (i * 7 + 3) % 256);

/**
 * The behaviour every `RecordStore` must have (SPEC §8, §9): claim outcomes, races between
 * owners, leases and takeovers, cancellation, binary answers, lifetimes, the per-record
 * bound and aliases. Run it with `describe` context of your own (setup, teardown).
 */
export function recordStoreContract(target: RecordStoreTarget): void {
  const store = () => target.store();

  describe('claim', () => {
    it('creates a record once: new, then running for another owner, mismatch for another batch', async () => {
      const key = fresh('claim');
      expect(await store().claim(key, claimOptions())).toEqual({ outcome: 'new' });
      const running = await store().claim(key, claimOptions({ owner: 'owner-b' }));
      expect(running).toMatchObject({ outcome: 'running', info: claimOptions().info });
      if (running.outcome !== 'running') throw new Error('unreachable');
      expect(running.retryAfterMs).toBeGreaterThan(0);
      expect(running.retryAfterMs).toBeLessThanOrEqual(LIVE_MS);
      expect(
        await store().claim(key, claimOptions({ owner: 'owner-b', fingerprint: 'fp-2' })),
      ).toEqual({ outcome: 'mismatch' });
      expect(await store().read(key)).toEqual({
        fingerprint: 'fp-1',
        state: 'running',
        owner: 'owner-a',
        leaseLapsed: false,
        total: 4,
        info: claimOptions().info,
        started: [],
        answers: new Map(),
        bytes: 0,
      });
    });

    it('lets exactly one of many concurrent claimants win', async () => {
      for (let round = 0; round < 5; round++) {
        const key = fresh('race');
        const owners = Array.from({ length: 8 }, (_, i) => `owner-${i}`);
        const results = await Promise.all(
          owners.map((owner) => store().claim(key, claimOptions({ owner }))),
        );
        const winners = owners.filter((_, i) => results[i]?.outcome === 'new');
        expect(winners).toHaveLength(1);
        expect(results.filter((result) => result.outcome === 'running')).toHaveLength(7);
        expect((await store().read(key))?.owner).toBe(winners[0]);
      }
    });

    it('answers a finished batch with its record, and another batch under its key with mismatch', async () => {
      const key = fresh('finished');
      await store().claim(key, claimOptions());
      await store().append(key, 'owner-a', [{ index: 0, data: allBytes }]);
      expect(await store().finish(key, 'owner-a', LIVE_MS)).toBe('ok');
      const finished = await store().claim(key, claimOptions({ owner: 'owner-b' }));
      expect(finished.outcome).toBe('finished');
      if (finished.outcome !== 'finished') throw new Error('unreachable');
      expect(finished.record.state).toBe('finished');
      expect(finished.record.owner).toBe('owner-a');
      expect(finished.record.answers.get(0)).toEqual(allBytes);
      expect(
        await store().claim(key, claimOptions({ owner: 'owner-b', fingerprint: 'fp-2' })),
      ).toEqual({ outcome: 'mismatch' });
    });

    it('rejects invalid arguments', async () => {
      await expect(store().claim('', claimOptions())).rejects.toThrow(TypeError);
      await expect(store().claim(fresh('bad'), claimOptions({ leaseMs: 0 }))).rejects.toThrow(
        RangeError,
      );
      await expect(store().claim(fresh('bad'), claimOptions({ total: -1 }))).rejects.toThrow(
        RangeError,
      );
      await expect(store().claim(fresh('bad'), claimOptions({ owner: '' }))).rejects.toThrow(
        TypeError,
      );
    });
  });

  describe('leases', () => {
    it('after the lease lapsed, the next claim takes the batch over with what was recorded', async () => {
      const key = fresh('takeover');
      await store().claim(key, claimOptions({ leaseMs: LAPSE_MS }));
      expect(await store().started(key, 'owner-a', [0, 2, 1])).toBe('ok');
      expect(await store().append(key, 'owner-a', [{ index: 0, data: allBytes }])).toBe('ok');
      await sleep(WAIT_MS);
      const lapsed = await store().read(key);
      expect(lapsed?.state).toBe('running');
      expect(lapsed?.leaseLapsed).toBe(true);

      const takeover = await store().claim(key, claimOptions({ owner: 'owner-b', info: 'new' }));
      expect(takeover.outcome).toBe('takeover');
      if (takeover.outcome !== 'takeover') throw new Error('unreachable');
      expect(takeover.record).toMatchObject({
        state: 'running',
        owner: 'owner-b',
        leaseLapsed: false,
        started: [0, 1, 2],
        total: 4,
        info: claimOptions().info,
        bytes: allBytes.length,
      });
      expect([...takeover.record.answers.keys()]).toEqual([0]);
      expect(takeover.record.answers.get(0)).toEqual(allBytes);
      // The new lease is live: a third claimant waits.
      expect((await store().claim(key, claimOptions({ owner: 'owner-c' }))).outcome).toBe(
        'running',
      );

      // The old owner lost it: none of its calls changes anything.
      expect(await store().renew(key, 'owner-a', LIVE_MS)).toBe('lost');
      expect(await store().started(key, 'owner-a', [3])).toBe('lost');
      expect(await store().append(key, 'owner-a', [{ index: 3, data: allBytes }])).toBe('lost');
      expect(await store().finish(key, 'owner-a', LIVE_MS)).toBe('lost');
      const after = await store().read(key);
      expect(after).toMatchObject({ state: 'running', owner: 'owner-b', started: [0, 1, 2] });
      expect(after?.answers.has(3)).toBe(false);
      expect(await store().renew(key, 'owner-b', LIVE_MS)).toBe('ok');
    });

    it('lets exactly one of many concurrent claimants take a lapsed batch over', async () => {
      const key = fresh('takeover-race');
      await store().claim(key, claimOptions({ leaseMs: LAPSE_MS }));
      await sleep(WAIT_MS);
      const owners = Array.from({ length: 8 }, (_, i) => `owner-${i}`);
      const results = await Promise.all(
        owners.map((owner) => store().claim(key, claimOptions({ owner }))),
      );
      expect(results.filter((result) => result.outcome === 'takeover')).toHaveLength(1);
      expect(results.filter((result) => result.outcome === 'running')).toHaveLength(7);
    });

    it('renew keeps the lease live past its first term, and re-arms a lapsed one nobody took', async () => {
      const key = fresh('renew');
      await store().claim(key, claimOptions({ leaseMs: LAPSE_MS }));
      expect(await store().renew(key, 'owner-a', LIVE_MS)).toBe('ok');
      await sleep(WAIT_MS);
      expect((await store().read(key))?.leaseLapsed).toBe(false);
      expect((await store().claim(key, claimOptions({ owner: 'owner-b' }))).outcome).toBe(
        'running',
      );

      const lapsed = fresh('renew-lapsed');
      await store().claim(lapsed, claimOptions({ leaseMs: LAPSE_MS }));
      await sleep(WAIT_MS);
      expect(await store().renew(lapsed, 'owner-a', LIVE_MS)).toBe('ok');
      expect((await store().read(lapsed))?.leaseLapsed).toBe(false);
      expect((await store().claim(lapsed, claimOptions({ owner: 'owner-b' }))).outcome).toBe(
        'running',
      );
    });

    it('renew of a record that is not there, or not the caller’s, is lost', async () => {
      const key = fresh('renew-lost');
      expect(await store().renew(key, 'owner-a', LIVE_MS)).toBe('lost');
      await store().claim(key, claimOptions());
      expect(await store().renew(key, 'owner-b', LIVE_MS)).toBe('lost');
      await store().remove(key);
      expect(await store().renew(key, 'owner-a', LIVE_MS)).toBe('lost');
    });
  });

  describe('cancel', () => {
    it('the owner sees cancelled, starts nothing, still records answers; a resend takes it over', async () => {
      const key = fresh('cancel');
      expect(await store().cancel(key)).toBe(false);
      await store().claim(key, claimOptions());
      expect(await store().started(key, 'owner-a', [0])).toBe('ok');
      expect(await store().cancel(key)).toBe(true);
      expect((await store().read(key))?.state).toBe('cancelled');
      expect(await store().renew(key, 'owner-a', LIVE_MS)).toBe('cancelled');
      expect(await store().started(key, 'owner-a', [1])).toBe('cancelled');
      expect(await store().append(key, 'owner-a', [{ index: 0, data: allBytes }])).toBe(
        'cancelled',
      );
      expect(await store().finish(key, 'owner-a', LIVE_MS)).toBe('cancelled');
      const cancelled = await store().read(key);
      expect(cancelled).toMatchObject({ state: 'cancelled', started: [0], leaseLapsed: false });
      expect(cancelled?.answers.get(0)).toEqual(allBytes);

      expect((await store().claim(key, claimOptions({ fingerprint: 'other' }))).outcome).toBe(
        'mismatch',
      );
      const takeover = await store().claim(key, claimOptions({ owner: 'owner-b' }));
      expect(takeover).toMatchObject({
        outcome: 'takeover',
        record: { state: 'running', owner: 'owner-b', started: [0] },
      });
      expect(await store().renew(key, 'owner-a', LIVE_MS)).toBe('lost');
    });

    it('cancels a finished batch too', async () => {
      const key = fresh('cancel-finished');
      await store().claim(key, claimOptions());
      await store().finish(key, 'owner-a', LIVE_MS);
      expect(await store().cancel(key)).toBe(true);
      expect((await store().read(key))?.state).toBe('cancelled');
    });
  });

  describe('answers', () => {
    it('round-trips binary answers, several per call, the last of an index winning', async () => {
      const key = fresh('answers');
      await store().claim(key, claimOptions());
      const text = new TextEncoder().encode('{"status":200,"body":"é ✓ \u0000"}');
      expect(
        await store().append(key, 'owner-a', [
          { index: 0, data: allBytes },
          { index: 3, data: new Uint8Array(0) },
          { index: 1, data: text },
        ]),
      ).toBe('ok');
      expect(
        await store().append(key, 'owner-a', [{ index: 1, data: allBytes.subarray(5, 9) }]),
      ).toBe('ok');
      const record = await store().read(key);
      expect(record?.answers).toEqual(
        new Map([
          [0, allBytes],
          [1, allBytes.subarray(5, 9)],
          [3, new Uint8Array(0)],
        ]),
      );
      expect([...(record?.answers.keys() ?? [])]).toEqual([0, 1, 3]);
      expect(record?.bytes).toBe(allBytes.length + 4);
    });

    it('keeps its own copies: neither the appended nor the read bytes are shared', async () => {
      const key = fresh('copies');
      await store().claim(key, claimOptions());
      const data = Uint8Array.from([1, 2, 3]);
      await store().append(key, 'owner-a', [{ index: 0, data }]);
      data[0] = 9;
      const first = await store().read(key);
      expect(first?.answers.get(0)).toEqual(Uint8Array.from([1, 2, 3]));
      first?.answers.get(0)?.fill(7);
      expect((await store().read(key))?.answers.get(0)).toEqual(Uint8Array.from([1, 2, 3]));
    });

    it('rejects indexes outside the batch', async () => {
      const key = fresh('indexes');
      await store().claim(key, claimOptions({ total: 2 }));
      await expect(store().started(key, 'owner-a', [2])).rejects.toThrow(RangeError);
      await expect(store().append(key, 'owner-a', [{ index: -1, data: allBytes }])).rejects.toThrow(
        RangeError,
      );
      await expect(store().append(key, 'owner-a', [{ index: 2, data: allBytes }])).rejects.toThrow(
        RangeError,
      );
      await expect(store().started(key, 'owner-a', [0.5])).rejects.toThrow(RangeError);
      expect(await store().read(key)).toMatchObject({ started: [], bytes: 0 });
    });

    it('bounds what one batch records: past maxBytes, nothing of the call is recorded', async () => {
      const key = fresh('bound');
      await store().claim(key, claimOptions({ maxBytes: 10 }));
      expect(await store().append(key, 'owner-a', [{ index: 0, data: new Uint8Array(6) }])).toBe(
        'ok',
      );
      const tooLarge = store().append(key, 'owner-a', [
        { index: 1, data: new Uint8Array(1) },
        { index: 2, data: new Uint8Array(4) },
      ]);
      await expect(tooLarge).rejects.toThrow(RecordTooLarge);
      await expect(tooLarge).rejects.toMatchObject({
        code: 'record_too_large',
        bytes: 11,
        maxBytes: 10,
      });
      const record = await store().read(key);
      expect([...(record?.answers.keys() ?? [])]).toEqual([0]);
      expect(record?.bytes).toBe(6);
      // A replaced answer counts once; exactly maxBytes fits.
      expect(await store().append(key, 'owner-a', [{ index: 0, data: new Uint8Array(10) }])).toBe(
        'ok',
      );
      expect((await store().read(key))?.bytes).toBe(10);
      // The record is still its owner's.
      expect(await store().finish(key, 'owner-a', LIVE_MS)).toBe('ok');
    });
  });

  describe('lifetimes', () => {
    it('keeps a finished record retentionMs, then its key is new again', async () => {
      const kept = fresh('kept');
      const expiring = fresh('expiring');
      for (const key of [kept, expiring]) {
        await store().claim(key, claimOptions());
        await store().started(key, 'owner-a', [0]);
        await store().append(key, 'owner-a', [{ index: 0, data: allBytes }]);
      }
      expect(await store().finish(kept, 'owner-a', LIVE_MS)).toBe('ok');
      expect(await store().finish(kept, 'owner-a', LIVE_MS)).toBe('ok');
      expect(await store().finish(expiring, 'owner-a', LAPSE_MS)).toBe('ok');
      expect(await store().renew(kept, 'owner-a', LAPSE_MS)).toBe('ok');
      await sleep(WAIT_MS);
      expect((await store().read(kept))?.state).toBe('finished');
      expect(await store().read(expiring)).toBeUndefined();
      expect(await store().claim(expiring, claimOptions({ owner: 'owner-b' }))).toEqual({
        outcome: 'new',
      });
      expect(await store().read(expiring)).toMatchObject({ started: [], bytes: 0 });
    });

    it('keeps a crashed record retentionMs after its lease lapsed, then forgets it', async () => {
      const key = fresh('crashed');
      await store().claim(key, claimOptions({ leaseMs: LAPSE_MS, retentionMs: LAPSE_MS }));
      await store().started(key, 'owner-a', [0]);
      await store().append(key, 'owner-a', [{ index: 0, data: allBytes }]);
      await sleep(WAIT_MS);
      expect(await store().read(key)).toBeUndefined();
      expect(await store().claim(key, claimOptions({ owner: 'owner-b' }))).toEqual({
        outcome: 'new',
      });
    });

    it('remove forgets a record at once', async () => {
      const key = fresh('remove');
      await store().claim(key, claimOptions());
      await store().append(key, 'owner-a', [{ index: 0, data: allBytes }]);
      await store().remove(key);
      await store().remove(key);
      expect(await store().read(key)).toBeUndefined();
      expect(await store().claim(key, claimOptions())).toEqual({ outcome: 'new' });
      expect((await store().read(key))?.bytes).toBe(0);
    });
  });

  describe('aliases', () => {
    it('resolves a monitor id to its record key until its ttl', async () => {
      const alias = fresh('monitor');
      const short = fresh('monitor-short');
      expect(await store().resolve(alias)).toBeUndefined();
      await store().link(alias, 'key-1', LIVE_MS);
      expect(await store().resolve(alias)).toBe('key-1');
      await store().link(alias, 'key-2', LIVE_MS);
      expect(await store().resolve(alias)).toBe('key-2');
      await store().link(short, 'key-3', LAPSE_MS);
      await sleep(WAIT_MS);
      expect(await store().resolve(short)).toBeUndefined();
      expect(await store().resolve(alias)).toBe('key-2');
      await expect(store().link(alias, 'key-1', 0)).rejects.toThrow(RangeError);
    });
  });

  it('names its errors', () => {
    expect(new StoreUnavailable('down')).toMatchObject({
      name: 'StoreUnavailable',
      code: 'store_unavailable',
    });
  });
}
