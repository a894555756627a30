import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyHeaderPolicy, compileInheritPolicy } from './headerPolicy.js';
import { inheritablePrefer, parsePrefer, readBatchPreferences } from './preferences.js';

describe('parsePrefer (RFC 7240)', () => {
  it('reads several preferences in one field and in several, names in any case', () => {
    expect(parsePrefer(['RETURN=minimal, Respond-Async', 'wait=10'])).toEqual([
      { name: 'return', value: 'minimal', parameters: [] },
      { name: 'respond-async', value: undefined, parameters: [] },
      { name: 'wait', value: '10', parameters: [] },
    ]);
  });

  it('reads parameters, quoted values (with escapes, commas and semicolons inside) and BWS around "="', () => {
    expect(parsePrefer(['foo = "a, \\"b\\"; c" ; bar=1;; baz = "" , handling=lenient'])).toEqual([
      {
        name: 'foo',
        value: 'a, "b"; c',
        parameters: [
          ['bar', '1'],
          ['baz', undefined],
        ],
      },
      { name: 'handling', value: 'lenient', parameters: [] },
    ]);
  });

  it('an empty value is no value; the first of a repeated preference wins', () => {
    expect(parsePrefer(['return=""', 'return=minimal'])).toEqual([
      { name: 'return', value: undefined, parameters: [] },
    ]);
  });

  it('ignores what cannot be read, and keeps reading after it', () => {
    expect(
      parsePrefer(['bad name=1, return="unclosed, x=a b, =1, ok;p=(x), , respond-async']),
    ).toEqual([]);
    expect(parsePrefer(['bad name=1, x=a b, =1, "q", respond-async, , return=minimal'])).toEqual([
      { name: 'respond-async', value: undefined, parameters: [] },
      { name: 'return', value: 'minimal', parameters: [] },
    ]);
  });

  it('never throws, whatever the field holds', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }), { maxLength: 3 }), (values) => {
        parsePrefer(values);
        readBatchPreferences(values.map((value) => ['Prefer', value]));
        inheritablePrefer(values.join(''));
      }),
    );
  });
});

describe('readBatchPreferences (SPEC §7)', () => {
  it.each([
    [[['Prefer', 'return=minimal']], true, false],
    [[['prefer', 'Return=MINIMAL; x=1']], true, false],
    [[['Prefer', 'respond-async, return=minimal']], true, true],
    [
      [
        ['Prefer', 'respond-async'],
        ['PREFER', 'return=minimal'],
      ],
      true,
      true,
    ],
    [[['Prefer', 'return=representation']], false, false],
    [[['Prefer', 'return=representation, return=minimal']], false, false],
    [[['Prefer', 'return="minimal"']], true, false],
    [[['Prefer', 'return']], false, false],
    [[['X-Prefer', 'return=minimal']], false, false],
    [[], false, false],
  ] as Array<[Array<[string, string]>, boolean, boolean]>)(
    '%j → minimal %s, async %s',
    (headers, returnMinimal, respondAsync) => {
      expect(readBatchPreferences(headers)).toEqual({ returnMinimal, respondAsync });
    },
  );
});

describe('Prefer passed on to sub-requests', () => {
  it('loses respond-async, keeps everything else as sent', () => {
    expect(inheritablePrefer('return=minimal')).toBe('return=minimal');
    expect(inheritablePrefer('Respond-Async, return=minimal;x="a,b"')).toBe(
      'return=minimal;x="a,b"',
    );
    expect(inheritablePrefer('respond-async; wait=5')).toBeUndefined();
    expect(inheritablePrefer('x="respond-async", respond-async')).toBe('x="respond-async"');
  });

  it('the header policy drops respond-async from an inherited Prefer, not from an item’s own', () => {
    const inherits = compileInheritPolicy();
    expect(applyHeaderPolicy([], [['Prefer', 'respond-async, return=minimal']], inherits)).toEqual([
      ['Prefer', 'return=minimal'],
    ]);
    expect(applyHeaderPolicy([], [['Prefer', 'respond-async']], inherits)).toEqual([]);
    expect(
      applyHeaderPolicy([['prefer', 'respond-async']], [['Prefer', 'return=minimal']], inherits),
    ).toEqual([['prefer', 'respond-async']]);
    const same: [string, string] = ['Prefer', 'return=minimal'];
    expect(applyHeaderPolicy([], [same], inherits)[0]).toBe(same);
  });
});
