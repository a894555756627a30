import type { Server } from 'node:http';
import type { IdempotencyOptions } from '@batch/core';
import { ArticleStore } from './ArticleStore.js';
import { databasePath } from './database.js';
import { type RedisModules, recordStoreFromEnv } from './recordStoreFromEnv.js';
import { startBanner } from './service.js';
import { closeStore, shutdownTimeoutMs, stopOnSignals } from './shutdown.js';

/**
 * How an example app starts its server: on `port` (0 for any), with `store`, calling
 * `ready(port)` once it listens; `idempotency` is how its batch route records keyed and
 * asynchronous batches (`BatchOptions.idempotency`: the store, the lease). It answers the
 * server, and `idle` when its batch route has one: a graceful stop waits for the
 * asynchronous batches still running (SPEC §9), within its grace period.
 */
export type StartServer = (
  store: ArticleStore,
  port: number,
  ready: (port: number) => void,
  idempotency: IdempotencyOptions,
) => Server | { server: Server; idle: () => Promise<void> };

/** Loads the Redis client and store, only when `REDIS_URL` is set (an app without it loads neither). */
export type LoadRedis = () => Promise<RedisModules>;

/**
 * The main program of an example app (`pnpm start`): opens the SQLite store (`DATABASE`, or
 * `data/reading-list.db` in `appDir`) and the batch records (Redis at `REDIS_URL` when it is
 * set, so that several processes of the app act as one API; else SQLite beside the
 * articles), starts the server on `PORT` (default 3000), prints the banner with its URL and
 * the curl batches, and on SIGTERM or Ctrl+C stops accepting, lets running batches finish
 * (up to `SHUTDOWN_TIMEOUT_MS`, default 10 s, then aborts them), closes both stores, sends
 * the spans still buffered (`stopTracing`, what `startTracing` resolved with) and exits 0.
 */
export async function serveReadingList(
  framework: string,
  appDir: URL,
  start: StartServer,
  loadRedis?: LoadRedis,
  stopTracing?: () => Promise<void>,
): Promise<Server> {
  const timeoutMs = shutdownTimeoutMs();
  const database = databasePath(appDir);
  const store = new ArticleStore({ database, writeDelayMs: envMs('WRITE_DELAY_MS') ?? 0 });
  const redisUrl = process.env.REDIS_URL;
  const records = await recordStoreFromEnv({
    database,
    redisUrl,
    redis: redisUrl && loadRedis !== undefined ? await loadRedis() : undefined,
  });
  const started = start(
    store,
    Number(process.env.PORT ?? 3000),
    (port) => {
      console.log(startBanner(framework, `http://localhost:${port}`, database, records.location));
    },
    { store: records.store, leaseMs: envMs('BATCH_LEASE_MS') ?? 30_000 },
  );
  const { server, idle } = 'server' in started ? started : { server: started, idle: undefined };
  stopOnSignals(server, {
    timeoutMs,
    close: async () => {
      // Asynchronous batches run on after their requests were answered: wait for them too.
      if (idle !== undefined) {
        const grace = new Promise((resolve) => setTimeout(resolve, timeoutMs).unref());
        await Promise.race([idle(), grace]);
      }
      await closeStore(store);
      await records.close();
      await stopTracing?.();
    },
  });
  return server;
}

/** A duration in milliseconds from the environment (`undefined` when unset). */
function envMs(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') return undefined;
  const ms = Number(value);
  if (!Number.isSafeInteger(ms) || ms < 0)
    throw new Error(`${name} must be milliseconds, got ${value}`);
  return ms === 0 ? undefined : ms;
}
