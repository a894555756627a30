import { fileURLToPath } from 'node:url';
import { tracingTest } from '@batch/test-suite';

tracingTest({
  framework: 'Nest',
  appDir: fileURLToPath(new URL('..', import.meta.url)),
  batchSpan: 'POST /batch',
  // Express's middleware and handler spans under each item, Nest's controller and handler
  // spans under Express's.
  nestedScopes: [
    '@opentelemetry/instrumentation-express',
    '@opentelemetry/instrumentation-nestjs-core',
  ],
  batch: {
    headers: { 'x-user': 'alice' },
    requests: [
      { method: 'GET', path: '/items/1' },
      { method: 'POST', path: '/items', body: { title: 'MoFo' } },
      { method: 'GET', path: '/items/2' },
    ],
    statuses: [200, 201, 200],
    spans: ['GET /items/:id', 'POST /items', 'GET /items/:id'],
  },
});
