import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ArticleStore } from './ArticleStore.js';
import { AsyncLock } from './AsyncLock.js';

// The transaction hook (`BatchOptions.transaction`) as the store provides it, and what the
// rest of the traffic sees while a transaction is open (SPEC §4 "Atomicity groups").

const dir = mkdtempSync(join(tmpdir(), 'reading-list-tx-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const opened: ArticleStore[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((store) => store.close()));
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const article = (title: string) => ({ title, url: `http://${title.toLowerCase()}.example` });
const titles = async (store: ArticleStore, owner = 'alice') =>
  (await store.list(owner)).map((item) => item.title);

/** A promise and its resolve, to hold a transaction open until the test says. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

describe('AsyncLock', () => {
  it('runs tasks one at a time, first come first served, a failure breaking nothing', async () => {
    const lock = new AsyncLock();
    const order: string[] = [];
    const task = (name: string, ms: number, fail = false) =>
      lock.run(async () => {
        order.push(`${name} in`);
        await pause(ms);
        order.push(`${name} out`);
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([task('a', 20), task('b', 1, true), task('c', 1)]);
    expect(order).toEqual(['a in', 'a out', 'b in', 'b out', 'c in', 'c out']);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(lock.queued).toBe(0);
  });
});

for (const where of ['in a file', 'in memory'] as const) {
  const fresh = () => {
    const database = where === 'in memory' ? ':memory:' : join(dir, `tx-${++files}.db`);
    const store = new ArticleStore({ database });
    opened.push(store);
    return store;
  };

  describe(`ArticleStore.transaction ${where}`, () => {
    it('commits when run resolves: its calls see their own writes, and answer what run answers', async () => {
      const store = fresh();
      const result = await store.transaction(async () => {
        expect(store.inTransaction).toBe(true);
        await store.create('alice', article('MoFo'));
        await pause(5);
        expect(await titles(store)).toEqual(['MoFo']);
        await store.patch('alice', 1, { read_position: 7 });
        return 'done';
      });
      expect(result).toBe('done');
      expect(store.inTransaction).toBe(false);
      expect(await store.get('alice', 1)).toMatchObject({ title: 'MoFo', read_position: 7 });
    });

    it('rolls back when run rejects, and passes the rejection on', async () => {
      const store = fresh();
      await store.create('alice', article('Kept'));
      const failure = new Error('item 2 failed');
      await expect(
        store.transaction(async () => {
          await store.create('alice', article('MoFo'));
          await store.patch('alice', 1, { read_position: 99 });
          await store.remove('alice', 1);
          throw failure;
        }),
      ).rejects.toBe(failure);
      expect(await store.list('alice')).toMatchObject([{ id: 1, title: 'Kept', read_position: 0 }]);
      // the rolled-back create's id is free again: nothing ever saw it committed
      const next = await store.create('alice', article('Next'));
      expect(next.ok && next.article.id).toBe(2);
    });

    it('lets writes from outside wait until a failing transaction is over: all of them land, none of its', async () => {
      const store = fresh();
      await store.create('bob', article('Existing'));
      const hold = gate();
      const events: string[] = [];
      const transaction = store.transaction(async () => {
        await store.create('alice', article('Grouped'));
        await store.patch('bob', 1, { read_position: 1 }); // rolled back with the group
        events.push('group wrote');
        await hold.opened;
        events.push('group failed');
        throw new Error('the last item of the group failed');
      });
      transaction.catch(() => {});
      while (events.length === 0) await pause(1);

      // Direct traffic while the transaction is open, each call on its own.
      const direct = [
        store.create('alice', article('Direct1')),
        store.patch('bob', 1, { read_position: 42 }),
        store.create('bob', article('Direct2')),
        store.replace('carol', 7, article('Direct3')),
      ].map(async (write) => {
        const result = await write;
        events.push('direct write');
        return result;
      });
      const read = store.list('alice').then((list) => {
        events.push('direct read');
        return list;
      });
      await pause(30);
      expect(events).not.toContain('direct write'); // they wait for the transaction
      hold.open();
      await expect(transaction).rejects.toThrow('the last item of the group failed');
      const results = await Promise.all(direct);
      expect(results.every((result) => result.ok)).toBe(true);
      expect(events.slice(0, 2)).toEqual([
        'group wrote',
        ...(where === 'in a file' ? ['direct read'] : ['group failed']),
      ]);
      // Never the group's uncommitted article: from a file, the last committed state at once;
      // in memory, what was committed when its turn came.
      expect((await read).map((item) => item.title)).toEqual(
        where === 'in a file' ? [] : ['Direct1'],
      );

      expect(await titles(store, 'alice')).toEqual(['Direct1']);
      expect(await titles(store, 'bob')).toEqual(['Existing', 'Direct2']);
      expect(await store.get('bob', 1)).toMatchObject({ read_position: 42 });
      expect(await titles(store, 'carol')).toEqual(['Direct3']);
    });

    it('runs transactions one at a time, the second seeing what the first committed', async () => {
      const store = fresh();
      const order: string[] = [];
      const first = store.transaction(async () => {
        order.push('first in');
        await store.create('alice', article('One'));
        await pause(20);
        order.push('first out');
      });
      const second = store.transaction(async () => {
        order.push('second in');
        expect(await titles(store)).toEqual(['One']);
        await store.create('alice', article('Two'));
        order.push('second out');
      });
      await Promise.all([first, second]);
      expect(order).toEqual(['first in', 'first out', 'second in', 'second out']);
      expect(await titles(store)).toEqual(['One', 'Two']);
    });

    it('refuses a call made from a transaction that is over (a sub-request that outlived its group)', async () => {
      const store = fresh();
      let late: Promise<unknown> | undefined;
      await expect(
        store.transaction(async () => {
          // still running in the transaction's context when it is over
          late = pause(10).then(() => store.create('alice', article('Late')));
          throw new Error('timed out');
        }),
      ).rejects.toThrow('timed out');
      await expect(late).rejects.toThrow('the transaction this request ran in is over');
      expect(await store.list('alice')).toEqual([]);
    });

    it('runs a nested transaction in a savepoint: its rollback keeps the outer writes', async () => {
      const store = fresh();
      await store.transaction(async () => {
        await store.create('alice', article('Outer'));
        await expect(
          store.transaction(async () => {
            await store.create('alice', article('Inner'));
            throw new Error('inner failed');
          }),
        ).rejects.toThrow('inner failed');
        await store.transaction(async () => {
          await store.create('alice', article('Inner2'));
        });
      });
      expect(await titles(store)).toEqual(['Outer', 'Inner2']);
    });

    it('closes only once the open transaction is over', async () => {
      const store = fresh();
      const hold = gate();
      const transaction = store.transaction(async () => {
        await store.create('alice', article('Committed'));
        await hold.opened;
      });
      await pause(1);
      let closed = false;
      const closing = store.close().then(() => {
        closed = true;
      });
      await pause(20);
      expect(closed).toBe(false);
      hold.open();
      await transaction;
      await closing;
      await expect(store.list('alice')).rejects.toThrow('closed');
    });
  });
}

describe('ArticleStore.transaction in a file', () => {
  it('commits to the file: a second store on it sees the committed writes only', async () => {
    const database = join(dir, `tx-${++files}.db`);
    const store = new ArticleStore({ database });
    opened.push(store);
    await store.transaction(async () => {
      await store.create('alice', article('Committed'));
    });
    await store
      .transaction(async () => {
        await store.create('alice', article('RolledBack'));
        throw new Error('no');
      })
      .catch(() => {});
    await store.close();
    const again = new ArticleStore({ database });
    opened.push(again);
    expect(await titles(again)).toEqual(['Committed']);
  });
});
