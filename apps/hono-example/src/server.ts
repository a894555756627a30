import { createServer, type RequestListener, type Server, type ServerOptions } from 'node:http';
import { withPlayground } from '@batch/playground';
import { type RedisModules, rateLimitFromEnv, serveReadingList } from '@batch/reading-list';
import { serve } from '@hono/node-server';
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
  'Hono',
  new URL('..', import.meta.url),
  (store, port, ready, idempotency) => {
    const { app, idle } = createApp({
      store,
      batch: { idempotency },
      rateLimit: rateLimitFromEnv(),
    });
    // A node:http server (serve() types it as any of the node servers it can create), its
    // listener behind the playground (its page, and the simulated round trip of its requests).
    const server = serve(
      {
        fetch: app.fetch,
        port,
        createServer: ((options: ServerOptions, listener: RequestListener) =>
          createServer(options, withPlayground(listener))) as typeof createServer,
      },
      (info) => ready(info.port),
    ) as Server;
    return { server, idle };
  },
  loadRedis,
);
