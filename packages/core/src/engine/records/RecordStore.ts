/**
 * What a recorded batch is in: `running` under its owner's lease, `finished` (every answer
 * recorded; replayed to a retry), or `cancelled` (`DELETE` on its monitor: the owner sees it
 * on its next call and stops).
 */
export type RecordState = 'running' | 'finished' | 'cancelled';

/**
 * One item's recorded answer: the item's 0-based index in the batch and its answer as the
 * engine serialised it. The store treats `data` as opaque bytes.
 */
export interface RecordedAnswer {
  index: number;
  data: Uint8Array;
}

/** A recorded batch as `read` (and `claim`, for `finished` and `takeover`) sees it. */
export interface BatchRecord {
  /** The fingerprint the batch was claimed with (SPEC §8), as the engine computed it. */
  fingerprint: string;
  state: RecordState;
  /** The owner of the current (or last) run: the `owner` of the last `claim` that won. */
  owner: string;
  /**
   * `true` when the batch is `running` but its owner's lease ran out: its instance died (or
   * stalled). A monitor then answers with what was recorded (SPEC §9), and the next `claim`
   * with the same fingerprint takes the batch over. Always `false` in the other states.
   */
  leaseLapsed: boolean;
  /** The number of items in the batch, as claimed. */
  total: number;
  /** The engine's own metadata about the batch (format, preferences, monitor id…), opaque. */
  info: string;
  /** The indexes of the items that started, ascending (SPEC §8's unknown-outcome rule). */
  started: number[];
  /** The recorded answers by item index, ascending (copies: the caller may keep or change them). */
  answers: Map<number, Uint8Array>;
  /** The bytes recorded so far: the sum of the answers' lengths. */
  bytes: number;
}

/** What `claim` is asked to create, or to take over. */
export interface ClaimOptions {
  /** The batch's fingerprint; another fingerprint under the same key is a `mismatch`. */
  fingerprint: string;
  /**
   * Who runs the batch: a fresh unguessable id per run (per `claim`), never reused — every
   * later call of the run names it, and a takeover moves the record to another one.
   */
  owner: string;
  /** How long the lease lasts unless renewed (ms, a positive integer). SPEC §8: 30 s. */
  leaseMs: number;
  /**
   * How long the record is kept after its batch finished (ms, a positive integer); a record
   * whose owner stopped renewing is kept as long after its lease ran out. SPEC §8: 24 h.
   */
  retentionMs: number;
  /** The number of items in the batch (a non-negative integer); indexes are `0 … total-1`. */
  total: number;
  /** The engine's metadata about the batch, kept as it is (a string: UTF-8 in Redis). */
  info: string;
  /**
   * The most bytes the batch's answers may take, all together (a non-negative integer): an
   * `append` that would pass it records nothing and rejects with `RecordTooLarge`.
   */
  maxBytes: number;
}

/**
 * The outcome of `claim`:
 * - `new`: no record under the key; one was created, `running`, its lease held by `owner`;
 * - `running`: the same batch runs under another owner's live lease (answer `409` with
 *   `Retry-After`); `retryAfterMs` is what is left of that lease (the latest a takeover
 *   could happen), `info` the record's own;
 * - `finished`: the same batch finished; `record` holds every answer, to replay;
 * - `mismatch`: another batch (another fingerprint) is recorded under the key (`422`);
 * - `takeover`: the same batch, but its lease had lapsed (its instance died) or it was
 *   cancelled: ownership moved atomically to `owner` under a new lease, `state` is
 *   `running` again; `record` holds what was recorded (answers, started items) — replay
 *   those, run the items never started, and apply SPEC §8's unknown-outcome rule to
 *   started items without an answer. `info`, `total` and the answers are kept.
 */
export type ClaimResult =
  | { outcome: 'new' }
  | { outcome: 'running'; retryAfterMs: number; info: string }
  | { outcome: 'finished'; record: BatchRecord }
  | { outcome: 'mismatch' }
  | { outcome: 'takeover'; record: BatchRecord };

