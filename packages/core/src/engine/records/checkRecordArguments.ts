import type { ClaimOptions, RecordedAnswer } from './RecordStore.js';

// The argument checks every RecordStore makes before it touches its storage, so that every
// store rejects the same calls the same way (exported for stores written by applications).

/** Throws a `TypeError` unless `value` is a non-empty string (a key, an alias, an owner). */
export function checkRecordKey(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0)
    throw new TypeError(`${name} must be a non-empty string`);
}

/** Throws a `RangeError` unless `value` is a positive safe integer (a duration in ms). */
export function checkDuration(value: unknown, name: string): asserts value is number {
  if (!Number.isSafeInteger(value) || (value as number) <= 0)
    throw new RangeError(`${name} must be a positive integer of milliseconds`);
}

function checkCount(value: unknown, name: string): asserts value is number {
  if (!Number.isSafeInteger(value) || (value as number) < 0)
    throw new RangeError(`${name} must be a non-negative integer`);
}

/** Checks a `claim`'s key and options. */
export function checkClaim(key: unknown, options: ClaimOptions): void {
  checkRecordKey(key, 'key');
  if (typeof options.fingerprint !== 'string') throw new TypeError('fingerprint must be a string');
  checkRecordKey(options.owner, 'owner');
  checkDuration(options.leaseMs, 'leaseMs');
  checkDuration(options.retentionMs, 'retentionMs');
  checkCount(options.total, 'total');
  if (typeof options.info !== 'string') throw new TypeError('info must be a string');
  checkCount(options.maxBytes, 'maxBytes');
}

/**
 * Checks item indexes against the batch's size, when known (the Redis store checks that
 * part in its script).
 */
export function checkIndexes(indexes: readonly number[], total = Number.MAX_SAFE_INTEGER): void {
  for (const index of indexes)
    if (!Number.isSafeInteger(index) || index < 0 || index >= total)
      throw new RangeError(`item index ${index} is not in 0 … ${total - 1}`);
}

/** Checks `append`'s answers: indexes as `checkIndexes`, `data` a `Uint8Array`. */
export function checkAnswers(answers: readonly RecordedAnswer[], total?: number): void {
  checkIndexes(
    answers.map((answer) => answer.index),
    total,
  );
  for (const answer of answers)
    if (!(answer.data instanceof Uint8Array))
      throw new TypeError(`the answer of item ${answer.index} must be a Uint8Array`);
}
