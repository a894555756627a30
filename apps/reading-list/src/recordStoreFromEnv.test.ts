import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMemoryRecordStore } from '@batch/core';
import { describe, expect, it } from 'vitest';
import {
  type RedisClientLike,
  type RedisModules,
  recordStoreFromEnv,
} from './recordStoreFromEnv.js';

function fakeRedis() {
  const calls: string[] = [];
  const listeners: Array<(error: Error) => void> = [];
  const store = createMemoryRecordStore();
  const client: RedisClientLike = {
    isReady: true,
    sendCommand: async () => undefined as never,
    connect: async () => calls.push('connect'),
    on: (_event, listener) => listeners.push(listener),
    close: async () => calls.push('close'),
  };
  const modules: RedisModules = {
    createClient: ({ url }) => {
      calls.push(`createClient ${url}`);
      return client;
    },
    createRedisRecordStore: (given) => {
      calls.push(`store ${given === client}`);
      return store;
    },
  };
  return { calls, listeners, store, modules };
}

describe('recordStoreFromEnv', () => {
  it('uses Redis when REDIS_URL is set: connects, listens for errors, closes the client', async () => {
    const redis = fakeRedis();
    const lines: string[] = [];
    const records = await recordStoreFromEnv({
      database: ':memory:',
      redisUrl: 'redis://user:secret@localhost:6390/2',
      redis: redis.modules,
      log: (line) => lines.push(line),
    });
    expect(records).toMatchObject({ kind: 'redis', location: 'redis://user:***@localhost:6390/2' });
    expect(records.store).toBe(redis.store);
    expect(redis.calls).toEqual([
      'createClient redis://user:secret@localhost:6390/2',
      'connect',
      'store true',
    ]);
    for (const message of ['refused', 'refused', 'reset']) redis.listeners[0]?.(new Error(message));
    expect(lines).toEqual([
      'redis (redis://user:***@localhost:6390/2): refused',
      'redis (redis://user:***@localhost:6390/2): reset',
    ]);
    await records.close();
    expect(redis.calls.at(-1)).toBe('close');
  });

  it('uses SQLite beside the articles when REDIS_URL is unset or empty', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'batch-records-'));
    try {
      const redis = fakeRedis();
      for (const redisUrl of [undefined, ' ']) {
        const records = await recordStoreFromEnv({
          database: join(dir, 'reading-list.db'),
          redisUrl,
          redis: redis.modules,
        });
        expect(records).toMatchObject({
          kind: 'sqlite',
          location: join(dir, 'reading-list.records.db'),
        });
        expect(
          await records.store.claim('k', {
            fingerprint: 'f',
            owner: 'o',
            leaseMs: 60_000,
            retentionMs: 60_000,
            total: 1,
            info: '',
            maxBytes: 10,
          }),
        ).toMatchObject({ outcome: redisUrl === undefined ? 'new' : 'running' }); // the same file
        await records.close();
      }
      expect(redis.calls).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads REDIS_URL by default, and says what is missing when it cannot reach Redis', async () => {
    const saved = process.env.REDIS_URL;
    process.env.REDIS_URL = 'redis://localhost:6390';
    try {
      await expect(recordStoreFromEnv({ database: ':memory:' })).rejects.toThrow(
        /REDIS_URL is set: pass `redis/,
      );
    } finally {
      if (saved === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = saved;
    }
  });
});
