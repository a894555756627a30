export { DEFAULT_MAX_ASYNC_REQUESTS, onBatchRoute } from './asyncBatches.js';
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
export type { Reference } from './engine/parseReference.js';
export { parseReference, referenceName } from './engine/parseReference.js';
export {
  checkAnswers,
  checkClaim,
  checkDuration,
  checkIndexes,
  checkRecordKey,
} from './engine/records/checkRecordArguments.js';
export type { MemoryRecordStoreOptions } from './engine/records/createMemoryRecordStore.js';
export {
  createMemoryRecordStore,
  DEFAULT_MEMORY_STORE_MAX_BYTES,
  DEFAULT_MEMORY_STORE_MAX_ENTRIES,
} from './engine/records/createMemoryRecordStore.js';
export type {
  BatchRecord,
  ClaimOptions,
  ClaimResult,
  LeaseStatus,
  RecordedAnswer,
  RecordState,
  RecordStore,
} from './engine/records/RecordStore.js';
export { RecordTooLarge } from './engine/records/RecordTooLarge.js';
export { StoreUnavailable } from './engine/records/StoreUnavailable.js';
export type { AbortSource } from './http/clientAbort.js';
export { ClientAbort } from './http/clientAbort.js';
export type { MediaType } from './http/contentType.js';
export {
  acceptsJsonLines,
  formatOfContentType,
  isJsonLinesMediaType,
  JSON_LINES_CONTENT_TYPE,
  parseMediaType,
} from './http/contentType.js';
export { canonicalHeaderName, isToken } from './http/headerNames.js';
export type { InheritHeadersPolicy } from './http/headerPolicy.js';
export { applyHeaderPolicy, compileInheritPolicy, isNeverInherited } from './http/headerPolicy.js';
export type { BatchPreferences, Preference } from './http/preferences.js';
export { inheritablePrefer, parsePrefer, readBatchPreferences } from './http/preferences.js';
export type { SettledBody } from './http/readAhead.js';
export { settleBody } from './http/readAhead.js';
export type { BodyInput } from './http/readBody.js';
export { reasonPhrase } from './http/reasonPhrases.js';
export { baseOfBatchPath, resolveTarget } from './http/resolveTarget.js';
export type { UnreadBody } from './http/unreadBody.js';
export { encodeParsedJsonBatch } from './json/encodeParsedJsonBatch.js';
export { isJsonText } from './json/isJsonText.js';
export { mergeDefaults } from './json/mergeDefaults.js';
export type { JsonBatchContext } from './json/parseJsonBatch.js';
export { parseJsonBatch } from './json/parseJsonBatch.js';
export type { BatchErrorCode, BatchErrorDetail, BatchProblem } from './model/BatchError.js';
export { BatchError, PROBLEM_CONTENT_TYPE } from './model/BatchError.js';
export {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MAX_PART_HEADER_BYTES,
  DEFAULT_MAX_REQUESTS,
  resolveLimits,
} from './model/limits.js';
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
} from './model/types.js';
export type { RequestPartContext } from './multipart/httpMessage.js';
export { changeSetGroup, parseRequestPart, parseResponsePart } from './multipart/httpMessage.js';
export { isODataBatch } from './multipart/isODataBatch.js';
export type { MultipartPart, MultipartScannerOptions } from './multipart/MultipartScanner.js';
export { MultipartScanner } from './multipart/MultipartScanner.js';
export { createBoundary, multipartBoundary } from './multipart/multipartBoundary.js';
export type { PartLocation } from './multipart/partError.js';
export { partError, partLabel, partLocations } from './multipart/partError.js';
export type { BatchPathItemOptions, OpenApiObject } from './openapi/batchPathItem.js';
export {
  batchMonitorPath,
  batchMonitorPathItem,
  batchPathItem,
  batchPaths,
} from './openapi/batchPathItem.js';
export type { JsonSchema } from './openapi/schemas.js';
export {
  batchJobStatusSchema,
  batchProblemSchema,
  JSON_SCHEMA_DIALECT,
  jsonBatchRequestSchema,
  jsonBatchResponseSchema,
  jsonLinesLineSchema,
} from './openapi/schemas.js';
export type {
  AroundItemInfo,
  BatchItemInfo,
  BatchOptions,
  IdempotencyOptions,
} from './options.js';
export type { BatchRequestInput } from './wire/decodeBatchRequest.js';
export { decodeBatchRequest, requireFormat } from './wire/decodeBatchRequest.js';
export type { BatchResponseInput } from './wire/decodeBatchResponse.js';
export { decodeBatchResponse, decodeJsonLines } from './wire/decodeBatchResponse.js';
export type {
  EncodeBatchRequestOptions,
  EncodedBatchRequest,
  SubRequestInit,
} from './wire/encodeBatchRequest.js';
export { encodeBatchRequest } from './wire/encodeBatchRequest.js';
export type {
  EncodeBatchResponseOptions,
  EncodedBatchResponse,
} from './wire/encodeBatchResponse.js';
export { encodeBatchResponse } from './wire/encodeBatchResponse.js';
