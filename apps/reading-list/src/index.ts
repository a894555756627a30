export type {
  Article,
  ArticleStoreOptions,
  FieldProblem,
  Preconditions,
  WriteResult,
} from './ArticleStore.js';
export { ArticleStore, etagOf, validateArticle } from './ArticleStore.js';
export { parseArticleId } from './article.js';
export type { SqliteRecordStore, SqliteRecordStoreOptions } from './createSqliteRecordStore.js';
export { createSqliteRecordStore, recordsDatabasePath } from './createSqliteRecordStore.js';
export { databasePath, IN_MEMORY } from './database.js';
export type { ExampleBatch } from './exampleBatches.js';
export {
  curlCommand,
  EXAMPLE_BATCHES,
  JSON_EXAMPLE_BATCH,
  MULTIPART_EXAMPLE_BATCH,
  shellQuote,
} from './exampleBatches.js';
export { openApiDocument } from './openApi.js';
export { RATE_LIMIT_WINDOW_MS, rateLimitFromEnv, TOO_MANY_REQUESTS } from './rateLimit.js';
export type {
  EnvRecordStore,
  RecordStoreFromEnvOptions,
  RedisClientLike,
  RedisModules,
} from './recordStoreFromEnv.js';
export { recordStoreFromEnv } from './recordStoreFromEnv.js';
export type { StartServer } from './serveReadingList.js';
export { serveReadingList } from './serveReadingList.js';
export type { MountedBatch } from './service.js';
export {
  ownerOf,
  PROBLEM_TYPE,
  problem,
  serviceInfo,
  startBanner,
  UNAUTHORIZED,
} from './service.js';
export {
  closeStore,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  shutdownTimeoutMs,
  stopOnSignals,
} from './shutdown.js';
export type {
  LoadInstrumentations,
  OtlpHttpProtocol,
  StartTracingOptions,
} from './startTracing.js';
export { startTracing, tracingProtocol } from './startTracing.js';
