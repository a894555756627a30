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

/**
 * The headers a sub-request is dispatched with: its own (defaults already merged in),
 * then the inherited outer headers it does not set itself, plus any header the outer
 * `Connection` header names is dropped; `Host` is always the outer request's. An inherited
 * `Prefer` loses `respond-async` (SPEC §7), which only the batch layer applies.
 */
export function applyHeaderPolicy(
  own: HeaderList,
  outer: HeaderList,
  inherits: (lowerName: string) => boolean,
): HeaderList {
  return compileHeaderPolicy(outer, inherits)(own);
}

/**
 * `applyHeaderPolicy` for one batch: what the outer headers give is worked out once, each
 * item then only adds its own. The list it returns is new (its caller may change it).
 */
export function compileHeaderPolicy(
  outer: HeaderList,
  inherits: (lowerName: string) => boolean,
): (own: HeaderList) => HeaderList {
  const connectionNames = new Set<string>();
  for (const [name, value] of outer) {
    if (name.toLowerCase() === 'connection') {
      for (const token of value.split(',')) connectionNames.add(token.trim().toLowerCase());
    }
  }
  const inheritedNames: string[] = [];
  const inherited: HeaderList = [];
  for (const header of outer) {
    const lower = header[0].toLowerCase();
    let kept: [string, string] | undefined;
    if (lower === 'host') kept = header;
    else if (!connectionNames.has(lower) && inherits(lower)) {
      // SPEC §7: `respond-async` belongs to the batch; the rest of `Prefer` is passed on.
      const value = lower === 'prefer' ? inheritablePrefer(header[1]) : header[1];
      if (value !== undefined) kept = value === header[1] ? header : [header[0], value];
    }
    if (kept === undefined) continue;
    inheritedNames.push(lower);
    inherited.push(kept);
  }
  return (own) => {
    const headers: HeaderList = [];
    // Few headers: an array is quicker to search than a set is to build.
    const ownNames: string[] = [];
    for (const header of own) {
      const lower = header[0].toLowerCase();
      if (lower === 'host') continue;
      ownNames.push(lower);
      headers.push(header);
    }
    for (let i = 0; i < inherited.length; i++) {
      // The outer `Host` always (an item's own was dropped above).
      if (ownNames.length === 0 || !ownNames.includes(inheritedNames[i]!))
        headers.push(inherited[i]!);
    }
    return headers;
  };
}
