import { describe, expect, it } from 'vitest';
import { parseIdempotencyKey } from './idempotencyKey.js';

describe('parseIdempotencyKey (SPEC §8 "The key")', () => {
  it.each([
    ['"8e03978e-40d5-43e8-bc93-6894a57f9324"', '8e03978e-40d5-43e8-bc93-6894a57f9324'],
    ['8e03978e-40d5-43e8-bc93-6894a57f9324', '8e03978e-40d5-43e8-bc93-6894a57f9324'],
    ['"a b \\" \\\\ c"', 'a b " \\ c'],
    ['  key_1  ', 'key_1'],
    [`"${'k'.repeat(255)}"`, 'k'.repeat(255)],
  ])('reads %s', (value, key) => {
    expect(parseIdempotencyKey([value])).toEqual({ key });
  });

  it.each([
    '""',
    `"${'k'.repeat(256)}"`,
    'k'.repeat(256),
    '"unclosed',
    '"bad \\n escape"',
    'two words',
    'é',
    '"tab\there"',
  ])('refuses %s', (value) => {
    expect(parseIdempotencyKey([value])).toEqual({ problem: expect.any(String) });
  });

  it('is absent without the header, and refused when given twice', () => {
    expect(parseIdempotencyKey([])).toBeUndefined();
    expect(parseIdempotencyKey(['a', 'b'])).toEqual({ problem: expect.stringContaining('once') });
  });
});
