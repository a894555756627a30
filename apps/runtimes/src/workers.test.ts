import { runtimeSuite } from './test/runtimeSuite.js';
import { startWorkerd } from './test/startRuntime.js';

// A module Worker in workerd (the `workerd` npm package's binary, run by Miniflare), with a
// binding: env and the execution context reach every sub-request. workerd's Request is a
// native object: every item is a real Request.
runtimeSuite('Cloudflare Workers (workerd, Miniflare)', startWorkerd, {
  runtime: 'workerd',
  lazyRequests: false,
  workers: true,
});
