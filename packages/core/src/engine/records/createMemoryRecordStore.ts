import {
  checkAnswers,
  checkClaim,
  checkDuration,
  checkIndexes,
  checkRecordKey,
} from './checkRecordArguments.js';
import type {
  BatchRecord,
  ClaimOptions,
  ClaimResult,
  LeaseStatus,
  RecordedAnswer,
  RecordState,
  RecordStore,
} from './RecordStore.js';
import { RecordTooLarge } from './RecordTooLarge.js';
import { StoreUnavailable } from './StoreUnavailable.js';

/** Options of `createMemoryRecordStore`. */
export interface MemoryRecordStoreOptions {
  /**
   * The most entries held: records and aliases, one each. Past it, the oldest evictable
   * entry goes (see `createMemoryRecordStore`).
   * @default 10_000
   */
  maxEntries?: number;
  /**
   * The most bytes held, counted as the answers' lengths plus the lengths of every key,
   * alias, fingerprint, owner and `info` string (one byte per UTF-16 code unit; JavaScript's
   * own per-object overhead is not counted). Past it, the oldest evictable entry goes.
   * @default 67_108_864 (64 MiB)
   */
  maxBytes?: number;
  /**
   * The clock, in milliseconds (leases, lifetimes): tests pass a fake one.
   * @default Date.now
   */
  now?: () => number;
}

/** The default `maxEntries` of the in-memory record store. */
export const DEFAULT_MEMORY_STORE_MAX_ENTRIES = 10_000;
/** The default `maxBytes` of the in-memory record store: 64 MiB. */
export const DEFAULT_MEMORY_STORE_MAX_BYTES = 64 * 1024 * 1024;

interface RecordEntry {
  kind: 'record';
  key: string;
  fingerprint: string;
  owner: string;
  state: RecordState;
  total: number;
  info: string;
  retentionMs: number;
  maxBytes: number;
  leaseUntil: number;
  expiresAt: number;
  started: Set<number>;
  answers: Map<number, Uint8Array>;
  /** The answers' bytes (what `maxBytes` bounds). */
  answerBytes: number;
  /** What the entry counts against the store's `maxBytes`. */
  size: number;
}

interface AliasEntry {
  kind: 'alias';
  key: string;
  expiresAt: number;
  size: number;
}

type Entry = RecordEntry | AliasEntry;

/**
 * The in-memory recorded-batch store: every adapter's default, for an API that runs as one
 * process (records live as long as the process). Bounded in entries and bytes; when a write
 * would pass a bound, the oldest evictable entries go first — expired ones, aliases, finished
 * and cancelled records, and running records whose lease lapsed — oldest first (age counts
 * from a record's claim, takeover or finish, an alias's link).
 *
 * **A running record under a live lease is never evicted** (its retry would run the batch a
 * second time): when nothing else is left to evict, the write rejects with
 * `StoreUnavailable` (the engine answers `503` with `Retry-After`) — a `claim` before anything
 * runs, or an `append` of a running batch whose answers then go unrecorded. Size
 * `maxBytes` for the batches that may run at once.
 *
 * An evicted finished record is forgotten: a retry with its key runs the batch again.
 */
export function createMemoryRecordStore(options: MemoryRecordStoreOptions = {}): RecordStore {
  return new MemoryRecordStore(options);
}

/**
 * What an answer and a record hold in the process beyond their bytes (the buffer, the map
 * entry, the record's own objects), counted against `maxBytes` so that the bound is the
 * memory really held: measured with 10,000 keyed batches of 50 small answers (apps/bench
 * records.mjs), where counting bytes alone understated the heap about 3×.
 */
export const ANSWER_OVERHEAD_BYTES = 640;
export const RECORD_OVERHEAD_BYTES = 2048;

/** The key a record's entry is kept under (records and aliases share one map). */
const recordId = (key: string) => `r${key}`;
const aliasId = (alias: string) => `a${alias}`;

const statusOf = (entry: RecordEntry): LeaseStatus =>
  entry.state === 'cancelled' ? 'cancelled' : 'ok';

function evictable(entry: Entry, at: number): boolean {
  return (
    entry.kind === 'alias' ||
    entry.expiresAt <= at ||
    entry.state !== 'running' ||
    entry.leaseUntil <= at
  );
}

function snapshot(entry: RecordEntry, at: number): BatchRecord {
  return {
    fingerprint: entry.fingerprint,
    state: entry.state,
    owner: entry.owner,
    leaseLapsed: entry.state === 'running' && entry.leaseUntil <= at,
    total: entry.total,
    info: entry.info,
    started: [...entry.started].sort((a, b) => a - b),
    answers: new Map(
      [...entry.answers].sort(([a], [b]) => a - b).map(([index, data]) => [index, data.slice()]),
    ),
    bytes: entry.answerBytes,
  };
}

