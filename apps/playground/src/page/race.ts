import { createBatchFetch } from '@batch/client';

/** The request header that makes the server wait (see the server side's `withPlayground`). */
const RTT_HEADER = 'x-playground-rtt';

/** One call of a race, in milliseconds since its side started. */
export interface CallTiming {
  index: number;
  start: number;
  end: number;
  status: number;
}

/** One side of a race. */
export interface SideResult {
  timings: CallTiming[];
  /** From the first call to the last answer read, in milliseconds. */
  totalMs: number;
  /** HTTP requests the side made (the batched side: `POST /batch` requests). */
  requests: number;
}

export interface RaceOptions {
  calls: number;
  rttMs: number;
  token: string;
  /** The server's `maxRequests` (from its service info). */
  maxBatchSize: number;
  /** The URL every call gets. @default '/articles' */
  path?: string;
}

export interface RaceResult {
  direct: SideResult;
  batched: SideResult;
}

type Fetch = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;

/** `calls` calls of `fetchOne`, all started at once, each timed to its last body byte. */
async function timeCalls(calls: number, fetchOne: () => Promise<Response>) {
  const t0 = performance.now();
  const timings = await Promise.all(
    Array.from({ length: calls }, async (_, index): Promise<CallTiming> => {
      const start = performance.now() - t0;
      const response = await fetchOne();
      await response.arrayBuffer();
      return { index, start, end: performance.now() - t0, status: response.status };
    }),
  );
  return { timings, totalMs: performance.now() - t0 };
}

/**
 * The race: `calls` GETs made one by one with `fetch`, then the same GETs through
 * `createBatchFetch` (the side runs one after the other, so they do not share the
 * connections). Every HTTP request carries the simulated round trip.
 */
export async function runRace(options: RaceOptions): Promise<RaceResult> {
  const { calls, rttMs, token, maxBatchSize, path = '/articles' } = options;
  const headers: Record<string, string> = { [RTT_HEADER]: String(rttMs) };
  if (token !== '') headers.authorization = `Bearer ${token}`;

  let directRequests = 0;
  const direct = await timeCalls(calls, () => {
    directRequests += 1;
    return fetch(path, { headers, cache: 'no-store' });
  });

  let batchRequests = 0;
  const counted: Fetch = (input, init) => {
    batchRequests += 1;
    return fetch(input, init);
  };
  // The token and the round trip go on the batch request; its calls inherit Authorization.
  const api = createBatchFetch({
    endpoint: '/batch',
    maxBatchSize,
    serviceInfo: false,
    headers,
    fetch: counted,
  });
  const batched = await timeCalls(calls, () => api(path));

  return {
    direct: { ...direct, requests: directRequests },
    batched: { ...batched, requests: batchRequests },
  };
}
