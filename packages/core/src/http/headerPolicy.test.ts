import { describe, expect, it } from 'vitest';
import type { HeaderList } from '../model/types.js';
import { applyHeaderPolicy, compileInheritPolicy, isNeverInherited } from './headerPolicy.js';

const outer: HeaderList = [
  ['Host', 'api.example.com'],
  ['Authorization', 'Bearer outer'],
  ['Cookie', 'sid=1'],
  ['Accept-Language', 'fr'],
  ['Content-Type', 'multipart/mixed; boundary=b'],
  ['Content-Length', '999'],
  ['Connection', 'keep-alive, X-Private'],
  ['X-Private', 'secret'],
  ['Keep-Alive', 'timeout=5'],
  ['Transfer-Encoding', 'chunked'],
  ['Expect', '100-continue'],
  ['TE', 'trailers'],
  ['Upgrade', 'h2c'],
];

describe('header inheritance', () => {
  it('default: inherits end-to-end headers only, item headers win, Host is always the outer one', () => {
    const own: HeaderList = [
      ['authorization', ''],
      ['Host', 'evil.example'],
      ['Content-Type', 'application/json'],
    ];
    const headers = applyHeaderPolicy(own, outer, compileInheritPolicy());
    expect(headers).toEqual([
      ['authorization', ''],
      ['Content-Type', 'application/json'],
      ['Host', 'api.example.com'],
      ['Cookie', 'sid=1'],
      ['Accept-Language', 'fr'],
    ]);
  });

  it.each([
    ['none', 'none' as const, [['Host', 'api.example.com']]],
    [
      'a list narrows',
      ['cookie', 'Content-Type'],
      [
        ['Host', 'api.example.com'],
        ['Cookie', 'sid=1'],
      ],
    ],
    [
      'a predicate decides, within the safe set',
      (name: string) => name.startsWith('a') || name === 'connection',
      [
        ['Host', 'api.example.com'],
        ['Authorization', 'Bearer outer'],
        ['Accept-Language', 'fr'],
      ],
    ],
  ])('%s', (_name, policy, expected) => {
    expect(applyHeaderPolicy([], outer, compileInheritPolicy(policy))).toEqual(expected);
  });

  it('never inherits hop-by-hop, Host, Content-*, Expect or Transfer-Encoding', () => {
    for (const name of [
      'connection',
      'keep-alive',
      'te',
      'trailer',
      'transfer-encoding',
      'upgrade',
      'host',
      'expect',
      'content-type',
      'content-length',
      'content-encoding',
      'proxy-authorization',
    ]) {
      expect(isNeverInherited(name)).toBe(true);
    }
    for (const name of ['authorization', 'cookie', 'accept-language', 'x-request-id']) {
      expect(isNeverInherited(name)).toBe(false);
    }
  });
});
