import { equalsLower } from '../http/headerNames.js';
import { applyHeaderPolicy } from '../http/headerPolicy.js';
import {
  comparablePath,
  mayBeSamePath,
  pathOfTarget,
  resolveTarget,
} from '../http/resolveTarget.js';
import { BatchError } from '../model/BatchError.js';
import type { DecodedBatch, HeaderList, SubRequest } from '../model/types.js';
import { type PartLocation, partError, partLocations } from '../multipart/partError.js';
import { parseReference, referenceName } from './parseReference.js';

/** One item ready to run: its dispatch request and what its response must echo. */
export interface PlannedItem {
  request: SubRequest;
  /** The resolved path, without query: echoed as `path` in JSON responses. */
  path: string;
  /** Indexes of the items this one waits for (all earlier). */
  dependsOn: number[] | undefined;
  /** The atomicity group the item belongs to: its name and the items `[start, end)`. */
  group?: ItemGroup;
  /** A `$<id>` target (SPEC §4 "References"): resolved from that item's `Location` when this one runs. */
  reference?: { index: number; rest: string };
}

export interface ItemGroup {
  name: string;
  start: number;
  end: number;
}

/** What planning needs besides the decoded batch. */
export interface PlanContext {
  batchPath: string;
  base: string;
  outerHeaders: HeaderList;
  inherits: (lowerName: string) => boolean;
}

/** Names an item the way its format does: `/requests/3/path`, `part 4` or `part 3.2`. */
function itemErrors(decoded: DecodedBatch) {
  let locations: PartLocation[] | undefined;
  return (index: number, member: string, detail: string): BatchError => {
    if (decoded.format === 'json')
      return BatchError.pointer('invalid_batch', `/requests/${index}/${member}`, detail);
    locations ??= partLocations(decoded.items);
    return partError('invalid_batch', locations[index]!, detail);
  };
}

/** The nesting guard: whether `path` is the batch route (its comparable form), in any spelling. */
export function isBatchRoute(path: string, batchRoute: string): boolean {
  return mayBeSamePath(path, batchRoute) && comparablePath(path) === batchRoute;
}

/**
 * Resolves targets and headers, applies the nesting guard, finds atomicity groups, maps
 * `dependsOn` (ids and group names) to indexes and checks references: a `$<id>` target must
 * name an earlier item (JSON: any; multipart: in the same change set), on which it then
 * implicitly depends. Everything is checked before anything runs.
 */
export function planBatch(decoded: DecodedBatch, context: PlanContext): PlannedItem[] {
  const { format } = decoded;
  const itemError = itemErrors(decoded);
  const batchRoute = comparablePath(context.batchPath);
  // `$metadata`, `$all`…: a `$name` that names no item of the batch is an ordinary target.
  const names = new Set<string>();
  for (const item of decoded.items) {
    const name = referenceName(item);
    if (name !== undefined) names.add(name);
  }
  const indexOfId = new Map<string, number>();
  const groups = new Map<string, ItemGroup>();
  let group: ItemGroup | undefined;
  return decoded.items.map((item, index) => {
    if (item.atomicityGroup === undefined) {
      group = undefined;
    } else if (group?.name !== item.atomicityGroup) {
      if (groups.has(item.atomicityGroup)) {
        throw itemError(index, 'atomicityGroup', 'the items of a group must be adjacent');
      }
      group = { name: item.atomicityGroup, start: index, end: index + 1 };
      groups.set(group.name, group);
    } else {
      group.end = index + 1;
    }

    const dependsOn: number[] = [];
    for (const name of item.dependsOn ?? []) {
      const id = indexOfId.get(name);
      const named = groups.get(name);
      if (id !== undefined) dependsOn.push(id);
      else if (named !== undefined && named !== group)
        for (let i = named.start; i < named.end; i++) dependsOn.push(i);
      else throw itemError(index, 'dependsOn', `"${name}" is not an earlier request or group`);
    }

    const parsed = parseReference(item.target);
    const reference = parsed !== undefined && names.has(parsed.id) ? parsed : undefined;
    let referenced: number | undefined;
    if (reference !== undefined) {
      referenced =
        format === 'json'
          ? indexOfId.get(reference.id)
          : findContentId(decoded.items, group, index, reference.id);
      if (referenced === undefined) {
        throw itemError(
          index,
          'path',
          format === 'json'
            ? `$${reference.id} names no earlier request`
            : `$${reference.id} names no earlier request of its change set`,
        );
      }
      if (!dependsOn.includes(referenced)) dependsOn.push(referenced);
    }

    const target = reference === undefined ? resolveTarget(item.target, context.base) : item.target;
    const path = pathOfTarget(target);
    if (reference === undefined && isBatchRoute(path, batchRoute)) {
      throw itemError(index, 'path', 'a batch cannot contain a request to the batch route');
    }
    if (item.id !== undefined) indexOfId.set(item.id, index);
    const request: SubRequest = {
      method: item.method,
      target,
      headers: withContentLength(
        applyHeaderPolicy(item.headers, context.outerHeaders, context.inherits),
        item.body,
      ),
      body: item.body,
    };
    if (item.id !== undefined) request.id = item.id;
    if (item.contentId !== undefined) request.contentId = item.contentId;
    if (item.atomicityGroup !== undefined) request.atomicityGroup = item.atomicityGroup;
    const planned: PlannedItem = {
      request,
      path,
      dependsOn: dependsOn.length === 0 ? undefined : dependsOn,
    };
    if (group !== undefined) planned.group = group;
    if (reference !== undefined && referenced !== undefined)
      planned.reference = { index: referenced, rest: reference.rest };
    return planned;
  });
}

/** The index of the earlier item of `group` whose Content-ID is `name`. */
function findContentId(
  items: DecodedBatch['items'],
  group: ItemGroup | undefined,
  index: number,
  name: string,
): number | undefined {
  if (group === undefined) return undefined;
  for (let i = index - 1; i >= group.start; i--) {
    const contentId = items[i]!.contentId;
    if (contentId !== undefined && referenceName({ contentId }) === name) return i;
  }
  return undefined;
}

/**
 * The headers with one `Content-Length` that is the body's true length (none for an empty
 * body): servers and body parsers decide from it whether there is a body to read.
 */
function withContentLength(headers: HeaderList, body: Uint8Array): HeaderList {
  const out = headers.filter(([name]) => !equalsLower(name, 'content-length'));
  if (body.length > 0) out.push(['content-length', String(body.length)]);
  return out;
}
