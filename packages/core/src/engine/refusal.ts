import { problemResponse } from '../http/problems.js';
import type { SubResponse } from '../model/types.js';
import type { Cancellation } from './cancellation.js';
import type { ItemOutcomes } from './outcomes.js';
import type { PlannedItem } from './planBatch.js';

/**
 * Why an item answers without running, or `undefined` when it may run (SPEC §4): an item
 * it depends on failed (status ≥ 400) → `424`; an earlier item failed under `onError:
 * 'stop'` → `424`; the batch was aborted → `503`/`504`. Asked when the item is about to
 * start, so every dependency is known by then.
 */
export function refusal(
  item: PlannedItem,
  index: number,
  outcomes: ItemOutcomes,
  cancellation: Cancellation,
): SubResponse | undefined {
  const { dependsOn } = item;
  if (dependsOn !== undefined)
    for (const dependency of dependsOn) {
      const status = outcomes.finished[dependency] ?? outcomes.status[dependency]!;
      if (status >= 400) {
        return outcomes.unrun(
          index,
          problemResponse(
            424,
            'failed-dependency',
            `request ${dependency} it depends on failed with ${status}`,
          ),
        );
      }
    }
  if (outcomes.stopped) {
    return outcomes.unrun(
      index,
      problemResponse(424, 'failed-dependency', 'not run: an earlier request failed'),
    );
  }
  if (cancellation.aborted) return outcomes.unrun(index, cancellation.abortedResponse());
  return undefined;
}
