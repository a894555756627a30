import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArticleStore } from '@batch/reading-list';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Listening } from './listen.js';

/** What the atomicity scenarios need from an example app's test. */
export interface AtomicityTarget {
  /**
   * Starts the app on 127.0.0.1, port 0, on `store` and with its own batch options (the
   * app's transaction hook: `transaction: (run) => store.transaction(run)`).
   */
  start(store: ArticleStore): Promise<Listening>;
  /**
   * The app's folder and framework name (as its banner prints it): the scenarios then also
   * restart its real server (`node dist/server.js`, `DATABASE` set) and find the articles.
   */
  server?: { appDir: string; framework: string };
}

/** `node dist/server.js` in `appDir` on `database`; resolves with its URL once it listens. */
async function startServer(appDir: string, framework: string, database: string) {
  const child = spawn(process.execPath, ['dist/server.js'], {
    cwd: appDir,
    env: { ...process.env, PORT: '0', DATABASE: database },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const banner = new RegExp(`\\(${framework}\\) listening on (http://localhost:\\d+)`);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      const match = banner.exec(output);
      if (match && output.includes('Ctrl+C')) resolve(match[1]!);
    });
    void exited.then((code) => reject(new Error(`exited with ${code}:\n${output}`)));
  });
  /** SIGTERM: the server closes its store and exits; resolves with the exit code. */
  const stop = () => {
    child.kill('SIGTERM');
    return exited;
  };
  return { url, output: () => output, stop };
}

/** A JSON batch response item, as the wire has it. */
interface Item {
  status: number;
  path: string;
  atomicityGroup?: string;
  headers: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: answers are read field by field in assertions
  body: any;
}

const article = (title: string) => ({ title, url: `http://${title.toLowerCase()}.example` });

/**
 * A store whose `PATCH` of article 999 inside a transaction waits until the test opens the
 * gate: it holds a group's transaction open, at a known point, for as long as the test
 * needs. It counts the calls made from outside any transaction, so that the test knows
 * when its direct requests have reached the store (and wait there).
 */
