import type { AbortSource } from '../http/clientAbort.js';
import type { SubRequest, SubResponse } from '../model/types.js';
import type { AtomicityGroupInfo, BatchItemInfo } from './itemInfo.js';

/** What the executor needs besides the items. */
export interface ExecuteOptions {
  /**
   * Dispatches an item; `signal` gives the signal it runs under (made when first asked for),
   * `aborts` says the same without making one.
   */
  run: (
    request: SubRequest,
    index: number,
    signal: () => AbortSignal,
    aborts: AbortSource,
  ) => Promise<SubResponse>;
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
  signal: AbortSource | undefined;
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
   * Answers known before the batch runs, by item (SPEC §8: replayed from the record of a
   * batch taken over after a crash): those items never run.
   */
  known?: ReadonlyMap<number, SubResponse> | undefined;
  /**
   * Called before an item is dispatched (SPEC §8: a keyed batch records that a write
   * started); when it rejects, the item answers `503` without running.
   */
  beforeDispatch?: ((request: SubRequest, index: number) => Promise<void>) | undefined;
  /**
   * Tags each answer with its item's index (`indexOfAnswer`), for a recorder that keeps
   * answers by item (SPEC §8); off, answers carry nothing more than they say.
   * @default false
   */
  recordIndexes?: boolean | undefined;
  /** Items that start together enter the app one per task (`BatchOptions.spreadStarts`). @default true */
  spreadStarts?: boolean | undefined;
  /**
   * Wraps each item's dispatch (`run` calls the dispatcher): a tracer opens a span around it
   * and runs it in that span's context. It must call `run` once and return what it returns.
   */
  aroundItem?:
    | ((
        request: SubRequest,
        index: number,
        run: () => Promise<SubResponse>,
      ) => Promise<SubResponse>)
    | undefined;
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
