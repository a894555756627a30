export type { BatchErrorCode, BatchErrorDetail, BatchProblem } from './BatchError.js';
export { BatchError, PROBLEM_CONTENT_TYPE } from './BatchError.js';
export type { MediaType } from './contentType.js';
export {
  acceptsJsonLines,
  formatOfContentType,
  isJsonLinesMediaType,
  JSON_LINES_CONTENT_TYPE,
  parseMediaType,
} from './contentType.js';
export type {
  BatchFetchInit,
  BatchHandler,
  BatchHandlerOptions,
  BatchInput,
  BatchOutput,
  BatchRequestInfo,
  DispatchContext,
  Dispatcher,
} from './createBatchHandler.js';
export { createBatchHandler } from './createBatchHandler.js';
export type { BatchRequestInput } from './decodeBatchRequest.js';
export { decodeBatchRequest, requireFormat } from './decodeBatchRequest.js';
export type { BatchResponseInput } from './decodeBatchResponse.js';
export { decodeBatchResponse, decodeJsonLines } from './decodeBatchResponse.js';
export type {
  EncodeBatchRequestOptions,
  EncodedBatchRequest,
  SubRequestInit,
} from './encodeBatchRequest.js';
export { encodeBatchRequest } from './encodeBatchRequest.js';
export type { EncodeBatchResponseOptions, EncodedBatchResponse } from './encodeBatchResponse.js';
export { encodeBatchResponse } from './encodeBatchResponse.js';
export { canonicalHeaderName, isToken } from './headerNames.js';
export type { InheritHeadersPolicy } from './headerPolicy.js';
export { applyHeaderPolicy, compileInheritPolicy, isNeverInherited } from './headerPolicy.js';
export type { RequestPartContext } from './httpMessage.js';
export { changeSetGroup, parseRequestPart, parseResponsePart } from './httpMessage.js';
export { isJsonText } from './isJsonText.js';
export { isODataBatch } from './isODataBatch.js';
export {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_PART_HEADER_BYTES,
  DEFAULT_MAX_REQUESTS,
  resolveLimits,
} from './limits.js';
export type { MultipartPart, MultipartScannerOptions } from './MultipartScanner.js';
export { MultipartScanner } from './MultipartScanner.js';
export { mergeDefaults } from './mergeDefaults.js';
export { createBoundary, multipartBoundary } from './multipartBoundary.js';
export type { BatchItemInfo, BatchOptions } from './options.js';
export type { JsonBatchContext } from './parseJsonBatch.js';
export { parseJsonBatch } from './parseJsonBatch.js';
export type { Reference } from './parseReference.js';
export { parseReference, referenceName } from './parseReference.js';
export type { PartLocation } from './partError.js';
export { partError, partLabel, partLocations } from './partError.js';
export type { SettledBody } from './readAhead.js';
export { settleBody } from './readAhead.js';
export type { BodyInput } from './readBody.js';
export { reasonPhrase } from './reasonPhrases.js';
export {
  checkAnswers,
  checkClaim,
  checkDuration,
  checkIndexes,
  checkRecordKey,
} from './records/checkRecordArguments.js';
export type { MemoryRecordStoreOptions } from './records/createMemoryRecordStore.js';
export {
  createMemoryRecordStore,
  DEFAULT_MEMORY_STORE_MAX_BYTES,
  DEFAULT_MEMORY_STORE_MAX_ENTRIES,
} from './records/createMemoryRecordStore.js';
export type {
  BatchRecord,
  ClaimOptions,
  ClaimResult,
  LeaseStatus,
  RecordedAnswer,
  RecordState,
  RecordStore,
} from './records/RecordStore.js';
export { RecordTooLarge } from './records/RecordTooLarge.js';
export { StoreUnavailable } from './records/StoreUnavailable.js';
export { baseOfBatchPath, resolveTarget } from './resolveTarget.js';
export type {
  BatchFormat,
  BatchLimits,
  DecodedBatch,
  DecodedSubResponse,
  HeaderList,
  ResolvedBatchLimits,
  SubRequest,
  SubResponse,
  SubResponseBody,
} from './types.js';
export type { UnreadBody } from './unreadBody.js';
