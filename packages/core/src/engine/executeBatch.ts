import { getHeader } from '../http/headerNames.js';
import { problemResponse } from '../http/problems.js';
import type { HeaderList, SubRequest, SubResponse } from '../model/types.js';
import type { AtomicityGroupInfo, BatchItemInfo } from './itemInfo.js';
import type { ItemGroup, PlannedItem } from './planBatch.js';

export type { PlannedItem } from './planBatch.js';

/** What the executor needs besides the items. */
export interface ExecuteOptions {
  run: (request: SubRequest, index: number, signal: AbortSignal) => Promise<SubResponse>;
  /** Most items running at once. */
  concurrency: number;
  /**
   * `'reads'`: consecutive safe-method items run together, any other item is a barrier.
   * `'all'`: any items run together, ordered only by `dependsOn`.
   */
  parallel: 'reads' | 'all';
  stopOnError: boolean;
  timeoutMs: number | undefined;
  deadlineMs: number | undefined;
  /** The client's signal: when it aborts, nothing new starts and running items are aborted. */
  signal: AbortSignal | undefined;
  onItem: ((info: BatchItemInfo) => void) | undefined;
  /**
   * `'request'`: answers are yielded in request order. `'completion'`: each as soon as it
   * is done (JSON Lines), with its `index`.
   * @default 'request'
   */
  order?: 'request' | 'completion';
  /** Runs an atomicity group inside the application's transaction (`BatchOptions.transaction`). */
  transaction?:
    | ((run: () => Promise<void>, group: AtomicityGroupInfo) => Promise<void>)
    | undefined;
  /**
   * A failed group with a transaction is answered by the failed item alone, marked
   * `failedGroup` (multipart change sets, SPEC §2); otherwise every item is answered (JSON).
   * @default false
   */
  collapseFailedGroups?: boolean;
  /**
   * The target a reference stands for, from the referenced item's `Location` (SPEC §4):
   * `{ target, path }`, or the reason it cannot be followed.
   */
  resolveReference?: (
    location: string,
    referencedTarget: string,
    rest: string,
  ) => { target: string; path: string } | { error: string };
}

/** The answer of an item skipped in the output (the other items of a failed change set). */
const SKIPPED: SubResponse = { status: 0, headers: [], body: null };

class GroupFailed extends Error {}

class DeadlineExceeded extends Error {}
class ItemTimedOut extends Error {}

const now = () => performance.now();

/** Methods that do not change the server's state (RFC 9110 §9.2.1): they may run together. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Runs planned items through the dispatcher as if one after another, as fast as all at
 * once (SPEC §4 "Scheduling"), and yields their answers in request order (or in completion
 * order), in runs: each run is every answer that was ready, in the order they are due,
 * when the consumer asked for more (never empty), so that the encoder writes it as one chunk. Consecutive safe-method items run together, at most `concurrency` at once; any
 * other item is a barrier: it starts when every item before it is done, and nothing after
 * it starts before it is done. `dependsOn` holds an item until the items it names are done.
 * `concurrency: 1` and `stopOnError` run items strictly one after another; `parallel:
 * 'all'` drops the barriers.
 *
 * The window slides: a finished item frees its slot at once. Items started and not yet
 * taken by the consumer are at most `2 × concurrency` (running ones, and finished ones
 * held for a slower one before them): memory is bounded by the window, and a consumer
 * that stops pulling (a slow client) stops the batch from running ahead.
 */
