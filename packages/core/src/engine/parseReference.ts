/**
 * References (SPEC §4 "References"): a sub-request target `$<id>` or `$<id>/rest` stands for
 * the resource an earlier item created — its `Location` — followed by `rest`. The decoders
 * keep such a target exactly as sent; the engine substitutes it before the item runs.
 */

/** A reference target, split: `$1/Orders?x` → `{ id: '1', rest: '/Orders?x' }`. */
export interface Reference {
  /** The name after `$`, up to the first `/`, `?` or `#`, exactly as written (not decoded). */
  id: string;
  /** Everything after the name: `''`, or a string beginning with `/`, `?` or `#`. */
  rest: string;
}

/**
 * Splits a reference target: `$1/Orders?x` → `{ id: '1', rest: '/Orders?x' }`, `$item` →
 * `{ id: 'item', rest: '' }`, `$item3?x=1` → `{ id: 'item3', rest: '?x=1' }`. Any other
 * target — one not beginning with `$`, or with nothing between `$` and the first `/`, `?`
 * or `#` — gives `undefined`. Purely syntactic: whether `id` names an item is for the caller
 * to decide, by comparing it with `referenceName(item)` of the items before it.
 */
export function parseReference(target: string): Reference | undefined {
  if (target.charCodeAt(0) !== 0x24) return undefined; // $
  let end = 1;
  while (end < target.length) {
    const c = target.charCodeAt(end);
    if (c === 0x2f || c === 0x3f || c === 0x23) break; // / ? #
    end++;
  }
  if (end === 1) return undefined;
  return { id: target.slice(1, end), rest: target.slice(end) };
}

/**
 * The name a `$<name>` reference uses for an item: its JSON `id` as sent, or else its
 * multipart `Content-ID` as sent, trimmed and without one pair of enclosing `<…>` (so both
 * `Content-ID: 1` and `Content-ID: <1>` are referenced as `$1`); `undefined` when it has
 * neither. Names are compared exactly (case-sensitive, no percent-decoding).
 */
export function referenceName(item: {
  id?: string | undefined;
  contentId?: string | undefined;
}): string | undefined {
  if (item.id !== undefined) return item.id;
  if (item.contentId === undefined) return undefined;
  const id = item.contentId.trim();
  return id.length >= 2 && id.startsWith('<') && id.endsWith('>') ? id.slice(1, -1) : id;
}
