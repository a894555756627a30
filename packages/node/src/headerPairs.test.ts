import { describe, expect, it } from 'vitest';
import { headerPairs } from './headerPairs.js';

describe('headerPairs', () => {
  it("keeps a request's raw headers as they came, repeated names and case included", () => {
    expect(headerPairs(['Host', 'a', 'X-Two', '1', 'x-two', '2'])).toEqual([
      ['Host', 'a'],
      ['X-Two', '1'],
      ['x-two', '2'],
    ]);
  });

  it("drops HTTP/2's pseudo-headers, which are no header fields", () => {
    expect(
      headerPairs([':method', 'POST', ':path', '/batch', ':authority', 'h', 'content-type', 'x']),
    ).toEqual([['content-type', 'x']]);
  });
});
