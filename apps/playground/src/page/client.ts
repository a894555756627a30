// `/playground/client.js`: @batch/client for the browser, to import from the console:
//   const { createBatchFetch } = await import('/playground/client.js');
export { BatchFetchError, createBatchFetch } from '@batch/client';
