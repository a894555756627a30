import type { RecordStore } from '@batch/core';
import { createSqliteRecordStore, recordsDatabasePath } from './createSqliteRecordStore.js';

/**
 * What `recordStoreFromEnv` needs of a node-redis client (`createClient()` of `redis` 6): to
 * connect and close it, and what `@batch/redis` needs (its `RedisRecordClient`).
 */
export interface RedisClientLike {
  readonly isReady: boolean;
  sendCommand<T = unknown>(
    args: ReadonlyArray<string | Buffer>,
    options?: { typeMapping?: Record<number, unknown>; timeout?: number },
  ): Promise<T>;
  connect(): Promise<unknown>;
  on(event: 'error', listener: (error: Error) => void): unknown;
  close(): Promise<unknown>;
}

/**
 * The two functions that make the Redis store, passed in by the app (`redis`'s `createClient`
 * and `@batch/redis`'s `createRedisRecordStore`): this package cannot depend on `@batch/redis`
 * (whose tests depend on it, through `@batch/test-suite`), and an app without `REDIS_URL`
 * loads neither.
 */
export interface RedisModules {
  createClient(options: { url: string }): RedisClientLike;
  createRedisRecordStore(client: RedisClientLike): RecordStore;
}

/** Options of `recordStoreFromEnv`. */
export interface RecordStoreFromEnvOptions {
  /** The articles' database (a file, or `':memory:'`): the records go beside it (`recordsDatabasePath`). */
  database: string;
  /**
   * The Redis server shared by every process of the app; empty or unset: SQLite.
   * @default process.env.REDIS_URL
   */
  redisUrl?: string | undefined;
  /** How to reach Redis; required when `redisUrl` is set (see `RedisModules`). */
  redis?: RedisModules | undefined;
  /**
   * Where the Redis client's connection errors are told (once each, while they repeat).
   * @default console.error
   */
  log?: (line: string) => void;
}

/** The record store an example app runs with, and how to let it go. */
export interface EnvRecordStore {
  store: RecordStore;
  kind: 'redis' | 'sqlite';
  /** Where the records live, for the banner: the file, or the Redis URL without its password. */
  location: string;
  /** Closes the SQLite connection, or the Redis client. */
  close(): Promise<void>;
}

/**
 * The example apps' recorded-batch store: `@batch/redis` over a node-redis client connected
 * to `REDIS_URL` when it is set — every process pointed at one Redis shares records and
 * monitors — else the SQLite store in a file beside the articles' (it survives a restart,
 * and processes on one file share it too).
 *
 * ```ts
 * import { createRedisRecordStore } from '@batch/redis';
 * import { createClient } from 'redis';
 * const records = await recordStoreFromEnv({ database, redis: { createClient, createRedisRecordStore } });
 * ```
 */
export async function recordStoreFromEnv(
  options: RecordStoreFromEnvOptions,
): Promise<EnvRecordStore> {
  const url = 'redisUrl' in options ? options.redisUrl : process.env.REDIS_URL;
  if (url === undefined || url.trim() === '') {
    const database = recordsDatabasePath(options.database);
    const store = createSqliteRecordStore(database);
    return { store, kind: 'sqlite', location: database, close: async () => store.close() };
  }
  if (options.redis === undefined)
    throw new Error('REDIS_URL is set: pass `redis: { createClient, createRedisRecordStore }`');
  const log = options.log ?? console.error;
  const location = withoutPassword(url);
  const client = options.redis.createClient({ url });
  // Without a listener, a connection error would end the process; the store answers `503`.
  let last: string | undefined;
  client.on('error', (error) => {
    if (error.message !== last) log(`redis (${location}): ${error.message}`);
    last = error.message;
  });
  await client.connect();
  return {
    store: options.redis.createRedisRecordStore(client),
    kind: 'redis',
    location,
    close: async () => {
      await client.close();
    },
  };
}

function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.href;
  } catch {
    return 'redis';
  }
}
