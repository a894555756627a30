import type { BatchLimits, ResolvedBatchLimits } from './types.js';

export const DEFAULT_MAX_REQUESTS = 100;
export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;
export const DEFAULT_MAX_PART_HEADER_BYTES = 16 * 1024;
export const DEFAULT_MAX_JSON_DEPTH = 256;

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) {
    throw new TypeError(`${name} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

/** Resolves limits field by field: a field left out keeps its default. */
export function resolveLimits(
  limits: { [K in keyof BatchLimits]?: BatchLimits[K] | undefined } = {},
): ResolvedBatchLimits {
  const maxBodyBytes = positiveInteger('maxBodyBytes', limits.maxBodyBytes, DEFAULT_MAX_BODY_BYTES);
  return {
    maxRequests: positiveInteger('maxRequests', limits.maxRequests, DEFAULT_MAX_REQUESTS),
    maxBodyBytes,
    maxPartHeaderBytes: positiveInteger(
      'maxPartHeaderBytes',
      limits.maxPartHeaderBytes,
      DEFAULT_MAX_PART_HEADER_BYTES,
    ),
    maxItemBodyBytes: positiveInteger('maxItemBodyBytes', limits.maxItemBodyBytes, maxBodyBytes),
    maxMergedBytes: positiveInteger('maxMergedBytes', limits.maxMergedBytes, 2 * maxBodyBytes),
    maxJsonDepth: positiveInteger('maxJsonDepth', limits.maxJsonDepth, DEFAULT_MAX_JSON_DEPTH),
  };
}
