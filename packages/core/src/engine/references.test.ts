import { describe, expect, it } from 'vitest';
import { referencedTarget } from './references.js';

describe('references', () => {
  it('the target is the Location path and query, then the rest', () => {
    const host = 'api.example.com';
    expect(referencedTarget('/articles/3', '/articles', '', host)).toBe('/articles/3');
    expect(
      referencedTarget(
        'http://api.example.com/odata/Customers(1)',
        '/odata/Customers',
        '/Orders',
        host,
      ),
    ).toBe('/odata/Customers(1)/Orders');
    expect(referencedTarget('/a/3?v=1', '/a', '/b?x=2', host)).toBe('/a/3/b?v=1&x=2');
    expect(referencedTarget('/a/3/', '/a', '/b', host)).toBe('/a/3/b');
    // Relative to the referenced item's own target, as a Location is.
    expect(referencedTarget('3', '/v1/articles/', '', host)).toBe('/v1/articles/3');
    // Another origin is never followed.
    expect(referencedTarget('https://evil.example/x', '/a', '', host)).toBeUndefined();
    expect(referencedTarget('//evil.example/x', '/a', '', host)).toBeUndefined();
  });
});
