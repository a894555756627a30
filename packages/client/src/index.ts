export type { BatchFetchErrorReason } from './BatchFetchError.js';
export { BatchFetchError } from './BatchFetchError.js';
export type { BatchFetch, BatchFetchOptions, BatchResponses } from './createBatchFetch.js';
export { createBatchFetch } from './createBatchFetch.js';
