import { fileURLToPath } from 'node:url';
import { tracingTest } from '@batch/test-suite';

tracingTest({
  framework: 'Hono',
  appDir: fileURLToPath(new URL('..', import.meta.url)),
  // @hono/otel makes the server spans, named by the route Hono matched: the batch route's
  // mount, `/batch/*`, which serves the monitors too.
  batchSpan: 'POST /batch/*',
  batchScope: '@hono/otel',
  nestedScopes: ['@hono/otel'],
  // The routes as Hono has them (an id is digits: the pattern is part of the route).
  itemSpans: ['GET /articles', 'POST /articles', 'GET /articles/:id{[1-9][0-9]{0,15}}'],
});
