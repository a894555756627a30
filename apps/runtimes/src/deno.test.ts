import { runtimeSuite } from './test/runtimeSuite.js';
import { startDeno } from './test/startRuntime.js';

// Deno.serve (the `deno` npm package's binary). Deno's Request keeps its state under
// symbol-keyed properties, which the lazy sub-request forwards: its self-test passes there.
runtimeSuite('Deno (Deno.serve)', startDeno, {
  runtime: 'deno',
  lazyRequests: true,
  workers: false,
});
