// Test helpers shared by the core's test files (not exported by the package).
export const encoder = new TextEncoder();
export const decoder = new TextDecoder();

export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Yields `data` split at the given offsets (sorted, deduplicated, in range). */
export async function* chunked(
  data: Uint8Array,
  cuts: readonly number[],
): AsyncGenerator<Uint8Array> {
  const points = [...new Set(cuts.map((cut) => Math.min(Math.max(cut, 0), data.length)))].sort(
    (a, b) => a - b,
  );
  let start = 0;
  for (const point of points) {
    if (point > start) yield data.subarray(start, point);
    start = point;
  }
  if (start < data.length) yield data.subarray(start);
}

/** Collects an async iterable of byte chunks into one array. */
export async function collect(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: number[] = [];
  for await (const chunk of body) for (const byte of chunk) parts.push(byte);
  return Uint8Array.from(parts);
}

/** Runs `fn` and returns its result, or the error it threw / rejected with. */
export async function settle<T>(
  fn: () => Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await fn() };
  } catch (error) {
    return { ok: false, error };
  }
}

/**
 * The seed of the property tests: fixed, so that a run is repeatable (fast-check prints the
 * seed of a failure); `FC_SEED=<n>` in the environment overrides it.
 */
export const FC_SEED = Number(
  (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.FC_SEED ??
    20261127,
);
