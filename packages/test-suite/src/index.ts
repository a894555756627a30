export { type AtomicityTarget, atomicityScenarios } from './atomicityScenarios.js';
export { conformanceSuite } from './conformanceSuite.js';
export {
  type Answer,
  attempt,
  type Client,
  type FetchDispatchOptions,
  fetchDispatchCases,
  nameOf,
  PROBES,
  type ProbeCases,
  probeClient,
  RAW_PROBE_ROUTES,
  settle,
  stable,
  underNodeServer,
  type Waited,
  waitForAbort,
} from './fetchProbes.js';
export { postThenGoAway } from './goAway.js';
export type { Listening } from './listen.js';
export { listen } from './listen.js';
export { openApiTest } from './openApiTest.js';
export { rateLimitTest, type StartRateLimited } from './rateLimitTest.js';
export type { ReadingListApp, ReadingListTarget } from './readingListScenarios.js';
export { readingListScenarios } from './readingListScenarios.js';
export type { RecordStoreTarget } from './recordStoreContract.js';
export { recordStoreContract } from './recordStoreContract.js';
export type { RedisServer } from './redisServer.js';
export { startRedisServer } from './redisServer.js';
export { type StartMounted, serviceInfoTest } from './serviceInfoTest.js';
export { sharedRecordsTest } from './sharedRecordsTest.js';
export { shutdownTest } from './shutdownTest.js';
export { startupTest } from './startupTest.js';
export type { ConformanceTarget, RunningApp } from './testApp.js';
export type { TracingTarget } from './tracingTest.js';
export { tracingTest } from './tracingTest.js';
export { waitForOutput } from './waitForOutput.js';
