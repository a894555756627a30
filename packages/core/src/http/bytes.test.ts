import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FC_SEED } from '../testing.js';
import { fromBase64, fromLatin1, latin1, toBase64, trimOws } from './bytes.js';

describe('base64', () => {
  it('round-trips arbitrary bytes and matches the platform encoder', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (data) => {
        const text = toBase64(data);
        expect(text).toBe(btoa(String.fromCharCode(...data)));
        expect(fromBase64(text)).toEqual(data);
      }),
      { seed: FC_SEED },
    );
  }, 10_000);

  it('reads URL-safe and unpadded forms, rejects malformed text', () => {
    expect(fromBase64('-_8')).toEqual(Uint8Array.from([0xfb, 0xff]));
    expect(fromBase64('aGk')).toEqual(Uint8Array.from([0x68, 0x69]));
    expect(fromBase64('a')).toBeUndefined();
    expect(fromBase64('a b=')).toBeUndefined();
    expect(fromBase64('aGk===')).toBeUndefined();
  });
});

describe('latin1', () => {
  it('round-trips one byte per char', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 10000 }), (data) => {
        expect(latin1(fromLatin1(data, 0, data.length))).toEqual(data);
      }),
      { seed: FC_SEED },
    );
  }, 10_000);

  it('trimOws strips spaces and tabs only', () => {
    expect(trimOws(' \t a b \t')).toBe('a b');
    expect(trimOws('\u00a0x\u00a0')).toBe('\u00a0x\u00a0');
  });
});
