import type { HeaderList } from '../model/types.js';
import { inheritablePrefer } from './preferences.js';

/**
 * Which outer-request headers a sub-request inherits (SPEC §4):
 * - `'default'`: every header except those that are never inherited;
 * - `'none'`: nothing;
 * - a list of names: only those (any case);
 * - a predicate on the lower-case name.
 * Hop-by-hop headers, `Host`, `Content-*`, `Expect` and `Transfer-Encoding` are never
 * inherited, whatever the policy.
 */
export type InheritHeadersPolicy =
  | 'default'
  | 'none'
  | readonly string[]
  | ((name: string) => boolean);

const NEVER_INHERITED = new Set([
  'connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'expect',
  'http2-settings',
  // SPEC §8: the batch's own key; an item that carries one keeps its own.
  'idempotency-key',
]);

/** True when a header (lower-case name) may never pass from the batch to its items. */
export function isNeverInherited(lowerName: string): boolean {
  return (
    NEVER_INHERITED.has(lowerName) || lowerName.startsWith('content-') || lowerName.startsWith(':')
  );
}

/** Compiles a policy into a test on lower-case header names. */
export function compileInheritPolicy(
  policy: InheritHeadersPolicy = 'default',
): (lowerName: string) => boolean {
  if (policy === 'default') return (name) => !isNeverInherited(name);
  if (policy === 'none') return () => false;
  if (typeof policy === 'function') return (name) => !isNeverInherited(name) && policy(name);
  const allowed = new Set(policy.map((name) => name.toLowerCase()));
  return (name) => allowed.has(name) && !isNeverInherited(name);
}

/** One outer header an item may get: `host` always, any other unless the item sets its own. */
interface InheritedHeader {
  lower: string;
  header: HeaderList[number];
}

/**
 * What the outer request passes to its items, worked out once per batch: its `Host`, and the
 * headers the policy lets through — none that the outer `Connection` header names, an inherited
 * `Prefer` without `respond-async` (SPEC §7, which only the batch layer applies) — in their
 * order. `applyInheritedHeaders` then only drops those an item sets itself.
 */
export function compileOuterHeaders(
  outer: HeaderList,
  inherits: (lowerName: string) => boolean,
): readonly InheritedHeader[] {
  let connectionNames: Set<string> | undefined;
  for (const [name, value] of outer) {
    if (name.toLowerCase() === 'connection') {
      connectionNames ??= new Set();
      for (const token of value.split(',')) connectionNames.add(token.trim().toLowerCase());
    }
  }
  const inherited: InheritedHeader[] = [];
  for (const header of outer) {
    const lower = header[0].toLowerCase();
    if (lower === 'host') inherited.push({ lower, header });
    else if (connectionNames?.has(lower) !== true && inherits(lower)) {
      if (lower !== 'prefer') inherited.push({ lower, header });
      else {
        const value = inheritablePrefer(header[1]);
        if (value !== undefined)
          inherited.push({ lower, header: value === header[1] ? header : [header[0], value] });
      }
    }
  }
  return inherited;
}

/**
 * An item's headers: its own (defaults already merged in) but `Host`, then the outer headers
 * of `compileOuterHeaders` it does not set itself; `Host` is always the outer request's.
 */
export function applyInheritedHeaders(
  own: HeaderList,
  inherited: readonly InheritedHeader[],
): HeaderList {
  const headers: HeaderList = [];
  let ownNames: Set<string> | undefined;
  for (const header of own) {
    const lower = header[0].toLowerCase();
    if (lower === 'host') continue;
    ownNames ??= new Set();
    ownNames.add(lower);
    headers.push(header);
  }
  for (const { lower, header } of inherited) {
    if (ownNames === undefined || lower === 'host' || !ownNames.has(lower)) headers.push(header);
  }
  return headers;
}

/**
 * The headers a sub-request is dispatched with: its own (defaults already merged in),
 * then the inherited outer headers it does not set itself, plus any header the outer
 * `Connection` header names is dropped; `Host` is always the outer request's. An inherited
 * `Prefer` loses `respond-async` (SPEC §7), which only the batch layer applies. A batch
 * works the outer part out once (`compileOuterHeaders`), not once per item.
 */
export function applyHeaderPolicy(
  own: HeaderList,
  outer: HeaderList,
  inherits: (lowerName: string) => boolean,
): HeaderList {
  return applyInheritedHeaders(own, compileOuterHeaders(outer, inherits));
}
