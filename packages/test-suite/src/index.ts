export { conformanceSuite } from './conformanceSuite.js';
export type { ConformanceTarget, RunningApp } from './testApp.js';
