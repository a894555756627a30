import { createServer, type RequestListener, type Server, type ServerOptions } from 'node:http';
import { batchTracing } from '@batch/otel';
import { withPlayground } from '@batch/playground';
import {
  type RedisModules,
  rateLimitFromEnv,
  serveReadingList,
  startTracing,
} from '@batch/reading-list';

// Tracing first (only when OTEL_EXPORTER_OTLP_ENDPOINT is set), then the app. Hono's own
// middleware (@hono/otel) makes the server spans and continues the caller's traceparent
// itself, so the HTTP instrumentation traces outgoing requests only.
const stopTracing = await startTracing('reading-list-hono', async () => [], process.env, {
  incomingRequests: false,
});
const tracing =
  stopTracing === undefined ? undefined : (await import('./honoTracing.js')).honoTracing();
const [{ createApp }, { serve }] = await Promise.all([
  import('./app.js'),
  import('@hono/node-server'),
]);

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
      batch: { idempotency, aroundItem: batchTracing() },
      rateLimit: rateLimitFromEnv(),
      tracing,
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
  stopTracing,
);