/**
 * What an owner's call found:
 * - `ok`: the record is still this owner's (and the call did what it says);
 * - `lost`: the record is someone else's now (taken over) or gone (expired, removed,
 *   evicted): stop — start nothing more, nothing more is recorded;
 * - `cancelled`: the batch was cancelled (`DELETE` on its monitor): start nothing more,
 *   abort what runs.
 */
export type LeaseStatus = 'ok' | 'lost' | 'cancelled';

/**
 * Where recorded batches live (SPEC §8 safe retries, §9 asynchronous batches): one record per
 * key (the caller's scope, already hashed, and the `Idempotency-Key` — never credentials),
 * with the batch's fingerprint, its state under an owner's lease, which items started, and
 * every answer as it finishes.
 *
 * Every operation is atomic: two instances racing on one key see one winner. An operation
 * that cannot reach the store rejects with `StoreUnavailable` (answer `503` with
 * `Retry-After`); an `append` past the record's bound rejects with `RecordTooLarge`; invalid
 * arguments (an empty key, a negative duration, an index out of `0 … total-1`) reject with a
 * `RangeError` or `TypeError`.
 *
 * Lifetimes: a running record lives `leaseMs + retentionMs` after its last claim or renewal
 * (so a crashed batch stays readable, and can be taken over, for `retentionMs` after its
 * lease lapsed); a finished one `retentionMs` after `finish`; a cancelled one keeps the
 * lifetime it had. After that its key is new again.
 *
 * Owners' calls (`renew`, `started`, `append`, `finish`) are checked against the record's
 * owner: after a takeover, the old owner gets `lost` and changes nothing. A lapsed lease that
 * nobody took over is still its owner's: its calls succeed (`renew` re-arms the lease).
 */
export interface RecordStore {
  /** Creates the record, or says why not, or takes a lapsed (or cancelled) one over. */
  claim(key: string, options: ClaimOptions): Promise<ClaimResult>;
  /**
   * Extends the owner's lease by `leaseMs` from now (and the record's lifetime with it). Renew
   * well within the lease (every third of it, say).
   */
  renew(key: string, owner: string, leaseMs: number): Promise<LeaseStatus>;
  /**
   * Marks items as started. Call it, and wait for `ok`, before the items start: after a
   * takeover or a cancel, nothing is marked and the items must not run.
   */
  started(key: string, owner: string, indexes: readonly number[]): Promise<LeaseStatus>;
  /**
   * Records answers (several at once when they finish together), replacing any earlier answer
   * of the same index. All or nothing: past the record's `maxBytes`, nothing of this call is
   * recorded and it rejects with `RecordTooLarge`. A cancelled batch's answers are still
   * recorded (the items did run: a later takeover must not run them again); `lost` records
   * nothing.
   */
  append(key: string, owner: string, answers: readonly RecordedAnswer[]): Promise<LeaseStatus>;
  /**
   * Marks the batch finished (if not cancelled) and sets the record to expire `retentionMs`
   * from now; the lease is released. Finishing twice is `ok`.
   */
  finish(key: string, owner: string, retentionMs: number): Promise<LeaseStatus>;
  /**
   * Marks the batch cancelled (from `running` or `finished`): its owner sees `cancelled` on
   * its next call, `read` says `cancelled` (the monitor answers `404`). A later `claim` with
   * the same fingerprint takes it over. `false` when there was no record.
   */
  cancel(key: string): Promise<boolean>;
  /** The record under `key`, or `undefined` (never was, expired, removed, evicted). */
  read(key: string): Promise<BatchRecord | undefined>;
  /** Deletes the record under `key`, whatever its state (nothing when there is none). */
  remove(key: string): Promise<void>;
  /**
   * Points `alias` (an async batch's monitor id) at the record `key` for `ttlMs`, replacing
   * any earlier link. Links are not tied to a record's lifetime: link again (on `finish`) to
   * keep a monitor as long as its record.
   */
  link(alias: string, key: string, ttlMs: number): Promise<void>;
  /** The record key `alias` points at, or `undefined` (never linked, or expired). */
  resolve(alias: string): Promise<string | undefined>;
}
