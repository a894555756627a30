export type { BatchFetchErrorReason } from './BatchFetchError.js';
export { BatchFetchError } from './BatchFetchError.js';
export type {
  BatchFetch,
  BatchFetchOptions,
  BatchResponses,
  BatchSendOptions,
} from './createBatchFetch.js';
export { createBatchFetch } from './createBatchFetch.js';
