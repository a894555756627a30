import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FC_SEED } from '../testing.js';
import {
  baseOfBatchPath,
  comparablePath,
  mayBeSamePath,
  pathOfTarget,
  resolveTarget,
} from './resolveTarget.js';

describe('baseOfBatchPath', () => {
  it.each([
    ['/v1/batch', '/v1'],
    ['/batch', '/'],
    ['/odata/$batch', '/odata'],
    ['/v1.0/$batch', '/v1.0'],
    ['/a/b/batch', '/a/b'],
    ['/v1/batch/', '/v1'],
    ['/batch/', '/'],
    ['/v1/batch?x=1', '/v1'],
    ['/batch?next=/a/b/c', '/'],
    ['/', '/'],
  ])('%s has base %s', (batchPath, base) => {
    expect(baseOfBatchPath(batchPath)).toBe(base);
  });
});

describe('resolveTarget', () => {
  it.each([
    // batch at /v1/batch (Kinto): absolute paths get the base unless they already have it
    ['/articles', '/v1', '/v1/articles'],
    ['/articles?sort=-id', '/v1', '/v1/articles?sort=-id'],
    ['/v1/articles', '/v1', '/v1/articles'],
    ['/v1/articles?x=1', '/v1', '/v1/articles?x=1'],
    ['/v1', '/v1', '/v1'],
    ['/v1/', '/v1', '/v1/'],
    ['/v1?x=1', '/v1', '/v1?x=1'],
    // segment-wise: /v10 and /v1x are not under /v1
    ['/v10/x', '/v1', '/v1/v10/x'],
    ['/v1x', '/v1', '/v1/v1x'],
    // a query that mentions the base does not count
    ['/articles?next=/v1/x', '/v1', '/v1/articles?next=/v1/x'],
    // relative (OData)
    ['People?$top=2', '/v1', '/v1/People?$top=2'],
    ['People', '/odata', '/odata/People'],
    ['/odata/People', '/odata', '/odata/People'],
    ['/People', '/odata', '/odata/People'],
    // Microsoft Graph
    ['/users/42', '/v1.0', '/v1.0/users/42'],
    ['/v1.0/me', '/v1.0', '/v1.0/me'],
    // batch at /batch: nothing is prefixed, relative targets are rooted
    ['/articles', '/', '/articles'],
    ['/v1/articles', '/', '/v1/articles'],
    ['People?$top=2', '/', '/People?$top=2'],
    // a deeper base
    ['/x', '/api/v2', '/api/v2/x'],
    ['/api/v2/x', '/api/v2', '/api/v2/x'],
    ['/api/x', '/api/v2', '/api/v2/api/x'],
  ])('%s against base %s is %s', (target, base, expected) => {
    expect(resolveTarget(target, base)).toBe(expected);
  });

  const segment = fc.string({
    unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-._$'.split('')),
    minLength: 1,
    maxLength: 8,
  });
  const base = fc.oneof(
    fc.constant('/'),
    fc.array(segment, { minLength: 1, maxLength: 3 }).map((parts) => `/${parts.join('/')}`),
  );
  const target = fc.tuple(
    fc.boolean(),
    fc.array(segment, { maxLength: 4 }),
    fc.option(segment, { nil: undefined }),
  );

  it('property: the result is rooted under the base, resolving twice changes nothing', () => {
    fc.assert(
      fc.property(base, target, (base, [absolute, parts, query]) => {
        const path = parts.join('/');
        const raw = `${absolute ? '/' : ''}${path}${query === undefined ? '' : `?${query}`}`;
        if (raw === '' || raw.startsWith('?')) return;
        const resolved = resolveTarget(raw, base);
        expect(resolved.startsWith('/')).toBe(true);
        if (base !== '/') {
          const resolvedPath = pathOfTarget(resolved);
          expect(resolvedPath === base || resolvedPath.startsWith(`${base}/`)).toBe(true);
        }
        expect(resolveTarget(resolved, base)).toBe(resolved);
        // the query string is never touched
        if (query !== undefined) expect(resolved.endsWith(`?${query}`)).toBe(true);
      }),
      { numRuns: 300, seed: FC_SEED },
    );
  }, 10_000);
});

describe('pathOfTarget', () => {
  it.each([
    ['/a/b?c=1', '/a/b'],
    ['/a', '/a'],
    ['/a?', '/a'],
    ['/a?b?c', '/a'],
  ])('%s → %s', (target, path) => {
    expect(pathOfTarget(target)).toBe(path);
  });
});

describe('comparablePath (the nesting guard)', () => {
  it.each([
    '/batch',
    '/batch/',
    '/BATCH',
    '/Batch',
    '/./batch',
    '//batch',
    '/batch//',
    '/batch?x=1',
    '/x/../batch',
    '/%62atch',
    '/%62ATCH',
    '/batch#x',
    '/x\\..\\batch',
    '\\batch',
    '/x/%2e%2e/batch',
    '/x/%2E./batch',
    '/%2e/batch',
    '/b%41tch',
  ])('%s compares equal to /batch', (spelling) => {
    expect(comparablePath(spelling)).toBe(comparablePath('/batch'));
  });

  it.each(['/batches', '/batch2', '/b/atch', '/v1/batch', '/'])('%s is not /batch', (path) => {
    expect(comparablePath(path)).not.toBe(comparablePath('/batch'));
  });

  it('keeps reserved percent-escapes: /a%2Fbatch is not /a/batch', () => {
    expect(comparablePath('/a%2Fbatch')).not.toBe(comparablePath('/a/batch'));
  });

  it('mayBeSamePath never rules out a spelling of the route (property)', () => {
    const segment = fc.constantFrom(
      'batch',
      'BATCH',
      'Batch',
      'v1',
      '.',
      '..',
      '',
      'x',
      '%62atch',
      'odata',
      '$batch',
      'b%61tch',
      '%2e%2e',
      'x\\..',
      'batch#x',
    );
    fc.assert(
      fc.property(
        fc.array(segment, { maxLength: 5 }),
        fc.constantFrom('/batch', '/v1/batch', '/odata/$batch', '/'),
        (segments, routePath) => {
          const path = `/${segments.join('/')}`;
          const route = comparablePath(routePath);
          if (!mayBeSamePath(path, route)) expect(comparablePath(path)).not.toBe(route);
        },
      ),
      { numRuns: 2000, seed: FC_SEED },
    );
    expect(mayBeSamePath('/articles/1', '/batch')).toBe(false);
    expect(mayBeSamePath('/v1/BATCH/', '/v1/batch')).toBe(true);
  }, 30_000);
});
