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

for (const RESP of [3, 2] as const) {
  describe(`the Redis store (a RESP${RESP} client)`, () => {
    let server: RedisServer;
    let client: { readonly isOpen: boolean; close(): Promise<unknown> } | undefined;
    let store: RecordStore;

    beforeAll(async () => {
      server = await startRedisServer();
      const connected = createClient({ url: server.url, RESP });
      await connected.connect();
      client = connected;
      store = createRedisRecordStore(connected, {
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
}