export async function* executeBatchRuns(
  items: PlannedItem[],
  options: ExecuteOptions,
): AsyncGenerator<SubResponse[]> {
  const { stopOnError, timeoutMs, onItem } = options;
  const count = items.length;
  const sequential = stopOnError || options.concurrency === 1;
  const concurrency = sequential ? 1 : options.concurrency;
  const maxInFlight = 2 * concurrency;
  const inOrder = (options.order ?? 'request') === 'request';
  // An atomicity group runs as one unit, alone (SPEC §4), whatever its methods.
  const barrier = (index: number) =>
    sequential ||
    items[index]!.group !== undefined ||
    (options.parallel === 'reads' && !SAFE_METHODS.has(items[index]!.request.method));

  const batch = new AbortController();
  const stopBatch = () => batch.abort(options.signal?.reason);
  // One listener on the batch signal fans the abort out to the running items: a listener
  // per item would pass EventTarget's listener warning threshold at 11 running items.
  const onBatchAbort = new Set<() => void>();
  batch.signal.addEventListener(
    'abort',
    () => {
      for (const callback of [...onBatchAbort]) callback();
    },
    { once: true },
  );
  /** Calls `callback` when the batch aborts; returns how to forget it. */
  const whenBatchAborts = (callback: () => void): (() => void) => {
    if (batch.signal.aborted) {
      callback();
      return () => {};
    }
    onBatchAbort.add(callback);
    return () => onBatchAbort.delete(callback);
  };
  options.signal?.addEventListener('abort', stopBatch, { once: true });
  if (options.signal?.aborted) stopBatch();
  const deadline =
    options.deadlineMs === undefined
      ? undefined
      : setTimeout(() => batch.abort(new DeadlineExceeded()), options.deadlineMs);
  const abortable =
    options.signal !== undefined || options.deadlineMs !== undefined || timeoutMs !== undefined;

  let stopped = false;

  // What each item's answer said as soon as it was made (a group's items are finished only
  // when the whole group is): references and dependencies inside a group read these.
  const outcomeStatus: Array<number | undefined> = new Array(count);
  const outcomeLocation: Array<string | undefined> = new Array(count);
  const dispatchedTarget: Array<string | undefined> = new Array(count);
  // Only the items a reference names need their Location and target kept.
  const isReferenced = new Uint8Array(count);
  for (const item of items)
    if (item.reference !== undefined) isReferenced[item.reference.index] = 1;
  const dispatchedPath: Array<string | undefined> = new Array(count);
  const durations = new Float64Array(count);
  const ran = new Uint8Array(count);

  const answer = (
    index: number,
    response: SubResponse,
    started: number,
    didRun: boolean,
  ): SubResponse => {
    const item = items[index]!;
    const durationMs = didRun ? now() - started : 0;
    if (stopOnError && response.status >= 400) stopped = true;
    durations[index] = durationMs;
    ran[index] = didRun ? 1 : 0;
    outcomeStatus[index] = response.status;
    if (isReferenced[index] === 1) outcomeLocation[index] = getHeader(response.headers, 'location');
    const source = response.headers;
    const headers: HeaderList = new Array(source.length + 1);
    for (let i = 0; i < source.length; i++) headers[i] = source[i]!;
    headers[source.length] = ['Server-Timing', `batch;dur=${durationMs.toFixed(3)}`];
    const answered: SubResponse = {
      status: response.status,
      headers,
      body: response.body,
      path: dispatchedPath[index] ?? item.path,
    };
    if (response.statusText !== undefined) answered.statusText = response.statusText;
    if (item.request.id !== undefined) answered.id = item.request.id;
    if (item.request.contentId !== undefined) answered.contentId = item.request.contentId;
    if (item.request.atomicityGroup !== undefined)
      answered.atomicityGroup = item.request.atomicityGroup;
    if (!inOrder) answered.index = index;
    if (item.request.method === 'HEAD') answered.requestMethod = 'HEAD';
    return answered;
  };

  /** Tells `onItem` an item's final answer (once per item). */
  const notify = (index: number, status: number) => {
    if (onItem === undefined) return;
    const item = items[index]!;
    try {
      onItem({
        index,
        method: item.request.method,
        path: dispatchedPath[index] ?? item.path,
        status,
        durationMs: durations[index]!,
        ran: ran[index] === 1,
      });
    } catch {
      // A failing hook must not fail the batch.
    }
  };

  const unrun = (index: number, response: SubResponse) => answer(index, response, 0, false);

  /** The answer of an item that must not run (a failed dependency, a stop, an abort), or undefined. */
  const refusal = (index: number): SubResponse | undefined => {
    const dependsOn = items[index]!.dependsOn;
    if (dependsOn !== undefined)
      for (const dependency of dependsOn) {
        const status = statuses[dependency] ?? outcomeStatus[dependency]!;
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
    return undefined;
  };

  const runOne = async (index: number): Promise<SubResponse> => {
    const item = items[index]!;
    let request = item.request;
    if (item.reference !== undefined) {
      const resolved = followReference(index);
      if ('error' in resolved)
        return unrun(index, problemResponse(424, 'failed-dependency', resolved.error));
      request = { ...request, target: resolved.target };
      dispatchedPath[index] = resolved.path;
    }
    if (isReferenced[index] === 1) dispatchedTarget[index] = request.target;
    const started = now();
    let signal = batch.signal;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let release: (() => void) | undefined;
    if (timeoutMs !== undefined) {
      const controller = new AbortController();
      signal = controller.signal;
      release = whenBatchAborts(() => controller.abort(batch.signal.reason));
      timer = setTimeout(() => controller.abort(new ItemTimedOut()), timeoutMs);
    }
    let response: SubResponse;
    try {
      const dispatched = options.run(request, index, signal);
      response = abortable
        ? await untilAborted(
            dispatched,
            signal,
            timeoutMs,
            signal === batch.signal ? whenBatchAborts : undefined,
          )
        : await dispatched;
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

  /** The target of item `index`'s reference, from the referenced item's `Location`. */
  const followReference = (index: number): { target: string; path: string } | { error: string } => {
    const { index: referenced, rest } = items[index]!.reference!;
    const status = outcomeStatus[referenced];
    const location = outcomeLocation[referenced];
    if (status === undefined || status >= 400)
      return { error: `request ${referenced} it refers to failed with ${status}` };
    if (location === undefined || options.resolveReference === undefined)
      return { error: `request ${referenced} it refers to answered no Location` };
    return options.resolveReference(location, dispatchedTarget[referenced] ?? '/', rest);
  };

  /**
   * Runs an atomicity group (SPEC §4): its items in order, inside the application's
   * transaction when there is a hook, stopping at the first failure (status >= 400 or a
   * throw), which rejects `run` so that the transaction rolls back. Finishes every item of
   * the group together, once the transaction is over.
   */
  const runGroup = async (group: ItemGroup): Promise<void> => {
    const answers: SubResponse[] = [];
    let failed = -1;
    const run = async () => {
      for (let index = group.start; index < group.end; index++) {
        const response = refusal(index) ?? (await runOne(index));
        answers.push(response);
        if (response.status >= 400) {
          failed = index;
          throw new GroupFailed(`request ${index} of atomicity group "${group.name}" failed`);
        }
      }
    };
    const hook = options.transaction;
    let broken: string | undefined;
    try {
      if (hook === undefined) await run();
      else await hook(run, { name: group.name, size: group.end - group.start });
      if (failed === -1 && answers.length < group.end - group.start)
        broken = 'the transaction hook did not run the group';
    } catch (error) {
      if (failed === -1 || !(error instanceof GroupFailed)) broken = 'the transaction failed';
    }
    if (broken !== undefined && failed === -1) {
      // The transaction itself failed (commit, or a hook that threw): nothing is known done.
      failed = group.start;
      answers[0] = unrun(group.start, problemResponse(500, 'transaction-failed', broken));
    }
    const rolledBack = hook !== undefined;
    const collapse = rolledBack && options.collapseFailedGroups === true && failed !== -1;
    for (let index = group.start; index < group.end; index++) {
      let response = answers[index - group.start];
      if (failed !== -1 && index !== failed) {
        const groupFailed = (what: string) =>
          problemResponse(
            424,
            'atomicity-group',
            `${what}: request ${failed} of its atomicity group failed`,
          );
        if (index > failed || response === undefined)
          response = unrun(index, groupFailed('not run'));
        else if (rolledBack) response = answer(index, groupFailed('rolled back'), now(), true);
      }
      if (collapse && index === failed) response = { ...response!, failedGroup: true };
      finish(index, collapse && index !== failed ? SKIPPED : response!);
    }
  };

  // The schedule. `statuses[i]` is set when item i is done; `done` is the length of the
  // prefix of items all done; `firstUnstarted` the first item not yet started.
  const statuses: Array<number | undefined> = new Array(count);
  const started = new Uint8Array(count);
  const held: Array<SubResponse | undefined> = new Array(count);
  const completed: SubResponse[] = [];
  let done = 0;
  let firstUnstarted = 0;
  let running = 0;
  let inFlight = 0;
  /** The barrier item running now (at most one runs, alone), or -1. */
  let runningBarrier = -1;
  let closed = false;
  let wake: (() => void) | undefined;

  const finish = (index: number, response: SubResponse) => {
    statuses[index] = response === SKIPPED ? outcomeStatus[index]! : response.status;
    notify(index, statuses[index]!);
    if (index === runningBarrier) runningBarrier = -1;
    while (done < count && statuses[done] !== undefined) done++;
    if (inOrder) held[index] = response;
    else completed.push(response);
  };

  /** Whether item `index` may start now, by the barriers and its dependencies. */
  const ready = (index: number): boolean => {
    if (barrier(index) && done < index) return false;
    const dependsOn = items[index]!.dependsOn;
    if (dependsOn !== undefined)
      for (const dependency of dependsOn) if (statuses[dependency] === undefined) return false;
    return true;
  };

  let pumping = false;
  /** One pass over the items not yet started; true when one was answered without running. */
  const startReady = (): boolean => {
    let answered = false;
    // A barrier that runs holds everything after it.
    if (runningBarrier !== -1) return false;
    for (let index = firstUnstarted; index < count; index++) {
      if (running >= concurrency || inFlight >= maxInFlight) break;
      if (started[index] === 1) {
        if (index === firstUnstarted) firstUnstarted++;
        continue;
      }
      if (!ready(index)) {
        // Nothing passes a barrier that cannot start; a read waiting on its dependencies
        // lets the reads after it by.
        if (barrier(index)) break;
        continue;
      }
      const group = items[index]!.group;
      if (group !== undefined) {
        // A group starts at its first item (it is a barrier: everything before is done).
        for (let i = group.start; i < group.end; i++) started[i] = 1;
        inFlight += group.end - group.start;
        running++;
        runningBarrier = group.end - 1;
        void runGroup(group).then(() => {
          running--;
          pump();
        });
        break;
      }
      started[index] = 1;
      if (index === firstUnstarted) firstUnstarted++;
      inFlight++;
      const refused = refusal(index);
      if (refused !== undefined) {
        finish(index, refused);
        answered = true;
        continue;
      }
      running++;
      void runOne(index).then((response) => {
        running--;
        finish(index, response);
        pump();
      });
      if (barrier(index)) {
        runningBarrier = index;
        break;
      }
    }
    return answered;
  };
  /** Starts every item that may start now, and wakes the consumer. */
  const pump = () => {
    if (pumping || closed) return;
    pumping = true;
    try {
      // An item answered at once may let earlier waiting items (its dependents) start.
      let again = true;
      while (again) again = startReady();
    } finally {
      pumping = false;
    }
    wake?.();
  };

  try {
    let written = 0;
    pump();
    while (written < count) {
      // Every answer ready now, in the order they are due: one run, so that the encoder
      // writes them as one chunk (one socket write) instead of one each.
      const run: SubResponse[] = [];
      const before = written;
      let completedAt = 0;
      while (written < count) {
        let response: SubResponse | undefined;
        if (inOrder) {
          response = held[written];
          held[written] = undefined;
        } else if (completedAt < completed.length) {
          response = completed[completedAt++];
        }
        if (response === undefined) break;
        written++;
        inFlight--;
        // The other items of a failed change set: answered by the failed one alone.
        if (response !== SKIPPED) run.push(response);
      }
      if (completedAt > 0) completed.splice(0, completedAt);
      if (written > before) {
        // The slots the run frees are refilled when the consumer asks for more: what it
        // holds counts against the window, so a consumer that stops pulling stops the batch.
        if (run.length > 0) yield run;
        pump();
        continue;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
      wake = undefined;
    }
  } finally {
    closed = true;
    // The consumer went away (or we are done): stop whatever still runs.
    if (done < count) stopBatch();
    if (deadline !== undefined) clearTimeout(deadline);
    options.signal?.removeEventListener('abort', stopBatch);
    onBatchAbort.clear();
  }
}

/**
 * The dispatch's response, or the answer for an aborted item as soon as `signal` aborts.
 * The abort callback is forgotten once either settles, so nothing per item outlives it.
 * `subscribe` watches the signal (the batch's shared one) without a listener per item.
 */
function untilAborted(
  dispatched: Promise<SubResponse>,
  signal: AbortSignal,
  timeoutMs: number | undefined,
  subscribe: ((callback: () => void) => () => void) | undefined,
): Promise<SubResponse> {
  if (signal.aborted) {
    dispatched.catch(() => {});
    return Promise.resolve(abortedResponse(signal.reason, timeoutMs));
  }
  return new Promise<SubResponse>((resolve, reject) => {
    const onAbort = () => resolve(abortedResponse(signal.reason, timeoutMs));
    let forget: () => void;
    if (subscribe !== undefined) {
      forget = subscribe(onAbort);
    } else {
      signal.addEventListener('abort', onAbort, { once: true });
      forget = () => signal.removeEventListener('abort', onAbort);
    }
    dispatched.then(
      (response) => {
        forget();
        resolve(response);
      },
      (error: unknown) => {
        forget();
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
