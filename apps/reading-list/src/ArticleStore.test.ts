import { describe, expect, it } from 'vitest';
import { ArticleStore, etagOf } from './ArticleStore.js';
import { ownerOf, startBanner } from './service.js';

describe('ArticleStore', () => {
  it('counts ids up from 1 across owners, and each owner sees only their own', () => {
    const store = new ArticleStore();
    const a = store.create('alice', { title: 'MoFo', url: 'http://mozilla.org' });
    const b = store.create('bob', { title: 'MoCo', url: 'http://mozilla.com' });
    expect(a.ok && a.article).toMatchObject({ id: 1, title: 'MoFo', read_position: 0 });
    expect(b.ok && b.article.id).toBe(2);
    expect(store.list('alice').map((article) => article.id)).toEqual([1]);
    expect(store.get('bob', 1)).toBeUndefined();
  });

  it('validates bodies: required fields, types, unknown members', () => {
    const store = new ArticleStore();
    const result = store.create('alice', { title: '', read_position: -1, extra: true });
    expect(result).toMatchObject({ ok: false, status: 400 });
    expect(!result.ok && result.errors?.map((error) => error.pointer).sort()).toEqual([
      '/extra',
      '/read_position',
      '/title',
      '/url',
    ]);
    expect(store.create('alice', null)).toMatchObject({ ok: false, status: 400 });
  });

  it('patches, replaces and removes with If-Match / If-None-Match preconditions', () => {
    const store = new ArticleStore();
    const created = store.create('alice', { title: 'MoFo', url: 'http://mozilla.org' });
    if (!created.ok) throw new Error('not created');
    const tag = etagOf(created.article);
    expect(store.patch('alice', 1, { read_position: 10 }, { ifMatch: '"0"' })).toMatchObject({
      ok: false,
      status: 412,
    });
    const patched = store.patch('alice', 1, { read_position: 10 }, { ifMatch: tag });
    expect(patched).toMatchObject({ ok: true, article: { id: 1, read_position: 10 } });
    expect(patched.ok && patched.article.last_modified).toBeGreaterThan(
      created.article.last_modified,
    );
    expect(store.replace('alice', 1, { title: 'x', url: 'y' }, { ifNoneMatch: '*' })).toMatchObject(
      { ok: false, status: 412 },
    );
    expect(store.replace('alice', 1, { title: 'x', url: 'y' })).toMatchObject({
      ok: true,
      created: false,
      article: { title: 'x', read_position: 0 },
    });
    expect(store.patch('alice', 9, { read_position: 1 })).toMatchObject({ ok: false, status: 404 });
    expect(store.remove('alice', 1)).toMatchObject({ ok: true, article: { id: 1 } });
    expect(store.remove('alice', 1)).toMatchObject({ ok: false, status: 404 });
  });
});

describe('service helpers', () => {
  it('reads the owner from a bearer token only', () => {
    expect(ownerOf('Bearer alice')).toBe('alice');
    expect(ownerOf('bearer  bob ')).toBe('bob');
    expect(ownerOf('')).toBeUndefined();
    expect(ownerOf('Basic abc')).toBeUndefined();
    expect(ownerOf(undefined)).toBeUndefined();
  });

  it('prints two curl commands for the URL it is given', () => {
    const banner = startBanner('Express', 'http://localhost:3000');
    expect(banner).toContain('listening on http://localhost:3000');
    expect(banner.match(/curl -s http:\/\/localhost:3000\/batch/g)).toHaveLength(2);
  });
});
