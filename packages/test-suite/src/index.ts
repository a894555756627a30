export { type AtomicityTarget, atomicityScenarios } from './atomicityScenarios.js';
export { conformanceSuite } from './conformanceSuite.js';
export type { Listening } from './listen.js';
export { listen } from './listen.js';
export type { ReadingListApp, ReadingListTarget } from './readingListScenarios.js';
export { readingListScenarios } from './readingListScenarios.js';
export { shutdownTest } from './shutdownTest.js';
export { startupTest } from './startupTest.js';
export type { ConformanceTarget, RunningApp } from './testApp.js';
