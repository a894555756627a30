import type { HeaderList } from '@batch/core';

/**
 * A Node request's `rawHeaders` (`[name, value, name, value, …]`) as a header list, as they
 * came — but HTTP/2's pseudo-headers (`:method`, `:path`, …), which are no header fields.
 */
export function headerPairs(raw: readonly string[]): HeaderList {
  const pairs: HeaderList = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.charCodeAt(0) !== 0x3a /* : */) pairs.push([name, raw[i + 1]!]);
  }
  return pairs;
}
