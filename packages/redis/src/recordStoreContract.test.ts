import { createMemoryRecordStore, type RecordStore } from '@batch/core';
import { type RedisServer, recordStoreContract, startRedisServer } from '@batch/test-suite';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe } from 'vitest';
import { createRedisRecordStore } from './createRedisRecordStore.js';

// The same contract, case for case, against the in-memory store (the default) and the Redis
// store over a real redis-server.

describe('the in-memory store', () => {
  const store = createMemoryRecordStore();
  recordStoreContract({ store: () => store });
});

describe('the Redis store', () => {
  let server: RedisServer;
  let client: ReturnType<typeof createClient>;
  let store: RecordStore;

  beforeAll(async () => {
    server = await startRedisServer();
    client = createClient({ url: server.url });
    await client.connect();
    store = createRedisRecordStore(client, {
      prefix: `contract-${process.pid}-${Date.now()}:`,
      commandTimeoutMs: 5_000,
    });
  });

  afterAll(async () => {
    if (client?.isOpen) await client.close();
    await server?.stop();
  });

  recordStoreContract({ store: () => store });
});
