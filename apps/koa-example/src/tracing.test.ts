import { fileURLToPath } from 'node:url';
import { tracingTest } from '@batch/test-suite';

tracingTest({
  framework: 'Koa',
  appDir: fileURLToPath(new URL('..', import.meta.url)),
  // Koa names no route for app middleware: the batch span is `POST` (its items are named).
  batchSpan: 'POST',
  nestedScopes: ['@opentelemetry/instrumentation-koa'],
});
