import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { withPlayground } from '@batch/playground';
import { type RedisModules, rateLimitFromEnv, serveReadingList } from '@batch/reading-list';
import { createApp } from './app.js';

/** Redis for the batch records, loaded only when REDIS_URL is set. */
const loadRedis = async () => {
  const [{ createClient }, { createRedisRecordStore }] = await Promise.all([
    import('redis'),
    import('@batch/redis'),
  ]);
  return { createClient, createRedisRecordStore } as unknown as RedisModules;
};

serveReadingList(
  'Koa',
  new URL('..', import.meta.url),
  (store, port, ready, idempotency) => {
    // The app behind the playground (its page, and the simulated round trip of its requests).
    const { app, idle } = createApp({
      store,
      batch: { idempotency },
      rateLimit: rateLimitFromEnv(),
    });
    const server = createServer(withPlayground(app.callback())).listen(port, () => {
      ready((server.address() as AddressInfo).port);
    });
    return { server, idle };
  },
  loadRedis,
);
