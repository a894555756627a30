import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedisServer } from './redisServer.js';
import { waitForOutput } from './waitForOutput.js';

/** One running process of an example app (`node dist/server.js`). */
interface AppProcess {
  url: string;
  child: ChildProcess;
  exited: Promise<void>;
}

interface Answer {
  status: number;
  headers: Headers;
  body: { responses?: Array<{ status: number; body?: unknown }> } & Record<string, unknown>;
}

const AUTH = { Authorization: 'Bearer alice' };

/**
 * SPEC §8 as users meet it, with real processes: two processes of the example app on one
 * SQLite file and one Redis (`REDIS_URL`) act as one API — a resend to the other is `409`
 * while the first runs it, then replayed; a process killed (`kill -9`) mid-batch leaves a
 * record the other takes over once the lease lapsed, running only what never started and
 * never running a write twice; and with Redis gone a keyed batch is `503` within seconds
 * while unkeyed ones are served. Writes are slowed (`WRITE_DELAY_MS`) so that a batch can be
 * caught while it runs.
 */
export function sharedRecordsTest(framework: string, appDir: string): void {
  describe(`${framework}: batch records shared through Redis (two processes, one database)`, () => {
    let redis: RedisServer;
    let dir: string;
    const processes: AppProcess[] = [];

    const startApp = async (extra: Record<string, string> = {}): Promise<AppProcess> => {
      const child = spawn(process.execPath, ['dist/server.js'], {
        cwd: appDir,
        env: {
          ...process.env,
          PORT: '0',
          DATABASE: join(dir, 'reading-list.db'),
          REDIS_URL: redis.url,
          WRITE_DELAY_MS: '250',
          BATCH_LEASE_MS: '1500',
          ...extra,
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
      const banner = new RegExp(`\\(${framework}\\) listening on (http://localhost:\\d+)`);
      const url = await waitForOutput(child, (output) => banner.exec(output)?.[1]);
      const app = { url, child, exited };
      processes.push(app);
      return app;
    };
    const stopApp = async (app: AppProcess, signal: NodeJS.Signals = 'SIGTERM') => {
      if (app.child.exitCode === null && app.child.signalCode === null) app.child.kill(signal);
      await app.exited;
    };

    beforeAll(async () => {
      redis = await startRedisServer();
      dir = await mkdtemp(join(tmpdir(), 'batch-shared-'));
    }, 30_000);
    afterAll(async () => {
      await Promise.all(processes.map((app) => stopApp(app, 'SIGKILL')));
      await redis?.stop();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    }, 30_000);

    const post = async (app: AppProcess, document: unknown, headers: Record<string, string>) => {
      const response = await fetch(`${app.url}/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...AUTH, ...headers },
        body: JSON.stringify(document),
      });
      return {
        status: response.status,
        headers: response.headers,
        body: (await response.json()) as Answer['body'],
      };
    };
    const titles = async (app: AppProcess): Promise<string[]> => {
      const response = await fetch(`${app.url}/articles`, { headers: AUTH });
      return ((await response.json()) as { data: Array<{ title: string }> }).data.map(
        (article) => article.title,
      );
    };
    const writes = (tag: string, count: number) => ({
      defaults: { method: 'POST', path: '/articles' },
      requests: Array.from({ length: count }, (_, i) => ({
        body: { title: `${tag} ${i}`, url: `http://example.org/${tag}/${i}` },
      })),
    });
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const waitUntil = async (done: () => Promise<boolean>) => {
      for (let i = 0; i < 200; i++) {
        if (await done()) return;
        await pause(50);
      }
      throw new Error('timed out waiting');
    };

    it('answers a resend on the other process 409 while the first runs it, then replays it there', async () => {
      const [a, b] = [await startApp(), await startApp()];
      const tag = `b-${Date.now()}`;
      const batch = writes(tag, 4);
      const first = post(a!, batch, { 'Idempotency-Key': tag });
      await waitUntil(async () => (await titles(b!)).some((title) => title.startsWith(tag)));
      const running = await post(b!, batch, { 'Idempotency-Key': tag });
      expect(running.status).toBe(409);
      expect(Number(running.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      const answered = await first;
      expect(answered.status).toBe(200);
      const replayed = await post(b!, batch, { 'Idempotency-Key': tag });
      expect(replayed.status).toBe(200);
      expect(replayed.headers.get('idempotent-replayed')).toBe('true');
      expect(replayed.body.responses).toEqual(answered.body.responses);
      const written = (await titles(a!)).filter((title) => title.startsWith(tag));
      expect(written.sort()).toEqual([0, 1, 2, 3].map((i) => `${tag} ${i}`));
    }, 60_000);

    it('takes over a batch whose process was killed: what finished is replayed, what never started runs, no write runs twice', async () => {
      const [a, b] = [await startApp(), await startApp()];
      const tag = `c-${Date.now()}`;
      const batch = writes(tag, 8);
      const lost = post(a!, batch, { 'Idempotency-Key': tag }).catch(() => undefined);
      await waitUntil(async () => (await titles(b!)).filter((t) => t.startsWith(tag)).length >= 2);
      await stopApp(a!, 'SIGKILL');
      await lost;
      // Until the lease lapses (1.5 s) the batch still counts as running.
      let resent = await post(b!, batch, { 'Idempotency-Key': tag });
      for (let i = 0; resent.status === 409 && i < 40; i++) {
        await pause(250);
        resent = await post(b!, batch, { 'Idempotency-Key': tag });
      }
      expect(resent.status).toBe(200);
      const statuses = resent.body.responses!.map((response) => response.status);
      // Every item is answered: created, or (at most the one in flight at the kill) unknown.
      expect(statuses.filter((status) => status === 500).length).toBeLessThanOrEqual(1);
      expect(statuses.every((status) => status === 201 || status === 500)).toBe(true);
      const written = (await titles(b!)).filter((title) => title.startsWith(tag));
      // No write ran twice; every created answer is in the database.
      expect(new Set(written).size).toBe(written.length);
      expect(written.length).toBeGreaterThanOrEqual(statuses.filter((s) => s === 201).length);
      expect(written.length).toBeLessThanOrEqual(8);
      // And the record is finished now: replayed as it is.
      const again = await post(b!, batch, { 'Idempotency-Key': tag });
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.body.responses).toEqual(resent.body.responses);
    }, 60_000);

    it('an asynchronous batch whose process was killed: the monitor on the other reports what finished, a resend with its key takes it over', async () => {
      const [a, b] = [await startApp(), await startApp()];
      const tag = `e-${Date.now()}`;
      const batch = writes(tag, 8);
      const accepted = await post(a!, batch, { 'Idempotency-Key': tag, Prefer: 'respond-async' });
      expect(accepted.status).toBe(202);
      const monitor = accepted.headers.get('location')!;
      expect(monitor).toMatch(/\/batch\/jobs\/[0-9a-f]{32}$/);
      await waitUntil(async () => (await titles(b!)).filter((t) => t.startsWith(tag)).length >= 2);
      await stopApp(a!, 'SIGKILL');
      // On the other process, once the lease lapsed: what finished, and a problem for the rest.
      let status: { status: number; body: Answer['body'] } = { status: 202, body: {} };
      for (let i = 0; status.status === 202 && i < 60; i++) {
        await pause(250);
        const response = await fetch(`${b!.url}${monitor}`, { headers: AUTH });
        status = { status: response.status, body: (await response.json()) as Answer['body'] };
      }
      expect(status.status).toBe(200);
      const crashed = status.body.responses!.map((response) => response.status);
      expect(crashed).toHaveLength(8);
      expect(crashed.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1);
      expect(crashed.some((s) => s >= 500)).toBe(true);
      // The resend with the same key takes it over on B, under the same monitor.
      const resent = await post(b!, batch, { 'Idempotency-Key': tag, Prefer: 'respond-async' });
      expect(resent.status).toBe(202);
      expect(resent.headers.get('location')).toBe(monitor);
      let final = status;
      for (let i = 0; i < 80; i++) {
        await pause(250);
        const response = await fetch(`${b!.url}${monitor}`, { headers: AUTH });
        final = { status: response.status, body: (await response.json()) as Answer['body'] };
        const statuses = final.body.responses?.map((r) => r.status) ?? [];
        if (final.status === 200 && !statuses.some((s) => s === 503)) break;
      }
      const statuses = final.body.responses!.map((response) => response.status);
      expect(statuses.filter((s) => s !== 201 && s !== 500)).toEqual([]);
      expect(statuses.filter((s) => s === 500).length).toBeLessThanOrEqual(1);
      const written = (await titles(b!)).filter((title) => title.startsWith(tag));
      expect(new Set(written).size).toBe(written.length);
      expect(written.length).toBeGreaterThanOrEqual(statuses.filter((s) => s === 201).length);
    }, 90_000);

    it('answers a keyed batch 503 with Retry-After within seconds when Redis is gone; unkeyed batches are served', async () => {
      const app = await startApp({ WRITE_DELAY_MS: '0' });
      const tag = `g-${Date.now()}`;
      await redis.stop();
      const started = Date.now();
      const keyed = await post(app, writes(tag, 1), { 'Idempotency-Key': tag });
      expect(keyed.status).toBe(503);
      expect(Number(keyed.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Date.now() - started).toBeLessThan(10_000);
      const unkeyed = await post(app, writes(`${tag}-u`, 1), {});
      expect(unkeyed.status).toBe(200);
      expect(await titles(app)).toContain(`${tag}-u 0`);
      expect(await titles(app)).not.toContain(`${tag} 0`);
    }, 60_000);
  });
}
