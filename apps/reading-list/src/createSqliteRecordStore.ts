import {
  type BatchRecord,
  type ClaimOptions,
  type ClaimResult,
  checkAnswers,
  checkClaim,
  checkDuration,
  checkIndexes,
  checkRecordKey,
  type LeaseStatus,
  type RecordedAnswer,
  type RecordState,
  type RecordStore,
  RecordTooLarge,
  StoreUnavailable,
} from '@batch/core';
import Database from 'libsql';
import { isInMemory } from './database.js';

/** Options of `createSqliteRecordStore`. */
export interface SqliteRecordStoreOptions {
  /**
   * How long a call waits for another process's write on the same file before it rejects
   * with `StoreUnavailable` (the engine answers `503`). libsql waits synchronously: keep it short.
   * @default 1000
   */
  busyTimeoutMs?: number;
  /**
   * The clock, in milliseconds (leases, lifetimes). Every process on one file must agree on it.
   * @default Date.now
   */
  now?: () => number;
}

/** A `RecordStore` over SQLite that holds a connection: `close()` it when the app stops. */
export interface SqliteRecordStore extends RecordStore {
  /** The database file, or `':memory:'`. */
  readonly database: string;
  close(): void;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS batch_records (
    key TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, owner TEXT NOT NULL, state TEXT NOT NULL,
    total INTEGER NOT NULL, info TEXT NOT NULL, retention_ms INTEGER NOT NULL,
    max_bytes INTEGER NOT NULL, lease_until INTEGER NOT NULL, expires_at INTEGER NOT NULL,
    bytes INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS batch_records_expiry ON batch_records (expires_at);
  CREATE TABLE IF NOT EXISTS batch_record_items (
    key TEXT NOT NULL, idx INTEGER NOT NULL, started INTEGER NOT NULL, answer BLOB,
    PRIMARY KEY (key, idx)
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS batch_record_aliases (
    alias TEXT PRIMARY KEY, key TEXT NOT NULL, expires_at INTEGER NOT NULL
  ) WITHOUT ROWID;
`;

interface Row {
  fingerprint: string;
  owner: string;
  state: RecordState;
  total: number;
  info: string;
  retention_ms: number;
  max_bytes: number;
  lease_until: number;
  expires_at: number;
  bytes: number;
}

/** Expired records swept per `claim` (each call also forgets its own key's expired record). */
const SWEEP = 100;

/**
 * The example apps' recorded-batch store (SPEC §8, §9) over SQLite, in tables of its own
 * (`batch_records`, `batch_record_items`, `batch_record_aliases`): records survive a restart.
 * Leases and lifetimes are timestamps; an expired record is forgotten when its key is next
 * used (and up to 100 of them by every `claim`). Every call is one transaction, `BEGIN
 * IMMEDIATE` when it writes, so that several processes on one file (each waiting up to
 * `busyTimeoutMs` for the others) behave as one store. Give it its own file
 * (`recordsDatabasePath`): on the articles' file, it would wait for every atomicity group's
 * open transaction.
 */
export function createSqliteRecordStore(
  database: string,
  options: SqliteRecordStoreOptions = {},
): SqliteRecordStore {
  const now = options.now ?? Date.now;
  const busyTimeoutMs = options.busyTimeoutMs ?? 1_000;
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0)
    throw new RangeError('busyTimeoutMs must be a non-negative integer');
  const db = new Database(database);
  try {
    db.exec(`PRAGMA busy_timeout = ${busyTimeoutMs}`);
    if (!isInMemory(database)) db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL');
    db.exec(`BEGIN IMMEDIATE; ${SCHEMA} COMMIT;`);
  } catch (error) {
    db.close();
    throw error;
  }

  const sql = {
    record: db.prepare('SELECT * FROM batch_records WHERE key = ?'),
    items: db.prepare(
      'SELECT idx, started, answer FROM batch_record_items WHERE key = ? ORDER BY idx',
    ),
    answerLength: db.prepare(
      'SELECT length(answer) AS n FROM batch_record_items WHERE key = ? AND idx = ?',
    ),
    insert: db.prepare(
      `INSERT INTO batch_records (key, fingerprint, owner, state, total, info, retention_ms,
       max_bytes, lease_until, expires_at, bytes) VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, 0)`,
    ),
    takeOver: db.prepare(
      `UPDATE batch_records SET owner = ?, state = 'running', retention_ms = ?, max_bytes = ?,
       lease_until = ?, expires_at = ? WHERE key = ?`,
    ),
    lease: db.prepare('UPDATE batch_records SET lease_until = ?, expires_at = ? WHERE key = ?'),
    finish: db.prepare(
      `UPDATE batch_records SET state = CASE state WHEN 'running' THEN 'finished' ELSE state END,
       lease_until = ?, retention_ms = ?, expires_at = ? WHERE key = ?`,
    ),
    state: db.prepare('UPDATE batch_records SET state = ? WHERE key = ?'),
    bytes: db.prepare('UPDATE batch_records SET bytes = ? WHERE key = ?'),
    started: db.prepare(
      `INSERT INTO batch_record_items (key, idx, started) VALUES (?, ?, 1)
       ON CONFLICT (key, idx) DO UPDATE SET started = 1`,
    ),
    answer: db.prepare(
      `INSERT INTO batch_record_items (key, idx, started, answer) VALUES (?, ?, 0, ?)
       ON CONFLICT (key, idx) DO UPDATE SET answer = excluded.answer`,
    ),
    removeItems: db.prepare('DELETE FROM batch_record_items WHERE key = ?'),
    removeRecord: db.prepare('DELETE FROM batch_records WHERE key = ?'),
    expired: db.prepare(`SELECT key FROM batch_records WHERE expires_at <= ? LIMIT ${SWEEP}`),
    removeAlias: db.prepare('DELETE FROM batch_record_aliases WHERE alias = ?'),
    sweepAliases: db.prepare('DELETE FROM batch_record_aliases WHERE expires_at <= ?'),
    link: db.prepare('INSERT INTO batch_record_aliases (alias, key, expires_at) VALUES (?, ?, ?)'),
    resolve: db.prepare('SELECT key FROM batch_record_aliases WHERE alias = ? AND expires_at > ?'),
  };

  /** Runs `work` in one transaction; SQLite's own failures (busy, I/O) become `StoreUnavailable`. */
  function transaction<T>(mode: 'IMMEDIATE' | 'DEFERRED', work: (at: number) => T): T {
    try {
      db.exec(`BEGIN ${mode}`);
    } catch (error) {
      throw unavailable(error);
    }
    try {
      const result = work(now());
      db.exec('COMMIT');
      return result;
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK');
      if (
        error instanceof RecordTooLarge ||
        error instanceof RangeError ||
        error instanceof TypeError
      )
        throw error;
      throw unavailable(error);
    }
  }

  function unavailable(error: unknown): StoreUnavailable {
    const message = error instanceof Error ? error.message : String(error);
    return new StoreUnavailable(`the SQLite record store failed: ${message}`, { cause: error });
  }

  function forget(key: string): void {
    sql.removeItems.run(key);
    sql.removeRecord.run(key);
  }

  /** The live record under `key`; an expired one is deleted (in a write transaction). */
  function live(key: string, at: number, write = true): Row | undefined {
    const row = sql.record.get(key) as Row | undefined;
    if (row === undefined || row.expires_at > at) return row;
    if (write) forget(key);
    return undefined;
  }

  /** The record `owner` may write; `undefined` when it is someone else's, or gone. */
  function owned(key: string, owner: string, at: number): Row | undefined {
    const row = live(key, at);
    return row?.owner === owner ? row : undefined;
  }

  function snapshot(key: string, row: Row, at: number): BatchRecord {
    const started: number[] = [];
    const answers = new Map<number, Uint8Array>();
    for (const item of sql.items.all(key) as Array<{
      idx: number;
      started: number;
      answer: ArrayBuffer | null; // libsql reads a BLOB as an ArrayBuffer of its own
    }>) {
      if (item.started === 1) started.push(item.idx);
      if (item.answer !== null) answers.set(item.idx, new Uint8Array(item.answer));
    }
    return {
      fingerprint: row.fingerprint,
      state: row.state,
      owner: row.owner,
      leaseLapsed: row.state === 'running' && row.lease_until <= at,
      total: row.total,
      info: row.info,
      started,
      answers,
      bytes: row.bytes,
    };
  }

  const statusOf = (row: Row): LeaseStatus => (row.state === 'cancelled' ? 'cancelled' : 'ok');
  const blob = (data: Uint8Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength);

  return {
    database,

    async claim(key: string, claim: ClaimOptions): Promise<ClaimResult> {
      checkClaim(key, claim);
      return transaction('IMMEDIATE', (at): ClaimResult => {
        for (const { key: old } of sql.expired.all(at) as Array<{ key: string }>) forget(old);
        const row = live(key, at);
        if (row === undefined) {
          const { fingerprint, owner, total, info, retentionMs, maxBytes, leaseMs } = claim;
          const leaseUntil = at + leaseMs;
          sql.insert.run(
            key,
            fingerprint,
            owner,
            total,
            info,
            retentionMs,
            maxBytes,
            leaseUntil,
            leaseUntil + retentionMs,
          );
          return { outcome: 'new' };
        }
        if (row.fingerprint !== claim.fingerprint) return { outcome: 'mismatch' };
        if (row.state === 'finished')
          return { outcome: 'finished', record: snapshot(key, row, at) };
        if (row.state === 'running' && row.lease_until > at)
          return { outcome: 'running', retryAfterMs: row.lease_until - at, info: row.info };
        // A lapsed lease, or a cancelled batch: the claimant takes it over.
        const leaseUntil = at + claim.leaseMs;
        sql.takeOver.run(
          claim.owner,
          claim.retentionMs,
          claim.maxBytes,
          leaseUntil,
          leaseUntil + claim.retentionMs,
          key,
        );
        const taken = {
          ...row,
          owner: claim.owner,
          state: 'running',
          lease_until: leaseUntil,
        } as const;
        return { outcome: 'takeover', record: snapshot(key, taken, at) };
      });
    },

    async renew(key: string, owner: string, leaseMs: number): Promise<LeaseStatus> {
      checkRecordKey(key, 'key');
      checkRecordKey(owner, 'owner');
      checkDuration(leaseMs, 'leaseMs');
      return transaction('IMMEDIATE', (at) => {
        const row = owned(key, owner, at);
        if (row === undefined) return 'lost';
        if (row.state === 'running')
          sql.lease.run(at + leaseMs, at + leaseMs + row.retention_ms, key);
        return statusOf(row);
      });
    },

    async started(key: string, owner: string, indexes: readonly number[]): Promise<LeaseStatus> {
      checkRecordKey(key, 'key');
      checkRecordKey(owner, 'owner');
      checkIndexes(indexes);
      return transaction('IMMEDIATE', (at) => {
        const row = owned(key, owner, at);
        if (row === undefined) return 'lost';
        if (row.state === 'cancelled') return 'cancelled';
        checkIndexes(indexes, row.total);
        for (const index of indexes) sql.started.run(key, index);
        return 'ok';
      });
    },

    async append(
      key: string,
      owner: string,
      answers: readonly RecordedAnswer[],
    ): Promise<LeaseStatus> {
      checkRecordKey(key, 'key');
      checkRecordKey(owner, 'owner');
      checkAnswers(answers);
      return transaction('IMMEDIATE', (at) => {
        const row = owned(key, owner, at);
        if (row === undefined) return 'lost';
        checkAnswers(answers, row.total);
        // Later answers of one index replace earlier ones, in this call as in the record.
        const replaced = new Map<number, Uint8Array>();
        for (const { index, data } of answers) replaced.set(index, data);
        let bytes = row.bytes;
        for (const [index, data] of replaced) {
          const old = sql.answerLength.get(key, index) as { n: number | null } | undefined;
          bytes += data.byteLength - (old?.n ?? 0);
        }
        if (bytes > row.max_bytes) throw new RecordTooLarge(key, bytes, row.max_bytes);
        for (const [index, data] of replaced) sql.answer.run(key, index, blob(data));
        sql.bytes.run(bytes, key);
        return statusOf(row);
      });
    },

    async finish(key: string, owner: string, retentionMs: number): Promise<LeaseStatus> {
      checkRecordKey(key, 'key');
      checkRecordKey(owner, 'owner');
      checkDuration(retentionMs, 'retentionMs');
      return transaction('IMMEDIATE', (at) => {
        const row = owned(key, owner, at);
        if (row === undefined) return 'lost';
        sql.finish.run(at, retentionMs, at + retentionMs, key);
        return statusOf(row);
      });
    },

    async cancel(key: string): Promise<boolean> {
      checkRecordKey(key, 'key');
      return transaction('IMMEDIATE', (at) => {
        if (live(key, at) === undefined) return false;
        sql.state.run('cancelled', key);
        return true;
      });
    },

    async read(key: string): Promise<BatchRecord | undefined> {
      checkRecordKey(key, 'key');
      return transaction('DEFERRED', (at) => {
        const row = live(key, at, false);
        return row === undefined ? undefined : snapshot(key, row, at);
      });
    },

    async remove(key: string): Promise<void> {
      checkRecordKey(key, 'key');
      transaction('IMMEDIATE', () => forget(key));
    },

    async link(alias: string, key: string, ttlMs: number): Promise<void> {
      checkRecordKey(alias, 'alias');
      checkRecordKey(key, 'key');
      checkDuration(ttlMs, 'ttlMs');
      transaction('IMMEDIATE', (at) => {
        sql.sweepAliases.run(at);
        sql.removeAlias.run(alias);
        sql.link.run(alias, key, at + ttlMs);
      });
    },

    async resolve(alias: string): Promise<string | undefined> {
      checkRecordKey(alias, 'alias');
      return transaction('DEFERRED', (at) => {
        const row = sql.resolve.get(alias, at) as { key: string } | undefined;
        return row?.key;
      });
    },

    close(): void {
      if (db.open) db.close();
    },
  };
}

/**
 * Where the example apps keep their records beside the articles' `database`: the same
 * folder, a file of its own (`reading-list.db` → `reading-list.records.db`); `:memory:` stays
 * in memory.
 */
export function recordsDatabasePath(database: string): string {
  if (isInMemory(database)) return database;
  return database.endsWith('.db') ? `${database.slice(0, -3)}.records.db` : `${database}.records`;
}
