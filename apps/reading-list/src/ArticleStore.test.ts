import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ArticleStore, etagOf } from './ArticleStore.js';
import { databasePath } from './database.js';
import { ownerOf, startBanner } from './service.js';

const dir = mkdtempSync(join(tmpdir(), 'reading-list-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
/** A fresh database file in a folder that does not exist yet. */
const freshFile = () => join(dir, `case-${++files}`, 'articles.db');

const opened: ArticleStore[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
});
const open = (database: string) => {
  const store = new ArticleStore({ database });
  opened.push(store);
  return store;
};

for (const where of ['in memory', 'in a file'] as const) {
  const fresh = () => open(where === 'in memory' ? ':memory:' : freshFile());

  describe(`ArticleStore ${where}`, () => {
    it('counts ids up from 1 for each owner, and each owner sees only their own', async () => {
      const store = fresh();
      const a = await store.create('alice', { title: 'MoFo', url: 'http://mozilla.org' });
      const b = await store.create('bob', { title: 'MoCo', url: 'http://mozilla.com' });
      expect(a.ok && a.article).toEqual({
        id: 1,
        title: 'MoFo',
        url: 'http://mozilla.org',
        read_position: 0,
        last_modified: expect.any(Number),
      });
      expect(b.ok && b.article.id).toBe(1);
      expect((await store.list('alice')).map((article) => article.id)).toEqual([1]);
      expect(await store.get('bob', 1)).toMatchObject({ title: 'MoCo' });
      expect(await store.get('alice', 1)).toEqual(a.ok && a.article);
    });

    it('keeps ids safe integers: a PUT at the largest id moves only its owner, whose next POST is refused', async () => {
      const store = fresh();
      const max = Number.MAX_SAFE_INTEGER;
      const put = await store.replace('mallory', max, { title: 'Last', url: 'http://x.example' });
      expect(put).toMatchObject({ ok: true, created: true, article: { id: max } });
      // Nobody else's count moved: alice's and bob's ids are 1, and each is found again.
      for (const owner of ['alice', 'bob']) {
        const created = await store.create(owner, { title: owner, url: 'http://a.example' });
        expect(created.ok && created.article.id).toBe(1);
        expect(await store.get(owner, 1)).toMatchObject({ title: owner });
      }
      // mallory has no safe id left: refused, nothing replaced.
      expect(
        await store.create('mallory', { title: 'Next', url: 'http://y.example' }),
      ).toMatchObject({ ok: false, status: 507 });
      expect(await store.list('mallory')).toMatchObject([{ id: max, title: 'Last' }]);
    });

    it('validates bodies: required fields, types, unknown members', async () => {
      const store = fresh();
      const result = await store.create('alice', { title: '', read_position: -1, extra: true });
      expect(result).toMatchObject({ ok: false, status: 400 });
      expect(!result.ok && result.errors?.map((error) => error.pointer).sort()).toEqual([
        '/extra',
        '/read_position',
        '/title',
        '/url',
      ]);
      expect(await store.create('alice', null)).toMatchObject({ ok: false, status: 400 });
      expect(await store.list('alice')).toEqual([]);
    });

    it('patches, replaces and removes with If-Match / If-None-Match preconditions', async () => {
      const store = fresh();
      const created = await store.create('alice', { title: 'MoFo', url: 'http://mozilla.org' });
      if (!created.ok) throw new Error('not created');
      const tag = etagOf(created.article);
      expect(
        await store.patch('alice', 1, { read_position: 10 }, { ifMatch: '"0"' }),
      ).toMatchObject({ ok: false, status: 412 });
      const patched = await store.patch('alice', 1, { read_position: 10 }, { ifMatch: tag });
      expect(patched).toMatchObject({ ok: true, article: { id: 1, read_position: 10 } });
      expect(patched.ok && patched.article.last_modified).toBeGreaterThan(
        created.article.last_modified,
      );
      expect(
        await store.replace('alice', 1, { title: 'x', url: 'y' }, { ifNoneMatch: '*' }),
      ).toMatchObject({ ok: false, status: 412 });
      expect(await store.replace('alice', 1, { title: 'x', url: 'y' })).toMatchObject({
        ok: true,
        created: false,
        article: { title: 'x', read_position: 0 },
      });
      expect(await store.patch('alice', 9, { read_position: 1 })).toMatchObject({
        ok: false,
        status: 404,
      });
      expect(await store.remove('alice', 1)).toMatchObject({ ok: true, article: { id: 1 } });
      expect(await store.remove('alice', 1)).toMatchObject({ ok: false, status: 404 });
    });

    it('never reuses an id: PUT of a higher id moves the count on, a delete does not move it back', async () => {
      const store = fresh();
      await store.create('alice', { title: 'One', url: 'http://1.example' });
      expect(
        await store.replace('bob', 5, { title: 'Five', url: 'http://5.example' }),
      ).toMatchObject({ ok: true, created: true, article: { id: 5 } });
      // bob's 5 and alice's 5 are two articles: ids are per owner when a client picks them
      expect(
        await store.replace('alice', 5, { title: 'Five', url: 'http://5.example' }),
      ).toMatchObject({ ok: true, created: true });
      await store.remove('alice', 5);
      await store.remove('bob', 5);
      const next = await store.create('alice', { title: 'Six', url: 'http://6.example' });
      expect(next.ok && next.article.id).toBe(6);
    });

    it('gives strictly increasing versions, so an ETag never repeats', async () => {
      const store = fresh();
      const stamps: number[] = [];
      await store.create('alice', { title: 'MoFo', url: 'http://mozilla.org' });
      for (let i = 0; i < 20; i++) {
        const result = await store.patch('alice', 1, { read_position: i });
        if (result.ok) stamps.push(result.article.last_modified);
      }
      expect(stamps).toHaveLength(20);
      for (let i = 1; i < stamps.length; i++) expect(stamps[i]).toBeGreaterThan(stamps[i - 1]!);
    });

    it('refuses every call once closed', async () => {
      const store = new ArticleStore({
        database: where === 'in memory' ? ':memory:' : freshFile(),
      });
      await store.close();
      await store.close(); // twice is fine
      await expect(store.list('alice')).rejects.toThrow('closed');
      await expect(store.create('alice', { title: 't', url: 'u' })).rejects.toThrow('closed');
      await expect(store.transaction(async () => {})).rejects.toThrow('closed');
    });
  });
}

describe('ArticleStore in a file', () => {
  it('keeps what was committed across a restart: articles, the id count, the versions', async () => {
    const database = freshFile();
    const first = new ArticleStore({ database });
    await first.create('alice', { title: 'MoFo', url: 'http://mozilla.org' });
    const moco = await first.create('alice', { title: 'MoCo', url: 'http://mozilla.com' });
    await first.remove('alice', 2);
    const patched = await first.patch('alice', 1, { read_position: 3477 });
    await first.close();

    const again = open(database);
    expect(await again.list('alice')).toEqual([patched.ok && patched.article]);
    const next = await again.create('alice', { title: 'Three', url: 'http://3.example' });
    expect(next.ok && next.article.id).toBe(3);
    expect(next.ok && next.article.last_modified).toBeGreaterThan(
      moco.ok ? moco.article.last_modified : Infinity,
    );
  });

  it('is whole in its one file once closed (the WAL checkpointed into it)', async () => {
    const database = freshFile();
    const store = new ArticleStore({ database });
    await store.create('alice', { title: 'MoFo', url: 'http://mozilla.org' });
    await store.close();
    expect(statSync(`${database}-wal`).size).toBe(0);
    const copy = join(dirname(database), 'copy.db');
    copyFileSync(database, copy);
    expect(await open(copy).list('alice')).toMatchObject([{ id: 1, title: 'MoFo' }]);
  });

  it('is created with its folder; the default one ignores itself in git', () => {
    const appDir = join(dir, 'app');
    const file = databasePath(appDir, undefined);
    expect(file).toBe(join(appDir, 'data', 'reading-list.db'));
    expect(readFileSync(join(appDir, 'data', '.gitignore'), 'utf8')).toMatch(/^\*$/m);
    expect(databasePath(appDir, '/somewhere/else.db')).toBe('/somewhere/else.db');
    expect(databasePath(appDir, ':memory:')).toBe(':memory:');
    expect(databasePath(appDir, '  ')).toBe(file);
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

  it('prints three curl commands for the URL it is given, the last a minimal import', () => {
    const banner = startBanner('Express', 'http://localhost:3000');
    expect(banner).toContain('listening on http://localhost:3000');
    expect(banner.match(/curl -s http:\/\/localhost:3000\/batch/g)).toHaveLength(3);
    expect(banner).toContain("-H 'Prefer: return=minimal'");
  });
});
