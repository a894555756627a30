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

// Tracing first (only when OTEL_EXPORTER_OTLP_ENDPOINT is set), then the app: the
// instrumentations patch express as it loads.
const stopTracing = await startTracing('reading-list-express', async () => {
  const { ExpressInstrumentation } = await import('@opentelemetry/instrumentation-express');
  return [new ExpressInstrumentation()];
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
  'Express',
  new URL('..', import.meta.url),
  (store, port, ready, idempotency) => {
    // The app behind the playground (its page, and the simulated round trip of its requests).
    const { app, idle } = createApp({
      store,
      batch: { idempotency, aroundItem: batchTracing() },
      rateLimit: rateLimitFromEnv(),
    });
    const server = createServer(withPlayground(app)).listen(port, () => {
      ready((server.address() as AddressInfo).port);
    });
    return { server, idle };
  },
  loadRedis,
  stopTracing,
);
