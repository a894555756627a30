export type { RedisRecordClient, RedisRecordStoreOptions } from './createRedisRecordStore.js';
export {
  createRedisRecordStore,
  DEFAULT_REDIS_COMMAND_TIMEOUT_MS,
  DEFAULT_REDIS_PREFIX,
} from './createRedisRecordStore.js';
