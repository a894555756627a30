import { type AddressInfo, createServer, type Socket, connect as tcpConnect } from 'node:net';
import { type ClaimOptions, StoreUnavailable } from '@batch/core';
import { type RedisServer, startRedisServer } from '@batch/test-suite';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisRecordStore } from './createRedisRecordStore.js';

// What only the Redis store has: its keys (prefix, hash tags, TTLs), a client that is not
// ready, a server that stops answering or goes away. The shared behaviour is the contract
// suite (recordStoreContract.test.ts).

const claim: ClaimOptions = {
  fingerprint: 'fp',
  owner: 'a',
  leaseMs: 60_000,
  retentionMs: 120_000,
  total: 2,
  info: '',
  maxBytes: 1_000,
};

async function connect(url: string) {
  const client = createClient({ url });
  client.on('error', () => {}); // Connection errors of the tests that stop the server.
  await client.connect();
  return client;
}

type Client = Awaited<ReturnType<typeof connect>>;

async function timeRejection(operation: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const start = performance.now();
  const error = await operation.then(
    () => undefined,
    (error: unknown) => error,
  );
  return { error, ms: performance.now() - start };
}

describe('createRedisRecordStore', () => {
  let server: RedisServer;
  let client: Client;

  beforeAll(async () => {
    server = await startRedisServer();
    client = await connect(server.url);
  });

  afterAll(async () => {
    if (client?.isOpen) client.destroy();
    await server?.stop();
  });

  it('keeps every key under its prefix, one hash tag per record, each with a TTL', async () => {
    const prefix = `keys-${Date.now()}:`;
    const store = createRedisRecordStore(client, { prefix });
    await store.claim('scope:key', claim);
    await store.started('scope:key', 'a', [0]);
    await store.append('scope:key', 'a', [{ index: 1, data: new Uint8Array([0, 255]) }]);
    await store.link('monitor', 'scope:key', 60_000);
    const keys = (await client.keys(`${prefix}*`)).sort();
    expect(keys).toEqual(
      [
        `${prefix}{monitor}:m`,
        `${prefix}{scope:key}:a`,
        `${prefix}{scope:key}:l`,
        `${prefix}{scope:key}:r`,
        `${prefix}{scope:key}:s`,
      ].sort(),
    );
    for (const key of keys) {
      const ttl = await client.pTTL(key);
      expect(ttl, key).toBeGreaterThan(0);
      expect(ttl, key).toBeLessThanOrEqual(180_000);
    }
    // A finished record's keys live retentionMs; the lease is gone.
    await store.finish('scope:key', 'a', 5_000);
    expect(await client.exists(`${prefix}{scope:key}:l`)).toBe(0);
    for (const suffix of ['r', 's', 'a'])
      expect(await client.pTTL(`${prefix}{scope:key}:${suffix}`)).toBeLessThanOrEqual(5_000);
    await store.remove('scope:key');
    expect(await client.keys(`${prefix}{scope*`)).toEqual([]);
  });

  it('escapes braces in keys: the hash tag is the whole key, and keys stay distinct', async () => {
    const prefix = `braces-${Date.now()}:`;
    const store = createRedisRecordStore(client, { prefix });
    for (const key of ['}a{', '%7Da%7B', '{}', '%'])
      expect(await store.claim(key, claim), key).toEqual({ outcome: 'new' });
    for (const key of await client.keys(`${prefix}*`))
      expect(key.slice(prefix.length)).toMatch(/^\{[^{}]+\}:[rls]$/);
    expect(() => createRedisRecordStore(client, { prefix: 'a{b}:' })).toThrow(TypeError);
  });

  it('isolates prefixes: two stores on one Redis never see each other’s records', async () => {
    const one = createRedisRecordStore(client, { prefix: `one-${Date.now()}:` });
    const two = createRedisRecordStore(client, { prefix: `two-${Date.now()}:` });
    expect(await one.claim('k', claim)).toEqual({ outcome: 'new' });
    expect(await two.read('k')).toBeUndefined();
    expect(await two.claim('k', { ...claim, fingerprint: 'other' })).toEqual({ outcome: 'new' });
    await one.link('m', 'k', 60_000);
    expect(await two.resolve('m')).toBeUndefined();
    expect((await one.read('k'))?.fingerprint).toBe('fp');
  });

  it('loads its scripts again after SCRIPT FLUSH', async () => {
    const store = createRedisRecordStore(client, { prefix: `flush-${Date.now()}:` });
    await store.claim('k', claim);
    await client.scriptFlush();
    expect(await store.renew('k', 'a', 60_000)).toBe('ok');
  });

  it('fails fast with StoreUnavailable on a client that is not ready', async () => {
    const idle = createClient({ url: server.url });
    const store = createRedisRecordStore(idle);
    const { error, ms } = await timeRejection(store.claim('k', claim));
    expect(error).toBeInstanceOf(StoreUnavailable);
    expect(ms).toBeLessThan(500);
  });

  it('bounds every command by commandTimeoutMs: a server that stops answering is StoreUnavailable', async () => {
    // A connection that goes silent (a network partition): a proxy that stops forwarding.
    const silent = await silentProxy(new URL(server.url));
    const other = await connect(silent.url);
    try {
      const store = createRedisRecordStore(other, { prefix: `silent-${Date.now()}:` });
      expect(await store.claim('k', claim)).toEqual({ outcome: 'new' });
      silent.freeze();
      const { error, ms } = await timeRejection(store.read('k'));
      expect(error).toBeInstanceOf(StoreUnavailable);
      expect((error as Error).message).toMatch(/within 1000 ms/);
      expect(ms).toBeGreaterThanOrEqual(900);
      expect(ms).toBeLessThan(2_000);
    } finally {
      other.destroy();
      await silent.close();
    }
  });
});

