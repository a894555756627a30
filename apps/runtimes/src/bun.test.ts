import { runtimeSuite } from './test/runtimeSuite.js';
import { startBun } from './test/startRuntime.js';

// Bun.serve (the `bun` npm package's binary). Bun's Request keeps its state natively: the
// lazy sub-request's self-test fails and every item is a real Request.
runtimeSuite('Bun (Bun.serve)', startBun, { runtime: 'bun', lazyRequests: false, workers: false });
