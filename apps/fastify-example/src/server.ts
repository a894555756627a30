import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { batchTracing } from '@batch/otel';
import { withPlayground } from '@batch/playground';
import {
  type RedisModules,
  rateLimitFromEnv,
  serveReadingList,
  startTracing,
} from '@batch/reading-list';

// Tracing first (only when OTEL_EXPORTER_OTLP_ENDPOINT is set), then the app: @fastify/otel
// registers itself on every Fastify instance created after it.
const stopTracing = await startTracing('reading-list-fastify', async () => {
  const { FastifyOtelInstrumentation } = await import('@fastify/otel');
  return [new FastifyOtelInstrumentation({ registerOnInitialization: true })];
});
const { createApp } = await import('./app.js');

/** Redis for the batch records, loaded only when REDIS_URL is set. */
const loadRedis = async () => {
  const [{ createClient }, { createRedisRecordStore }] = await Promise.all([
    import('redis'),
    import('@batch/redis'),
  ]);
  return { createClient, createRedisRecordStore } as unknown as RedisModules;
};

serveReadingList(
  'Fastify',
  new URL('..', import.meta.url),
  (store, port, ready, idempotency) => {
    // The app behind the playground (its page, and the simulated round trip of its requests).
    const { app } = createApp({
      store,
      batch: { idempotency, aroundItem: batchTracing() },
      rateLimit: rateLimitFromEnv(),
      serverFactory: (handler) => createServer(withPlayground(handler)),
    });
    app.ready().then(
      () => {
        app.server.listen(port, () => ready((app.server.address() as AddressInfo).port));
      },
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
    return app.server;
  },
  loadRedis,
  stopTracing,
);