class MemoryRecordStore implements RecordStore {
  readonly #maxEntries: number;
  readonly #maxBytes: number;
  readonly #now: () => number;
  // Insertion order is age: an entry is re-inserted when its age restarts.
  readonly #entries = new Map<string, Entry>();
  #bytes = 0;

  constructor(options: MemoryRecordStoreOptions) {
    const maxEntries = options.maxEntries ?? DEFAULT_MEMORY_STORE_MAX_ENTRIES;
    const maxBytes = options.maxBytes ?? DEFAULT_MEMORY_STORE_MAX_BYTES;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1)
      throw new RangeError('maxEntries must be a positive integer');
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 1)
      throw new RangeError('maxBytes must be a positive integer');
    this.#maxEntries = maxEntries;
    this.#maxBytes = maxBytes;
    this.#now = options.now ?? Date.now;
  }

  #drop(id: string): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    this.#entries.delete(id);
    this.#bytes -= entry.size;
  }

  #put(id: string, entry: Entry): void {
    this.#drop(id);
    this.#entries.set(id, entry);
    this.#bytes += entry.size;
  }

  #live<T extends Entry>(id: string, kind: T['kind'], at: number): T | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= at) {
      this.#drop(id);
      return undefined;
    }
    return entry.kind === kind ? (entry as T) : undefined;
  }

  /**
   * Evicts the oldest evictable entries (never `keep`) until `moreEntries` and `moreBytes`
   * fit; throws `StoreUnavailable` when they cannot.
   */
  #makeRoom(moreEntries: number, moreBytes: number, at: number, keep?: string): void {
    if (
      this.#entries.size + moreEntries <= this.#maxEntries &&
      this.#bytes + moreBytes <= this.#maxBytes
    )
      return;
    for (const [id, entry] of this.#entries) {
      if (id !== keep && evictable(entry, at)) this.#drop(id);
      if (
        this.#entries.size + moreEntries <= this.#maxEntries &&
        this.#bytes + moreBytes <= this.#maxBytes
      )
        return;
    }
    throw new StoreUnavailable(
      `the in-memory record store is full of running batches (${this.#entries.size} entries, ${this.#bytes} of ${this.#maxBytes} bytes)`,
    );
  }

  /** The record `owner` may write, with what its call finds; `undefined` when lost. */
  #owned(key: string, owner: string, at: number): RecordEntry | undefined {
    const entry = this.#live<RecordEntry>(recordId(key), 'record', at);
    return entry !== undefined && entry.owner === owner ? entry : undefined;
  }

  async claim(key: string, claim: ClaimOptions): Promise<ClaimResult> {
    checkClaim(key, claim);
    const at = this.#now();
    const id = recordId(key);
    const entry = this.#live<RecordEntry>(id, 'record', at);
    if (entry === undefined) {
      const size =
        RECORD_OVERHEAD_BYTES +
        id.length +
        claim.fingerprint.length +
        claim.owner.length +
        claim.info.length;
      this.#makeRoom(1, size, at);
      this.#put(id, {
        kind: 'record',
        key,
        fingerprint: claim.fingerprint,
        owner: claim.owner,
        state: 'running',
        total: claim.total,
        info: claim.info,
        retentionMs: claim.retentionMs,
        maxBytes: claim.maxBytes,
        leaseUntil: at + claim.leaseMs,
        expiresAt: at + claim.leaseMs + claim.retentionMs,
        started: new Set(),
        answers: new Map(),
        answerBytes: 0,
        size,
      });
      return { outcome: 'new' };
    }
    if (entry.fingerprint !== claim.fingerprint) return { outcome: 'mismatch' };
    if (entry.state === 'finished') return { outcome: 'finished', record: snapshot(entry, at) };
    if (entry.state === 'running' && entry.leaseUntil > at)
      return { outcome: 'running', retryAfterMs: entry.leaseUntil - at, info: entry.info };
    // A lapsed lease, or a cancelled batch: the claimant takes it over.
    const moreBytes = claim.owner.length - entry.owner.length;
    this.#makeRoom(0, moreBytes, at, id);
    entry.size += moreBytes;
    this.#bytes += moreBytes;
    entry.owner = claim.owner;
    entry.state = 'running';
    entry.retentionMs = claim.retentionMs;
    entry.maxBytes = claim.maxBytes;
    entry.leaseUntil = at + claim.leaseMs;
    entry.expiresAt = at + claim.leaseMs + claim.retentionMs;
    this.#entries.delete(id);
    this.#entries.set(id, entry);
    return { outcome: 'takeover', record: snapshot(entry, at) };
  }

  async renew(key: string, owner: string, leaseMs: number): Promise<LeaseStatus> {
    checkRecordKey(key, 'key');
    checkRecordKey(owner, 'owner');
    checkDuration(leaseMs, 'leaseMs');
    const at = this.#now();
    const entry = this.#owned(key, owner, at);
    if (entry === undefined) return 'lost';
    if (entry.state === 'running') {
      entry.leaseUntil = at + leaseMs;
      entry.expiresAt = at + leaseMs + entry.retentionMs;
    }
    return statusOf(entry);
  }

  async started(key: string, owner: string, indexes: readonly number[]): Promise<LeaseStatus> {
    checkRecordKey(key, 'key');
    checkRecordKey(owner, 'owner');
    checkIndexes(indexes);
    const entry = this.#owned(key, owner, this.#now());
    if (entry === undefined) return 'lost';
    if (entry.state === 'cancelled') return 'cancelled';
    checkIndexes(indexes, entry.total);
    for (const index of indexes) entry.started.add(index);
    return 'ok';
  }

  async append(
    key: string,
    owner: string,
    answers: readonly RecordedAnswer[],
  ): Promise<LeaseStatus> {
    checkRecordKey(key, 'key');
    checkRecordKey(owner, 'owner');
    checkAnswers(answers);
    const at = this.#now();
    const entry = this.#owned(key, owner, at);
    if (entry === undefined) return 'lost';
    checkAnswers(answers, entry.total);
    // Later answers of one index replace earlier ones, in this call as in the record.
    const replaced = new Map<number, Uint8Array>();
    for (const { index, data } of answers) replaced.set(index, data);
    let answerBytes = entry.answerBytes;
    let added = 0;
    for (const [index, data] of replaced) {
      const before = entry.answers.get(index);
      if (before === undefined) added++;
      answerBytes += data.byteLength - (before?.byteLength ?? 0);
    }
    if (answerBytes > entry.maxBytes) throw new RecordTooLarge(key, answerBytes, entry.maxBytes);
    const moreBytes = answerBytes - entry.answerBytes + added * ANSWER_OVERHEAD_BYTES;
    this.#makeRoom(0, moreBytes, at, recordId(key));
    for (const [index, data] of replaced) entry.answers.set(index, data.slice());
    entry.answerBytes = answerBytes;
    entry.size += moreBytes;
    this.#bytes += moreBytes;
    return statusOf(entry);
  }

  async finish(key: string, owner: string, retentionMs: number): Promise<LeaseStatus> {
    checkRecordKey(key, 'key');
    checkRecordKey(owner, 'owner');
    checkDuration(retentionMs, 'retentionMs');
    const at = this.#now();
    const entry = this.#owned(key, owner, at);
    if (entry === undefined) return 'lost';
    if (entry.state === 'running') entry.state = 'finished';
    entry.leaseUntil = at;
    entry.retentionMs = retentionMs;
    entry.expiresAt = at + retentionMs;
    const id = recordId(key);
    this.#entries.delete(id);
    this.#entries.set(id, entry);
    return statusOf(entry);
  }

  async cancel(key: string): Promise<boolean> {
    checkRecordKey(key, 'key');
    const entry = this.#live<RecordEntry>(recordId(key), 'record', this.#now());
    if (entry === undefined) return false;
    entry.state = 'cancelled';
    return true;
  }

  async read(key: string): Promise<BatchRecord | undefined> {
    checkRecordKey(key, 'key');
    const at = this.#now();
    const entry = this.#live<RecordEntry>(recordId(key), 'record', at);
    return entry === undefined ? undefined : snapshot(entry, at);
  }

  async remove(key: string): Promise<void> {
    checkRecordKey(key, 'key');
    this.#drop(recordId(key));
  }

  async link(alias: string, key: string, ttlMs: number): Promise<void> {
    checkRecordKey(alias, 'alias');
    checkRecordKey(key, 'key');
    checkDuration(ttlMs, 'ttlMs');
    const at = this.#now();
    const id = aliasId(alias);
    this.#drop(id);
    const size = id.length + key.length;
    this.#makeRoom(1, size, at);
    this.#put(id, { kind: 'alias', key, expiresAt: at + ttlMs, size });
  }

  async resolve(alias: string): Promise<string | undefined> {
    checkRecordKey(alias, 'alias');
    return this.#live<AliasEntry>(aliasId(alias), 'alias', this.#now())?.key;
  }
}
