import type { SubResponse } from '../model/types.js';
import { Cancellation } from './cancellation.js';
import type { ExecuteOptions } from './executeOptions.js';
import { ItemOutcomes } from './outcomes.js';
import { OutputWindow } from './outputWindow.js';
import type { PlannedItem } from './planBatch.js';
import type { RunContext } from './runItem.js';
import { Scheduler } from './schedule.js';
import { TurnGate } from './turns.js';

export type { ExecuteOptions } from './executeOptions.js';
export type { PlannedItem } from './planBatch.js';

/**
 * Runs planned items through the dispatcher as if one after another, as fast as all at
 * once (SPEC §4), and yields their answers in request order (or in completion order), in
 * runs: each run is every answer that was ready, in the order they are due, when the
 * consumer asked for more (never empty), so that the encoder writes it as one chunk.
 *
 * The steps, one rule each: which item may start and why one waits — `schedule.ts`; why
 * one answers without running (`424`, aborted) — `refusal.ts`; running one item, its
 * reference followed — `runItem.ts`; an atomicity group in its transaction — `runGroup.ts`;
 * timeouts, the deadline and cancellation — `cancellation.ts`; what each answer said and
 * how it is shaped — `outcomes.ts`; the output window that bounds memory and holds answers
 * until they are due — `outputWindow.ts`.
 */
export async function* executeBatchRuns(
  items: PlannedItem[],
  options: ExecuteOptions,
): AsyncGenerator<SubResponse[]> {
  const inOrder = (options.order ?? 'request') === 'request';
  const context: RunContext = {
    items,
    options,
    outcomes: new ItemOutcomes(
      items,
      options.stopOnError,
      inOrder,
      options.onItem,
      options.recordIndexes,
    ),
    cancellation: new Cancellation(options.signal, options.deadlineMs, options.timeoutMs),
    // Answers that come while items still wait to enter reach the consumer once they all have.
    turns: options.spreadStarts === false ? undefined : new TurnGate(() => window.wake()),
  };
  const window = new OutputWindow(items.length, inOrder, context.turns);
  const scheduler = new Scheduler(context, window);
  try {
    scheduler.pump();
    while (!window.finished) {
      const run = window.take();
      if (run === undefined) {
        await window.next();
        continue;
      }
      // The slots the run frees are refilled when the consumer asks for more: what it holds
      // counts against the window, so a consumer that stops pulling stops the batch.
      if (run.length > 0) yield run;
      scheduler.pump();
    }
  } finally {
    scheduler.close();
    // The consumer went away (or we are done): stop whatever still runs.
    context.cancellation.close(!scheduler.allDone);
  }
}
