import { fileURLToPath } from 'node:url';
import { tracingTest } from '@batch/test-suite';

tracingTest({
  framework: 'Express',
  appDir: fileURLToPath(new URL('..', import.meta.url)),
  batchSpan: 'POST /batch',
  nestedScopes: ['@opentelemetry/instrumentation-express'],
});
