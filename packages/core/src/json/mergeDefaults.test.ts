import { describe, expect, it } from 'vitest';
import { mergeDefaults } from './mergeDefaults.js';

describe('mergeDefaults', () => {
  it('merges deeply, never overwriting, and leaves both inputs unchanged', () => {
    const defaults = { method: 'POST', headers: { A: '1', B: '2' }, body: { x: [1], y: { z: 1 } } };
    const request = { headers: { B: 'own' }, body: { x: [2] } };
    const snapshot = JSON.stringify([defaults, request]);
    const merged = mergeDefaults(defaults, request);
    expect(merged).toEqual({
      method: 'POST',
      headers: { A: '1', B: 'own' },
      body: { x: [2], y: { z: 1 } },
    });
    expect(JSON.stringify([defaults, request])).toBe(snapshot);
    // Objects taken from defaults are copies, not shared references.
    expect(merged.body).not.toBe(defaults.body);
  });

  it('never merges nor reads __proto__, constructor or prototype', () => {
    const defaults = JSON.parse(
      '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"a":{"__proto__":{"polluted":1}}}',
    );
    const request = JSON.parse('{"a":{}}');
    const merged = mergeDefaults(defaults, request);
    expect(Object.keys(merged)).toEqual(['a']);
    expect(Object.keys(merged.a as object)).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
  });

  it("keeps the target's own data whole, __proto__ keys included, as own properties", () => {
    const request = JSON.parse(
      '{"body":{"constructor":"Ferrari","prototype":"SF-25","__proto__":{"x":1}}}',
    );
    const merged = mergeDefaults({ body: { source: 'batch' } }, request);
    expect(JSON.stringify(merged.body)).toBe(
      '{"constructor":"Ferrari","prototype":"SF-25","__proto__":{"x":1},"source":"batch"}',
    );
    expect(Object.getPrototypeOf(merged.body)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('does not merge arrays or scalars into objects', () => {
    expect(mergeDefaults({ a: [1, 2], b: { c: 1 } }, { a: [3], b: 'x' })).toEqual({
      a: [3],
      b: 'x',
    });
  });
});
