import { equalsLower } from '../http/headerNames.js';
import { applyInheritedHeaders, compileOuterHeaders } from '../http/headerPolicy.js';
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

/** What planning one item reads and updates: ids and groups seen so far. */
interface PlanState {
  decoded: DecodedBatch;
  context: PlanContext;
  itemError: (index: number, member: string, detail: string) => BatchError;
  batchRoute: string;
  /** Names a `$<name>` target may refer to (`$metadata`, `$all`… name no item: ordinary targets). */
  names: Set<string>;
  indexOfId: Map<string, number>;
  groups: Map<string, ItemGroup>;
  /** The atomicity group of the item being planned. */
  group: ItemGroup | undefined;
  /** The outer headers the items may inherit, worked out once for the batch. */
  inherited: ReturnType<typeof compileOuterHeaders>;
}

/**
 * Resolves targets and headers, applies the nesting guard, finds atomicity groups, maps
 * `dependsOn` (ids and group names) to indexes and checks references: a `$<id>` target must
 * name an earlier item (JSON: any; multipart: in the same change set), on which it then
 * implicitly depends. Everything is checked before anything runs.
 */
export function planBatch(decoded: DecodedBatch, context: PlanContext): PlannedItem[] {
  const names = new Set<string>();
  for (const item of decoded.items) {
    const name = referenceName(item);
    if (name !== undefined) names.add(name);
  }
  const state: PlanState = {
    decoded,
    context,
    itemError: itemErrors(decoded),
    batchRoute: comparablePath(context.batchPath),
    names,
    indexOfId: new Map(),
    groups: new Map(),
    group: undefined,
    inherited: compileOuterHeaders(context.outerHeaders, context.inherits),
  };
  return decoded.items.map((item, index) => planItem(state, item, index));
}

function planItem(state: PlanState, item: SubRequest, index: number): PlannedItem {
  const { context, itemError, indexOfId } = state;
  enterGroup(state, item, index);
  const dependsOn = dependencies(state, item, index);
  const reference = referenceOf(state, item, index);
  if (reference !== undefined && !dependsOn.includes(reference.index))
    dependsOn.push(reference.index);

  const target = reference === undefined ? resolveTarget(item.target, context.base) : item.target;
  const path = pathOfTarget(target);
  if (reference === undefined && isBatchRoute(path, state.batchRoute)) {
    throw itemError(index, 'path', 'a batch cannot contain a request to the batch route');
  }
  if (item.id !== undefined) indexOfId.set(item.id, index);
  const request: SubRequest = {
    method: item.method,
    target,
    headers: withContentLength(applyInheritedHeaders(item.headers, state.inherited), item.body),
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
  if (state.group !== undefined) planned.group = state.group;
  if (reference !== undefined) planned.reference = reference;
  return planned;
}

/** Opens, extends or leaves the atomicity group at item `index` (a group's items are adjacent). */
function enterGroup(state: PlanState, item: SubRequest, index: number): void {
  const name = item.atomicityGroup;
  if (name === undefined) {
    state.group = undefined;
  } else if (state.group?.name !== name) {
    if (state.groups.has(name)) {
      throw state.itemError(index, 'atomicityGroup', 'the items of a group must be adjacent');
    }
    state.group = { name, start: index, end: index + 1 };
    state.groups.set(name, state.group);
  } else {
    state.group.end = index + 1;
  }
}

/** The indexes `dependsOn` names: earlier ids, or every item of an earlier group. */
function dependencies(state: PlanState, item: SubRequest, index: number): number[] {
  const dependsOn: number[] = [];
  for (const name of item.dependsOn ?? []) {
    const id = state.indexOfId.get(name);
    const named = state.groups.get(name);
    if (id !== undefined) dependsOn.push(id);
    else if (named !== undefined && named !== state.group)
      for (let i = named.start; i < named.end; i++) dependsOn.push(i);
    else throw state.itemError(index, 'dependsOn', `"${name}" is not an earlier request or group`);
  }
  return dependsOn;
}

/** The item a `$<id>` target refers to, and the rest of the target; `undefined` for none. */
function referenceOf(
  state: PlanState,
  item: SubRequest,
  index: number,
): { index: number; rest: string } | undefined {
  const parsed = parseReference(item.target);
  if (parsed === undefined || !state.names.has(parsed.id)) return undefined;
  const json = state.decoded.format === 'json';
  const referenced = json
    ? state.indexOfId.get(parsed.id)
    : findContentId(state.decoded.items, state.group, index, parsed.id);
  if (referenced === undefined) {
    throw state.itemError(
      index,
      'path',
      json
        ? `$${parsed.id} names no earlier request`
        : `$${parsed.id} names no earlier request of its change set`,
    );
  }
  return { index: referenced, rest: parsed.rest };
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
