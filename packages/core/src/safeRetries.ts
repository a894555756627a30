import { createMemoryRecordStore } from './engine/records/createMemoryRecordStore.js';
import { fingerprintOf, sha256Hex } from './engine/records/fingerprint.js';
import type { BatchRecord } from './engine/records/RecordStore.js';
import { RecordedBatch, type RecordingPolicy } from './engine/records/recordedBatch.js';
import { utf8 } from './http/bytes.js';
import { getHeader } from './http/headerNames.js';
import { parseIdempotencyKey } from './http/idempotencyKey.js';
import { SAFE_METHODS } from './http/methods.js';
import { BatchError } from './model/BatchError.js';
import type { DecodedBatch, HeaderList, SubRequest } from './model/types.js';
import type { BatchOptions, IdempotencyOptions } from './options.js';

/** Safe retries as a handler runs them (SPEC §8), every option resolved. */
export interface ResolvedIdempotency {
  policy: RecordingPolicy;
  required: boolean;
  scope: ((headers: HeaderList) => string | undefined) | undefined;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const resolved = value ?? fallback;
  if (!Number.isSafeInteger(resolved) || resolved < 1)
    throw new TypeError(`idempotency.${name} must be a positive integer`);
  return resolved;
}

/** `BatchOptions.idempotency` resolved field by field; `undefined` when it is off. */
export function resolveIdempotency(options: BatchOptions): ResolvedIdempotency | undefined {
  if (options.idempotency === false) return undefined;
  const given = options.idempotency ?? {};
  return {
    policy: resolveRecordingPolicy(given),
    required: given.required === true,
    scope: given.scope,
  };
}

/** Where and how batches are recorded (SPEC §8, §9), each field defaulted on its own. */
export function resolveRecordingPolicy(given: IdempotencyOptions): RecordingPolicy {
  return {
    store: given.store ?? createMemoryRecordStore(),
    leaseMs: positiveInteger('leaseMs', given.leaseMs, 30_000),
    retentionMs: positiveInteger('retentionMs', given.retentionMs, DAY_MS),
    maxRecordBytes: positiveInteger('maxRecordBytes', given.maxRecordBytes, 16 * 1024 * 1024),
  };
}

/**
 * The caller's scope, hashed (SPEC §8): the app's notion of the caller, or the batch's
 * `Authorization` and `Cookie` values — never stored in clear.
 */
export function callerScope(
  scope: ((headers: HeaderList) => string | undefined) | undefined,
  headers: HeaderList,
): Promise<string> {
  const caller =
    scope?.(headers) ??
    `${getHeader(headers, 'authorization') ?? ''}\n${getHeader(headers, 'cookie') ?? ''}`;
  return sha256Hex(utf8(caller));
}

/**
 * The batch's `Idempotency-Key`, or `undefined` for a batch that is not recorded; throws the
 * `400` for a malformed key, or for a missing one that is required (a batch with a write).
 */
export function idempotencyKeyOf(
  idempotency: ResolvedIdempotency | undefined,
  headers: HeaderList,
  items: readonly { request: SubRequest }[],
): string | undefined {
  if (idempotency === undefined) return undefined;
  const values: string[] = [];
  for (const [name, value] of headers)
    if (name.toLowerCase() === 'idempotency-key') values.push(value);
  const parsed = parseIdempotencyKey(values);
  if (parsed !== undefined && 'problem' in parsed)
    throw new BatchError('invalid_batch', parsed.problem);
  if (parsed === undefined && idempotency.required) {
    if (items.some(({ request }) => !SAFE_METHODS.has(request.method))) {
      throw new BatchError(
        'invalid_batch',
        'Idempotency-Key is required for a batch holding a write (SPEC §8)',
      );
    }
  }
  return parsed?.key;
}

/**
 * Claims the record of a keyed batch under the caller's scope (the app's notion, or a hash
 * of the batch's `Authorization` and `Cookie` — never stored in clear): what to run, or what
 * to replay. Throws the `409`, `422` or `503` to answer.
 */
export async function claimKeyedBatch(
  idempotency: ResolvedIdempotency,
  headers: HeaderList,
  key: string,
  decoded: DecodedBatch,
): Promise<{ run: RecordedBatch; taken?: BatchRecord } | { replay: BatchRecord }> {
  const [scope, fingerprint] = await Promise.all([
    callerScope(idempotency.scope, headers),
    fingerprintOf(decoded),
  ]);
  return RecordedBatch.claim(
    idempotency.policy,
    `${scope}:${key}`,
    fingerprint,
    decoded.items.length,
  );
}
