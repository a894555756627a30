import { fileURLToPath } from 'node:url';
import { tracingTest } from '@batch/test-suite';

tracingTest({
  framework: 'Hono',
  appDir: fileURLToPath(new URL('..', import.meta.url)),
  // @hono/otel makes the server spans, named by the route Hono matched (the batch route's
  // mount, `/batch/*`, which serves the monitors too), and keeps that route on its own span:
  // the item spans are named by method.
  batchSpan: 'POST /batch/*',
  batchScope: '@hono/otel',
  nestedScopes: ['@hono/otel'],
  itemSpans: ['GET', 'POST', 'GET'],
});