class GatedStore extends ArticleStore {
  #release: () => void = () => {};
  readonly #released = new Promise<void>((resolve) => {
    this.#release = resolve;
  });
  #reach: () => void = () => {};
  /** Resolves when the group's transaction waits at the gate. */
  readonly reached = new Promise<void>((resolve) => {
    this.#reach = resolve;
  });
  /** Calls of `create`, `patch` and `replace` from outside a transaction. */
  outsideWrites = 0;

  open(): void {
    this.#release();
  }

  override async create(...args: Parameters<ArticleStore['create']>) {
    if (!this.inTransaction) this.outsideWrites++;
    return super.create(...args);
  }

  override async replace(...args: Parameters<ArticleStore['replace']>) {
    if (!this.inTransaction) this.outsideWrites++;
    return super.replace(...args);
  }

  override async patch(...args: Parameters<ArticleStore['patch']>) {
    if (!this.inTransaction) this.outsideWrites++;
    else if (args[1] === 999) {
      this.#reach();
      await this.#released;
    }
    return super.patch(...args);
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `promise`, or a rejection with `message` after `ms`. */
async function within<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Registers the atomicity-group scenarios (SPEC §4 "Atomicity groups") for one example app,
 * over real HTTP, on a fresh SQLite file each: a JSON batch whose group fails leaves nothing
 * in the database, one that succeeds commits all of it, what a restart finds is what was
 * committed, and requests that arrive while a group's transaction is open are neither lost,
 * nor rolled back with it, nor shown its uncommitted writes.
 */
export function atomicityScenarios(name: string, target: AtomicityTarget): void {
  describe(`${name}: atomicity groups on SQLite`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'batch-atomicity-'));
    let files = 0;
    const running: { api: Listening; store: ArticleStore }[] = [];
    const start = async (store: ArticleStore) => {
      const api = await target.start(store);
      running.push({ api, store });
      return api;
    };
    /** Stops the app, then closes its store (as the shutdown does). */
    const stop = async () => {
      for (const { api, store } of running.splice(0)) {
        await api.close();
        await store.close();
      }
    };
    afterEach(stop);
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const freshFile = () => join(dir, `app-${++files}.db`);

    const call = (api: Listening, path: string, method = 'GET', body?: unknown) =>
      fetch(api.url + path, {
        method,
        headers: {
          authorization: 'Bearer alice',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const jsonBatch = async (api: Listening, requests: unknown[]): Promise<Item[]> => {
      const response = await call(api, '/batch', 'POST', { requests });
      expect(response.status).toBe(200);
      return ((await response.json()) as { responses: Item[] }).responses;
    };
    const list = async (api: Listening) => {
      const response = await call(api, '/articles');
      expect(response.status).toBe(200);
      return ((await response.json()) as { data: { id: number; title: string }[] }).data;
    };
    const titles = async (api: Listening) => (await list(api)).map((item) => item.title);

    /** A group that fails at its third item (article 999 does not exist). */
    const failingGroup = [
      { method: 'POST', path: '/articles', body: article('Grouped'), atomicityGroup: 'g' },
      { method: 'PATCH', path: '/articles/1', body: { read_position: 1 }, atomicityGroup: 'g' },
      { method: 'PATCH', path: '/articles/999', body: { read_position: 1 }, atomicityGroup: 'g' },
      { method: 'POST', path: '/articles', body: article('NotRun'), atomicityGroup: 'g' },
    ];

    it('a group that fails leaves nothing in the database: 424 rolled back before the failure, 424 not run after', async () => {
      const api = await start(new ArticleStore({ database: freshFile() }));
      expect((await call(api, '/articles', 'POST', article('Existing'))).status).toBe(201);
      const responses = await jsonBatch(api, [...failingGroup, { path: '/articles' }]);
      expect(responses.map((item) => item.status)).toEqual([424, 424, 404, 424, 200]);
      expect(responses.slice(0, 4).map((item) => item.atomicityGroup)).toEqual([
        'g',
        'g',
        'g',
        'g',
      ]);
      expect(responses[0]!.body.detail).toMatch(/^rolled back: request 2 /);
      expect(responses[1]!.body.detail).toMatch(/^rolled back: request 2 /);
      expect(responses[3]!.body.detail).toMatch(/^not run: request 2 /);
      // The item after the group ran after the rollback: it sees none of the group.
      expect(responses[4]!.body.data.map((item: { title: string }) => item.title)).toEqual([
        'Existing',
      ]);
      expect(await list(api)).toMatchObject([{ id: 1, title: 'Existing', read_position: 0 }]);
    });

    it('a group that succeeds commits all of it, an item reaching the one before through $id', async () => {
      const api = await start(new ArticleStore({ database: freshFile() }));
      const responses = await jsonBatch(api, [
        { id: 'a', method: 'POST', path: '/articles', body: article('One'), atomicityGroup: 'g' },
        { method: 'PATCH', path: '$a', body: { read_position: 7 }, atomicityGroup: 'g' },
        { method: 'POST', path: '/articles', body: article('Two'), atomicityGroup: 'g' },
        { path: '/articles' },
      ]);
      expect(responses.map((item) => item.status)).toEqual([201, 200, 201, 200]);
      expect(responses[1]!.path).toBe('/articles/1');
      expect(responses[1]!.body).toMatchObject({ id: 1, title: 'One', read_position: 7 });
      expect(responses[3]!.body.data).toMatchObject([
        { id: 1, read_position: 7 },
        { id: 2, title: 'Two' },
      ]);
      expect(await titles(api)).toEqual(['One', 'Two']);
    });

    it('after a restart (a new app on the same file) the database holds what was committed, and only that', async () => {
      const database = freshFile();
      const first = await start(new ArticleStore({ database }));
      const committed = await jsonBatch(first, [
        { method: 'POST', path: '/articles', body: article('Kept'), atomicityGroup: 'ok' },
        { method: 'PATCH', path: '/articles/1', body: { read_position: 5 }, atomicityGroup: 'ok' },
      ]);
      expect(committed.map((item) => item.status)).toEqual([201, 200]);
      expect((await call(first, '/articles', 'POST', article('Direct'))).status).toBe(201);
      const failed = await jsonBatch(first, failingGroup);
      expect(failed.map((item) => item.status)).toEqual([424, 424, 404, 424]);
      const before = await list(first);
      await stop();

      const again = await start(new ArticleStore({ database }));
      expect(await list(again)).toEqual(before);
      expect(before).toMatchObject([
        { id: 1, title: 'Kept', read_position: 5 },
        { id: 2, title: 'Direct' },
      ]);
      const next = await call(again, '/articles', 'POST', article('AfterRestart'));
      expect(await next.json()).toMatchObject({ id: 3 });
    });

    if (target.server !== undefined) {
      const { appDir, framework } = target.server;
      it('the server (node dist/server.js) keeps its articles in DATABASE across a restart', async () => {
        const database = freshFile();
        const first = await startServer(appDir, framework, database);
        try {
          expect(first.output()).toContain(`Articles are kept in ${database}`);
          const api = { url: first.url, close: async () => {} };
          const responses = await jsonBatch(api, [
            { method: 'POST', path: '/articles', body: article('One'), atomicityGroup: 'g' },
            { method: 'POST', path: '/articles', body: article('Two'), atomicityGroup: 'g' },
            { method: 'PATCH', path: '/articles/1', body: { read_position: 9 } },
          ]);
          expect(responses.map((item) => item.status)).toEqual([201, 201, 200]);
        } finally {
          expect(await first.stop()).toBe(0);
        }
        const second = await startServer(appDir, framework, database);
        try {
          const api = { url: second.url, close: async () => {} };
          expect(await list(api)).toMatchObject([
            { id: 1, title: 'One', read_position: 9 },
            { id: 2, title: 'Two' },
          ]);
        } finally {
          expect(await second.stop()).toBe(0);
        }
      }, 60_000);
    }

    it('requests that arrive while a failing group is open wait or read committed data: none lost, none rolled back, none sees the group', async () => {
      const store = new GatedStore({ database: freshFile() });
      const api = await start(store);
      expect((await call(api, '/articles', 'POST', article('Existing'))).status).toBe(201);
      store.outsideWrites = 0;

      const batch = jsonBatch(api, failingGroup.slice(0, 3));
      // The group created "Grouped", patched article 1, and waits, its transaction open.
      await within(
        store.reached,
        10_000,
        'the group never reached its third item in a transaction',
      );

      // Direct traffic, each request on its own connection, while the transaction is open.
      const writes = [
        call(api, '/articles', 'POST', article('Direct1')),
        call(api, '/articles/1', 'PATCH', { read_position: 42 }),
        call(api, '/articles', 'POST', article('Direct2')),
        call(api, '/articles/50', 'PUT', article('Fifty')),
      ];
      const during = await list(api); // a read answers at once, from committed data
      expect(during).toMatchObject([{ id: 1, title: 'Existing', read_position: 0 }]);
      for (let waited = 0; store.outsideWrites < writes.length && waited < 10_000; waited += 5)
        await pause(5);
      expect(store.outsideWrites).toBe(writes.length); // all in the store, waiting for the lock
      store.open();

      const responses = await batch;
      expect(responses.map((item) => item.status)).toEqual([424, 424, 404]);
      const answers = await Promise.all(writes);
      expect(answers.map((answer) => answer.status)).toEqual([201, 200, 201, 201]);
      const after = await list(api);
      expect(after.map((item) => item.title)).toEqual(['Existing', 'Direct1', 'Direct2', 'Fifty']);
      expect(after[0]).toMatchObject({ id: 1, read_position: 42 });
      expect(after.map((item) => item.id)).toEqual([1, 2, 3, 50]);
    }, 30_000);
  });
}
