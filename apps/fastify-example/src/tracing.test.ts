import { fileURLToPath } from 'node:url';
import { tracingTest } from '@batch/test-suite';

tracingTest({
  framework: 'Fastify',
  appDir: fileURLToPath(new URL('..', import.meta.url)),
  batchSpan: 'POST /batch',
  nestedScopes: ['@fastify/otel'],
});
