import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteRecordStore, type SqliteRecordStore } from '@batch/reading-list';
import { afterAll, describe } from 'vitest';
import { recordStoreContract } from './recordStoreContract.js';

// The example apps' SQLite record store (apps/reading-list) against the shared contract, case
// for case as the in-memory and Redis stores: in memory, in a file, and over two connections
// to one file (two processes of an app: every call alternates between them).

describe('the SQLite record store, in memory', () => {
  const store = createSqliteRecordStore(':memory:');
  afterAll(() => store.close());
  recordStoreContract({ store: () => store });
});

describe('the SQLite record store, in a file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'batch-records-'));
  const store = createSqliteRecordStore(join(dir, 'records.db'));
  afterAll(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  recordStoreContract({ store: () => store });
});

describe('the SQLite record store, two connections to one file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'batch-records-'));
  const stores: SqliteRecordStore[] = [
    createSqliteRecordStore(join(dir, 'records.db')),
    createSqliteRecordStore(join(dir, 'records.db')),
  ];
  let turn = 0;
  afterAll(() => {
    for (const store of stores) store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  recordStoreContract({ store: () => stores[turn++ % 2] as SqliteRecordStore });
});
