import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ClaimOptions, StoreUnavailable } from '@batch/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteRecordStore, recordsDatabasePath } from './createSqliteRecordStore.js';

// What the shared contract (run against this store in @batch/test-suite) cannot show: a
// restart, another process holding the file, the lazy expiry on a fake clock.

const claim = (overrides: Partial<ClaimOptions> = {}): ClaimOptions => ({
  fingerprint: 'fp',
  owner: 'a',
  leaseMs: 30_000,
  retentionMs: 86_400_000,
  total: 3,
  info: '{"format":"json"}',
  maxBytes: 1_000_000,
  ...overrides,
});

const scratch: string[] = [];
function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'batch-records-'));
  scratch.push(dir);
  return join(dir, 'reading-list.records.db');
}
afterEach(() => {
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * Another process that holds the file's write lock (`BEGIN IMMEDIATE`) for `holdMs`, having
 * claimed `key` itself (a running batch under its own lease) in that transaction.
 */
function otherProcessClaims(
  file: string,
  key: string,
  holdMs: number,
): Promise<{ released: Promise<void> }> {
  const script = `
    const Database = require('libsql');
    const [file, key, holdMs] = process.argv.slice(1);
    const db = new Database(file);
    db.exec('BEGIN IMMEDIATE');
    const now = Date.now();
    db.prepare("INSERT INTO batch_records VALUES (?, 'fp', 'other', 'running', 3, 'theirs', 60000, 1000000, ?, ?, 0)")
      .run(key, now + 60000, now + 120000);
    console.log('locked');
    setTimeout(() => { db.exec('COMMIT'); db.close(); }, Number(holdMs));`;
  const child = spawn(process.execPath, ['-e', script, file, key, String(holdMs)], {
    cwd: import.meta.dirname,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const released = new Promise<void>((resolve, reject) => {
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
  });
  return new Promise((resolve, reject) => {
    child.stdout.once('data', () => resolve({ released }));
    child.on('error', reject);
    released.catch(reject);
  });
}

describe('createSqliteRecordStore', () => {
  it('keeps records across a restart (a new connection to the file)', async () => {
    const file = tempFile();
    const first = createSqliteRecordStore(file);
    await first.claim('finished', claim());
    await first.started('finished', 'a', [0, 1]);
    await first.append('finished', 'a', [{ index: 0, data: Uint8Array.of(1, 2, 3) }]);
    await first.finish('finished', 'a', 86_400_000);
    await first.claim('running', claim({ owner: 'b' }));
    await first.started('running', 'b', [2]);
    await first.link('monitor', 'running', 60_000);
    first.close();

    const second = createSqliteRecordStore(file);
    try {
      const finished = await second.claim('finished', claim({ owner: 'c' }));
      expect(finished).toMatchObject({
        outcome: 'finished',
        record: { started: [0, 1], bytes: 3 },
      });
      if (finished.outcome !== 'finished') throw new Error('unreachable');
      expect(finished.record.answers).toEqual(new Map([[0, Uint8Array.of(1, 2, 3)]]));
      expect(await second.claim('running', claim({ owner: 'c' }))).toMatchObject({
        outcome: 'running',
      });
      expect(await second.resolve('monitor')).toBe('running');
      expect(await second.renew('running', 'b', 30_000)).toBe('ok');
    } finally {
      second.close();
    }
  });

  it('claims atomically against another process: waits for its transaction, then sees its claim', async () => {
    const file = tempFile();
    const store = createSqliteRecordStore(file, { busyTimeoutMs: 20_000 });
    try {
      const { released } = await otherProcessClaims(file, 'k', 300);
      // libsql waits synchronously (busy_timeout) for the other process to commit; BEGIN
      // IMMEDIATE makes the claim read after it did (a deferred one would have read before).
      expect(await store.claim('k', claim())).toMatchObject({ outcome: 'running', info: 'theirs' });
      await released;
      expect(await store.claim('free', claim())).toEqual({ outcome: 'new' });
    } finally {
      store.close();
    }
  });

  it('rejects with StoreUnavailable when the file stays locked past busyTimeoutMs', async () => {
    const file = tempFile();
    const store = createSqliteRecordStore(file, { busyTimeoutMs: 50 });
    try {
      const { released } = await otherProcessClaims(file, 'k', 3_000);
      await expect(store.claim('k', claim())).rejects.toThrow(StoreUnavailable);
      expect(await store.read('k')).toBeUndefined(); // reads do not wait for writers (WAL)
      await released;
      expect((await store.read('k'))?.owner).toBe('other');
    } finally {
      store.close();
    }
  });

  it('forgets expired records lazily, and sweeps old ones on claim', async () => {
    let time = 1_000_000;
    const store = createSqliteRecordStore(':memory:', { now: () => time });
    try {
      await store.claim('old', claim({ leaseMs: 10, retentionMs: 100 }));
      await store.append('old', 'a', [{ index: 0, data: new Uint8Array(5) }]);
      time += 109;
      expect((await store.read('old'))?.leaseLapsed).toBe(true);
      time += 1;
      expect(await store.read('old')).toBeUndefined();
      await store.claim('other', claim());
      time -= 1; // the sweep deleted it: even the past cannot read it now
      expect(await store.read('old')).toBeUndefined();
    } finally {
      store.close();
    }
  });

  it('rejects with StoreUnavailable once closed', async () => {
    const store = createSqliteRecordStore(':memory:');
    store.close();
    await expect(store.claim('k', claim())).rejects.toThrow(StoreUnavailable);
  });

  it('puts the records beside the articles, in a file of their own', () => {
    expect(recordsDatabasePath('/data/reading-list.db')).toBe('/data/reading-list.records.db');
    expect(recordsDatabasePath('/data/articles')).toBe('/data/articles.records');
    expect(recordsDatabasePath(':memory:')).toBe(':memory:');
  });
});
