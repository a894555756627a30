import { problemResponse } from '../http/problems.js';
import type { SubResponse } from '../model/types.js';
import type { ItemGroup } from './planBatch.js';
import { refusal } from './refusal.js';
import { type RunContext, runItem } from './runItem.js';

/** The answer of an item left out of the output (the other items of a failed change set). */
export const SKIPPED: SubResponse = { status: 0, headers: [], body: null };

class GroupFailed extends Error {}

const now = () => performance.now();

/**
 * Runs an atomicity group (SPEC §4): its items in order, inside the application's
 * transaction when there is a hook, stopping at the first failure (status ≥ 400 or a
 * throw), which rejects `run` so that the transaction rolls back. Every item of the group
 * is finished together, once the transaction is over: the failed one keeps its answer; the
 * others answer `424` (`rolled back`, or `not run`) — or, for a multipart change set with a
 * transaction, the failed answer stands alone for the whole set (`SKIPPED` for the rest).
 */
export async function runGroup(
  context: RunContext,
  group: ItemGroup,
  finish: (index: number, response: SubResponse) => void,
): Promise<void> {
  const { options, outcomes } = context;
  const { answers, failed } = await runInTransaction(context, group);
  const rolledBack = options.transaction !== undefined;
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
        response = outcomes.unrun(index, groupFailed('not run'));
      else if (rolledBack)
        response = outcomes.answer(index, groupFailed('rolled back'), now(), true);
    }
    if (collapse && index === failed) response = { ...response!, failedGroup: true };
    finish(index, collapse && index !== failed ? SKIPPED : response!);
  }
}

/** The group's answers so far and the index of the item that failed (-1: none). */
async function runInTransaction(
  context: RunContext,
  group: ItemGroup,
): Promise<{ answers: SubResponse[]; failed: number }> {
  const { items, options, outcomes, cancellation } = context;
  const answers: SubResponse[] = [];
  let failed = -1;
  const run = async () => {
    for (let index = group.start; index < group.end; index++) {
      const response =
        refusal(items[index]!, index, outcomes, cancellation) ?? (await runItem(context, index));
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
    answers[0] = outcomes.unrun(group.start, problemResponse(500, 'transaction-failed', broken));
  }
  return { answers, failed };
}
