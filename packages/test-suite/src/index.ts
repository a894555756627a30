export { conformanceSuite } from './conformanceSuite.js';
export type { ReadingListApp, ReadingListTarget } from './readingListScenarios.js';
export { readingListScenarios } from './readingListScenarios.js';
export type { ConformanceTarget, RunningApp } from './testApp.js';
