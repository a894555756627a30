import type { BatchItemInfo } from './options.js';
import { problemResponse } from './problems.js';
import type { HeaderList, SubRequest, SubResponse } from './types.js';

/** One item ready to run: its dispatch request and what its response must echo. */
export interface PlannedItem {
  request: SubRequest;
  /** The resolved path, without query: echoed as `path` in JSON responses. */
  path: string;
  /** Indexes of the items this one waits for (all earlier). */
  dependsOn: number[] | undefined;
}

/** What the executor needs besides the items. */
export interface ExecuteOptions {
  run: (request: SubRequest, index: number, signal: AbortSignal) => Promise<SubResponse>;
  concurrency: number;
  stopOnError: boolean;
  timeoutMs: number | undefined;
  deadlineMs: number | undefined;
  /** The client's signal: when it aborts, nothing new starts and running items are aborted. */
  signal: AbortSignal | undefined;
  onItem: ((info: BatchItemInfo) => void) | undefined;
}

class DeadlineExceeded extends Error {}
class ItemTimedOut extends Error {}

const now = () => performance.now();

/**
 * Runs planned items through the dispatcher and yields their responses in item order,
 * each as soon as it and all before it are done. Items start in order, at most
 * `concurrency` at once, and an item starts only once the one `concurrency` places
 * before it was taken by the consumer: memory is bounded by the window, and a consumer
 * that stops pulling (a slow client) stops the batch from running ahead.
 */
export async function* executeBatch(
  items: PlannedItem[],
  options: ExecuteOptions,
): AsyncGenerator<SubResponse> {
  const { concurrency, stopOnError, timeoutMs, onItem } = options;
  const batch = new AbortController();
  const stopBatch = () => batch.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', stopBatch, { once: true });
  if (options.signal?.aborted) stopBatch();
  const deadline =
    options.deadlineMs === undefined
      ? undefined
      : setTimeout(() => batch.abort(new DeadlineExceeded()), options.deadlineMs);
  const abortable =
    options.signal !== undefined || options.deadlineMs !== undefined || timeoutMs !== undefined;

  // Statuses of the items others depend on, as they settle.
  const needed = new Set<number>();
  for (const item of items) for (const index of item.dependsOn ?? []) needed.add(index);
  const statusOf = new Map<number, Promise<number>>();
  let stopped = false;

  const answer = (
    index: number,
    response: SubResponse,
    started: number,
    ran: boolean,
  ): SubResponse => {
    const item = items[index]!;
    const durationMs = ran ? now() - started : 0;
    if (stopOnError && response.status >= 400) stopped = true;
    if (onItem !== undefined) {
      try {
        onItem({
          index,
          method: item.request.method,
          path: item.path,
          status: response.status,
          durationMs,
          ran,
        });
      } catch {
        // A failing hook must not fail the batch.
      }
    }
    const headers: HeaderList = [
      ...response.headers,
      ['Server-Timing', `batch;dur=${durationMs.toFixed(3)}`],
    ];
    const answered: SubResponse = {
      status: response.status,
      headers,
      body: response.body,
      path: item.path,
    };
    if (response.statusText !== undefined) answered.statusText = response.statusText;
    if (item.request.id !== undefined) answered.id = item.request.id;
    if (item.request.contentId !== undefined) answered.contentId = item.request.contentId;
    return answered;
  };

  const unrun = (index: number, response: SubResponse) => answer(index, response, 0, false);

  const runOne = async (index: number): Promise<SubResponse> => {
    const item = items[index]!;
    for (const dependency of item.dependsOn ?? []) {
      const status = await statusOf.get(dependency)!;
      if (status >= 400) {
        return unrun(
          index,
          problemResponse(
            424,
            'failed-dependency',
            `request ${dependency} it depends on failed with ${status}`,
          ),
        );
      }
    }
    if (stopped) {
      return unrun(
        index,
        problemResponse(424, 'failed-dependency', 'not run: an earlier request failed'),
      );
    }
    if (batch.signal.aborted) return unrun(index, abortedResponse(batch.signal.reason));

    const started = now();
    let signal = batch.signal;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let release: (() => void) | undefined;
    if (timeoutMs !== undefined) {
      const controller = new AbortController();
      signal = controller.signal;
      const forward = () => controller.abort(batch.signal.reason);
      batch.signal.addEventListener('abort', forward, { once: true });
      release = () => batch.signal.removeEventListener('abort', forward);
      timer = setTimeout(() => controller.abort(new ItemTimedOut()), timeoutMs);
    }
    let response: SubResponse;
    try {
      const dispatched = options.run(item.request, index, signal);
      response = abortable ? await untilAborted(dispatched, signal, timeoutMs) : await dispatched;
    } catch {
      response = problemResponse(
        500,
        'dispatch-failed',
        'the sub-request failed before it was answered',
      );
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      release?.();
    }
    return answer(index, response, started, true);
  };

  const results: Array<Promise<SubResponse> | undefined> = new Array(items.length);
  let next = 0;
  try {
    for (let index = 0; index < items.length; index++) {
      while (next < items.length && next < index + concurrency) {
        const started = runOne(next);
        results[next] = started;
        if (needed.has(next))
          statusOf.set(
            next,
            started.then((response) => response.status),
          );
        next++;
      }
      const response = await results[index]!;
      results[index] = undefined;
      yield response;
    }
  } finally {
    // The consumer went away (or we are done): stop whatever still runs.
    if (next < items.length || results.some((result) => result !== undefined)) stopBatch();
    if (deadline !== undefined) clearTimeout(deadline);
    options.signal?.removeEventListener('abort', stopBatch);
  }
}

/**
 * The dispatch's response, or the answer for an aborted item as soon as `signal` aborts.
 * The abort listener is removed once either settles, so nothing per item outlives it.
 */
function untilAborted(
  dispatched: Promise<SubResponse>,
  signal: AbortSignal,
  timeoutMs: number | undefined,
): Promise<SubResponse> {
  if (signal.aborted) {
    dispatched.catch(() => {});
    return Promise.resolve(abortedResponse(signal.reason, timeoutMs));
  }
  return new Promise<SubResponse>((resolve, reject) => {
    const onAbort = () => resolve(abortedResponse(signal.reason, timeoutMs));
    signal.addEventListener('abort', onAbort, { once: true });
    dispatched.then(
      (response) => {
        signal.removeEventListener('abort', onAbort);
        resolve(response);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function abortedResponse(reason: unknown, timeoutMs?: number): SubResponse {
  if (reason instanceof ItemTimedOut) {
    return problemResponse(504, 'item-timeout', `the request took longer than ${timeoutMs} ms`);
  }
  if (reason instanceof DeadlineExceeded) {
    return problemResponse(
      504,
      'batch-deadline',
      'the batch deadline passed before this request was answered',
    );
  }
  return problemResponse(503, 'batch-aborted', 'the batch was aborted: the client went away');
}