/** A TCP proxy to `target` that `freeze` makes stop forwarding what clients send. */
async function silentProxy(target: URL) {
  const sockets = new Set<Socket>();
  const clients = new Set<Socket>();
  const proxy = createServer((client) => {
    const upstream = tcpConnect(Number(target.port), target.hostname);
    clients.add(client);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()));
  const { port } = proxy.address() as AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    freeze() {
      for (const client of clients) {
        client.unpipe();
        client.pause();
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        proxy.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

describe('createRedisRecordStore when Redis goes away', () => {
  let server: RedisServer;
  let client: Client;

  beforeAll(async () => {
    server = await startRedisServer();
    client = await connect(server.url);
  });

  afterAll(async () => {
    if (client?.isOpen) client.destroy();
    await server?.stop();
  });

  it('rejects every operation with StoreUnavailable within 2 s, and holds no request', async () => {
    const store = createRedisRecordStore(client, { prefix: `down-${Date.now()}:` });
    expect(await store.claim('k', claim)).toEqual({ outcome: 'new' });
    await server.stop();
    const operations: Array<Promise<unknown>> = [
      store.claim('k2', claim),
      store.renew('k', 'a', 1_000),
      store.started('k', 'a', [0]),
      store.append('k', 'a', [{ index: 0, data: new Uint8Array(3) }]),
      store.finish('k', 'a', 1_000),
      store.cancel('k'),
      store.read('k'),
      store.remove('k'),
      store.link('m', 'k', 1_000),
      store.resolve('m'),
    ];
    for (const operation of operations) {
      const { error, ms } = await timeRejection(operation);
      expect(error).toBeInstanceOf(StoreUnavailable);
      expect(ms).toBeLessThan(2_000);
    }
    // Later calls, while the client tries to reconnect, fail at once.
    const later = await timeRejection(store.read('k'));
    expect(later.error).toBeInstanceOf(StoreUnavailable);
    expect(later.ms).toBeLessThan(2_000);
  });
});
