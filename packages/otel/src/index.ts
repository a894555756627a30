export type { AroundItem, BatchTracingOptions } from './batchTracing.js';
export { batchTracing } from './batchTracing.js';
