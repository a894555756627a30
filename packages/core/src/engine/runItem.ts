import { problemResponse } from '../http/problems.js';
import type { SubResponse } from '../model/types.js';
import type { Cancellation } from './cancellation.js';
import type { ExecuteOptions } from './executeOptions.js';
import type { ItemOutcomes } from './outcomes.js';
import type { PlannedItem } from './planBatch.js';
import type { TurnGate } from './turns.js';

/** What running one item needs: the batch's items, options, outcomes and cancellation. */
export interface RunContext {
  items: PlannedItem[];
  options: ExecuteOptions;
  outcomes: ItemOutcomes;
  cancellation: Cancellation;
  /** Spreads item starts over tasks (see `TurnGate`); `undefined` starts them together. */
  turns: TurnGate | undefined;
}

const now = () => performance.now();

/**
 * Runs one item through the dispatcher (SPEC §4): its `$<id>` reference followed first (a
 * reference that cannot be followed answers `424` unrun), then dispatched under the batch's
 * signal or its own timeout; a dispatcher that throws answers `500`. It enters the app by
 * the turn gate, unless the caller let it in already (`entered`).
 */
export async function runItem(
  context: RunContext,
  index: number,
  entered = false,
): Promise<SubResponse> {
  const { items, options, outcomes, cancellation } = context;
  const item = items[index]!;
  let request = item.request;
  if (item.reference !== undefined) {
    const resolved = followReference(context, index);
    if ('error' in resolved)
      return outcomes.unrun(index, problemResponse(424, 'failed-dependency', resolved.error));
    request = { ...request, target: resolved.target };
    outcomes.dispatchedPath[index] = resolved.path;
  }
  if (outcomes.isReferenced[index] === 1) outcomes.dispatchedTarget[index] = request.target;
  if (options.beforeDispatch !== undefined) {
    try {
      await options.beforeDispatch(request, index);
    } catch {
      return outcomes.unrun(
        index,
        problemResponse(503, 'not-recorded', 'not run: its start could not be recorded'),
      );
    }
  }
  const turn = entered ? undefined : context.turns?.entered();
  if (turn !== undefined) {
    await turn;
    // Aborted while it waited for its turn: it never enters the app.
    if (cancellation.aborted) return outcomes.unrun(index, cancellation.abortedResponse());
  }
  const started = now();
  const { signal, release } = cancellation.itemSignal();
  let response: SubResponse;
  try {
    const signalOf = signal === undefined ? cancellation.signal : () => signal;
    const dispatch = () => options.run(request, index, signalOf, signal ?? cancellation);
    const dispatched =
      options.aroundItem === undefined ? dispatch() : options.aroundItem(request, index, dispatch);
    response = await cancellation.settle(dispatched, signal);
  } catch {
    response = problemResponse(
      500,
      'dispatch-failed',
      'the sub-request failed before it was answered',
    );
  } finally {
    release?.();
  }
  return outcomes.answer(index, response, started, true);
}

/**
 * The target of item `index`'s reference (SPEC §4 "References"): the referenced item's
 * `Location`, resolved by the handler — or why it cannot be followed (the item failed,
 * answered no `Location`, or one on another origin).
 */
function followReference(
  { items, options, outcomes }: RunContext,
  index: number,
): { target: string; path: string } | { error: string } {
  const { index: referenced, rest } = items[index]!.reference!;
  const status = outcomes.status[referenced];
  const location = outcomes.location[referenced];
  if (status === undefined || status >= 400)
    return { error: `request ${referenced} it refers to failed with ${status}` };
  if (location === undefined || options.resolveReference === undefined)
    return { error: `request ${referenced} it refers to answered no Location` };
  return options.resolveReference(location, outcomes.dispatchedTarget[referenced] ?? '/', rest);
}
