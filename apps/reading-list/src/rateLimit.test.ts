import { describe, expect, it } from 'vitest';
import { rateLimitFromEnv } from './rateLimit.js';

describe('rateLimitFromEnv', () => {
  it('reads RATE_LIMIT as requests per minute; unset or empty is no limit', () => {
    expect(rateLimitFromEnv({ RATE_LIMIT: '20' })).toBe(20);
    expect(rateLimitFromEnv({ RATE_LIMIT: ' 5 ' })).toBe(5);
    expect(rateLimitFromEnv({})).toBeUndefined();
    expect(rateLimitFromEnv({ RATE_LIMIT: '' })).toBeUndefined();
  });

  it('refuses anything but a positive integer', () => {
    for (const value of ['0', '-1', '1.5', '20/min', 'abc', '1e3', '99999999999999999999'])
      expect(() => rateLimitFromEnv({ RATE_LIMIT: value }), value).toThrow(/RATE_LIMIT/);
  });
});
