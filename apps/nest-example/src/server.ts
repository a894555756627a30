import { batchTracing } from '@batch/otel';
import { startTracing } from '@batch/reading-list/startTracing';

// Tracing first (only when OTEL_EXPORTER_OTLP_ENDPOINT is set), then the app: the
// instrumentations patch express and @nestjs/core as they load.
const stopTracing = await startTracing('nest-example', async () => {
  const [{ ExpressInstrumentation }, { NestInstrumentation }] = await Promise.all([
    import('@opentelemetry/instrumentation-express'),
    import('@opentelemetry/instrumentation-nestjs-core'),
  ]);
  return [new ExpressInstrumentation(), new NestInstrumentation()];
});
const { startOnExpress } = await import('./createNestApp.js');

const app = await startOnExpress({
  port: Number(process.env.PORT ?? 3000),
  batch: { aroundItem: batchTracing() },
});
console.log(`nest-example (Nest) listening on ${app.url}`);
console.log(
  `curl -s ${app.url}/batch -H 'content-type: application/json' -H 'x-user: alice' \\
  -d '{"requests":[{"path":"/items/1"},{"method":"POST","path":"/items","body":{"title":"MoFo"}}]}'`,
);

// SIGTERM or Ctrl+C: stop the app, then send the spans still buffered.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, async () => {
    await app.close();
    await stopTracing?.();
  });
}
