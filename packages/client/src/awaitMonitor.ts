import { BatchFetchError } from './BatchFetchError.js';
import { backoffDelay, LOST_ANSWER_STATUSES, parseRetryAfter, sleep } from './retryPolicy.js';
import { statusError } from './statusError.js';

type FetchFunction = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;

/** What polling a monitor needs of the batching fetch. */
export interface MonitorContext {
  send: FetchFunction;
  /** The headers of each `GET` (and of the `DELETE`): the batch's own, with its `Accept`. */
  headers: Headers;
  retries: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** True once no call waits for the answer any more (each was aborted). */
  abandoned(): boolean;
}

/** The headers of the monitor's requests: the batch request's own, less those of its body and its preference and key. */
export function monitorHeaders(batchHeaders: Headers): Headers {
  const headers = new Headers(batchHeaders);
  for (const name of ['content-type', 'prefer', 'idempotency-key']) headers.delete(name);
  return headers;
}

/**
 * Follows an asynchronous batch (SPEC §9) from its `202 Accepted`: polls the `Location`
 * monitor, waiting what each `202` says in `Retry-After` (else a backoff), until it answers
 * `200` — the batch's answer, returned for the caller to decode. A poll whose answer was lost
 * (network, `502`/`503`/`504`) is repeated up to `retries` times in a row; any other answer
 * (`404`: cancelled, expired, or not this caller's) rejects. When every call was aborted,
 * the batch is cancelled (`DELETE`) and `undefined` returned.
 */
export async function awaitMonitor(
  accepted: Response,
  endpoint: URL,
  context: MonitorContext,
): Promise<Response | undefined> {
  const location = accepted.headers.get('location');
  if (location === null) {
    throw new BatchFetchError(
      'unparseable',
      'the asynchronous batch was accepted without a Location',
      {
        status: accepted.status,
      },
    );
  }
  const monitor = new URL(location, endpoint);
  let wait = parseRetryAfter(accepted.headers.get('retry-after'));
  await accepted.body?.cancel();
  let polls = 0;
  let failures = 0;
  for (;;) {
    await sleep(
      wait ?? backoffDelay(Math.min(polls, 16), context.retryBaseMs, context.retryMaxMs, undefined),
    );
    polls++;
    if (context.abandoned()) {
      context.send(monitor, { method: 'DELETE', headers: context.headers }).then(
        (response) => response.body?.cancel(),
        () => {},
      );
      return undefined;
    }
    let response: Response;
    try {
      response = await context.send(monitor, { headers: context.headers });
    } catch (error) {
      if (++failures > context.retries) {
        throw new BatchFetchError('network', `polling ${monitor.href} failed`, { cause: error });
      }
      wait = backoffDelay(failures - 1, context.retryBaseMs, context.retryMaxMs, undefined);
      continue;
    }
    if (response.status === 202) {
      failures = 0;
      wait = parseRetryAfter(response.headers.get('retry-after'));
      await response.body?.cancel();
      continue;
    }
    if (response.ok) return response;
    const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
    if (
      response.status !== 409 &&
      LOST_ANSWER_STATUSES.has(response.status) &&
      ++failures <= context.retries
    ) {
      wait = backoffDelay(failures - 1, context.retryBaseMs, context.retryMaxMs, retryAfter);
      await response.body?.cancel();
      continue;
    }
    throw await statusError(response, `the monitor ${monitor.href}`);
  }
}
