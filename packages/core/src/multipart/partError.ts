import { BatchError, type BatchErrorCode } from '../model/BatchError.js';
import type { SubRequest } from '../model/types.js';

/**
 * Where a multipart part is: its 1-based number in the batch body, and — for a request of a
 * change set (SPEC §2 "Change sets") — the 1-based position of its part in that change set,
 * with the change set's ordinal among the batch's change sets (1 for the first one).
 * A plain number is a top-level part.
 */
export type PartLocation =
  | number
  | {
      number: number;
      changeSet?: { ordinal: number; part: number } | undefined;
    };

/** `3` for the third part, `3.2` for the second request of the change set that is part 3. */
export function partLabel(location: PartLocation): string {
  if (typeof location === 'number') return String(location);
  const { number, changeSet } = location;
  return changeSet === undefined ? String(number) : `${number}.${changeSet.part}`;
}

/**
 * A `BatchError` about one multipart part. A top-level part is named as `BatchError.part`
 * names it (`part 4: …`, `errors: [{ part: 4, detail }]`). A request inside a change set is
 * named `part 3.2: …` in the message, and its `errors` entry keeps `part` the number of the
 * change set's part in the batch (so `part` stays a number, as before) and adds
 * `changeSetPart`: its position in the change set (`{ part: 3, changeSetPart: 2, detail }`).
 */
export function partError(
  code: BatchErrorCode,
  location: PartLocation,
  detail: string,
): BatchError {
  if (typeof location === 'number' || location.changeSet === undefined) {
    return BatchError.part(code, typeof location === 'number' ? location : location.number, detail);
  }
  const entry = { part: location.number, changeSetPart: location.changeSet.part, detail };
  return new BatchError(code, `part ${partLabel(location)}: ${detail}`, [entry]);
}

/**
 * The location of each item of a decoded multipart batch, in item order: consecutive items
 * of one change set (`atomicityGroup` `changeset-N`, as `decodeBatchRequest` names them)
 * share a part, numbered within it; every other item is a part of its own. For errors the
 * engine finds after decoding (`partError(code, locations[index], detail)`).
 */
export function partLocations(
  items: readonly Pick<SubRequest, 'atomicityGroup'>[],
): PartLocation[] {
  const out: PartLocation[] = [];
  let number = 0;
  let group: string | undefined;
  let ordinal = 0;
  let inner = 0;
  for (const item of items) {
    const itemGroup = item.atomicityGroup;
    if (itemGroup === undefined) {
      number++;
      group = undefined;
      out.push(number);
      continue;
    }
    if (itemGroup !== group) {
      number++;
      ordinal++;
      inner = 0;
      group = itemGroup;
    }
    inner++;
    out.push({ number, changeSet: { ordinal, part: inner } });
  }
  return out;
}
