import { utf8 } from '../http/bytes.js';
import { BatchError } from '../model/BatchError.js';
import { resolveLimits } from '../model/limits.js';
import type { BatchLimits } from '../model/types.js';

/** Levels above an item's members: the document, `requests`, the item (as `JsonBatchWatcher` counts). */
const ENVELOPE_DEPTH = 3;

interface Pending {
  value: object;
  depth: number;
  /** The index of the item this value is inside (-1: outside `requests`). */
  item: number;
  inBody: boolean;
}

/**
 * The bytes of a JSON batch that a body parser (`express.json()`) already parsed, to be read
 * again: refused with a `400` naming the item when a value is nested deeper than
 * `maxJsonDepth` — the bound the byte reader enforces — so that `JSON.stringify` never
 * recurses on a depth the client chose (SPEC §4 "Limits"). Walks the value without recursion.
 */
export function encodeParsedJsonBatch(document: unknown, limits?: BatchLimits): Uint8Array {
  const maxDepth = resolveLimits(limits).maxJsonDepth + ENVELOPE_DEPTH;
  if (document !== null && typeof document === 'object') {
    const stack: Pending[] = [{ value: document, depth: 1, item: -1, inBody: false }];
    for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
      const { value, depth, item, inBody } = next;
      if (depth > maxDepth) {
        const pointer = item < 0 ? '' : `/requests/${item}${inBody ? '/body' : ''}`;
        const detail = `is nested more than ${maxDepth - ENVELOPE_DEPTH} levels deep`;
        throw new BatchError('invalid_batch', `${pointer || 'the batch'}: ${detail}`, [
          { pointer, detail },
        ]);
      }
      const isRequests = depth === 1 && !Array.isArray(value);
      for (const [key, child] of Object.entries(value)) {
        if (child === null || typeof child !== 'object') continue;
        const childItem = depth === 2 && item === -2 ? Number(key) : item;
        stack.push({
          value: child,
          depth: depth + 1,
          // `requests` (depth 2) marks its elements (depth 3) as items.
          item: isRequests && key === 'requests' ? -2 : childItem,
          inBody: inBody || (depth === 3 && childItem >= 0 && key === 'body'),
        });
      }
    }
  }
  return utf8(JSON.stringify(document));
}
