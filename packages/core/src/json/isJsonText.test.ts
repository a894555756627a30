import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytes, FC_SEED } from '../testing.js';
import { isJsonText } from './isJsonText.js';

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

describe('isJsonText', () => {
  it.each([
    ['{"a":[1,2.5e-3,-0,true,false,null,"x\\u00e9\\n"]}', true],
    [' \r\n\t[] ', true],
    ['"\u00e9\u{1f600}"', true],
    ['{}', true],
    ['', false],
    ['{', false],
    ['[1,]', false],
    ['{"a":1,}', false],
    ['01', false],
    ['1.', false],
    ['-', false],
    ['"\\x"', false],
    ['"a\u0001"', false],
    ['nul', false],
    ['[1] [2]', false],
    ['{"a" 1}', false],
    ['{1:2}', false],
  ])('%j → %s', (text, expected) => {
    expect(isJsonText(bytes(text))).toBe(expected);
    expect(parses(text)).toBe(expected);
  });

  it('rejects invalid UTF-8 inside strings and a byte order mark', () => {
    expect(isJsonText(Uint8Array.from([0x22, 0xff, 0x22]))).toBe(false);
    expect(isJsonText(Uint8Array.from([0x22, 0xed, 0xa0, 0x80, 0x22]))).toBe(false); // a surrogate
    expect(isJsonText(Uint8Array.from([0x22, 0xc0, 0xaf, 0x22]))).toBe(false); // overlong
    expect(isJsonText(Uint8Array.from([0xef, 0xbb, 0xbf, 0x31]))).toBe(false);
  });

  it('agrees with JSON.parse on JSON texts and on their mutations', () => {
    const mutated = fc
      .tuple(
        fc.json(),
        fc.nat(),
        fc.constantFrom('', ',', ']', '}', '"', ':', '0', ' ', '\\', 'e', '-', '.'),
      )
      .map(([text, at, insert]) => {
        const i = at % (text.length + 1);
        return text.slice(0, i) + insert + text.slice(i);
      });
    fc.assert(
      fc.property(fc.oneof(fc.json(), mutated, fc.string()), (text) => {
        expect(isJsonText(bytes(text))).toBe(parses(text));
      }),
      { numRuns: 3000, seed: FC_SEED },
    );
  }, 15_000);
});
