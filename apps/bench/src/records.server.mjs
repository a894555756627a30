// One server of the records bench (safe retries, SPEC §8), in its own process so the bench
// can read its CPU time and memory apart from the client's. Not a bench itself:
// src/records.mjs forks it.
//
//   node --expose-gc src/records.server.mjs <node | express> [<redis URL> | -]
//
// Routes (127.0.0.1, a free port):
//   POST /items        the write: reads a small JSON body `{"n":<n>,"title":…}`, keeps it in a
//                      Map under a new id, answers 201 `{"id":<id>,"n":<n>}` (no database: the
//                      cheapest write, so that what recording costs shows in full);
//   POST /batch        the batch route with default options: safe retries on, records in
//                      `createMemoryRecordStore()` with its defaults — what every adapter
//                      creates when given no store (passed explicitly only so that `held` can
//                      count what it keeps);
//   POST /batch-redis  the same, records in `createRedisRecordStore(client)` over one
//                      node-redis 6 client (only when a Redis URL is given);
//   POST /batch-off    the same with `idempotency: false` (information: the unkeyed path).
// node: a plain node:http server, the batch routes through `@batch/node`'s
// `createNodeBatchHandler`. express: Express 5, `app.post(path, batch(app, options))`.
//
// IPC with the parent:
//   → { type: 'ready', port, redis: boolean }
//   ← { type: 'cpu' }   → { type: 'cpu', usage: process.cpuUsage() }
//   ← { type: 'ask', id, what: 'memory', gc } → { type: 'answer', id, value: process.memoryUsage() }
//   ← { type: 'ask', id, what: 'writes' }     → the number of POST /items run so far
//   ← { type: 'ask', id, what: 'held', keys, authorization }
//       → { records, bytes }: how many of `keys` the memory store still holds, and the bytes
//         it counts for them (answers, key, fingerprint, owner)
//   ← { type: 'close' } closes the server and exits; so does losing the parent.

import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { createMemoryRecordStore } from '@batch/core';
import { createNodeBatchHandler } from '@batch/node';
import { createRedisRecordStore } from '@batch/redis';
import express from 'express';
import { createClient } from 'redis';

const HOST = '127.0.0.1';
const KEEP_ALIVE_MS = 120_000;
const framework = process.argv[2];
const redisUrl = process.argv[3] === undefined || process.argv[3] === '-' ? '' : process.argv[3];

// --- The write --------------------------------------------------------------------------------

/** What POST /items wrote, by id. */
const items = new Map();
let writes = 0;

/**
 * Keeps one item; what POST /items answers.
 * @param {any} body
 */
function createItem(body) {
  const id = ++writes;
  items.set(id, body);
  // Bounded, as an app's table would not be in memory: keep the last 1,000 only.
  items.delete(id - 1000);
  return { id, n: body.n };
}

// --- Stores -----------------------------------------------------------------------------------

const memoryStore = createMemoryRecordStore();
/** @type {ReturnType<typeof createClient> | undefined} */
let redis;
if (redisUrl !== '') {
  redis = createClient({ url: redisUrl });
  redis.on('error', () => {}); // reconnects on its own; a failed command is a 503, checked
  await redis.connect();
}

/** @type {Record<string, import('@batch/core').BatchOptions>} */
const batchRoutes = { '/batch': { idempotency: { store: memoryStore } } };
if (redis !== undefined)
  batchRoutes['/batch-redis'] = { idempotency: { store: createRedisRecordStore(redis) } };
batchRoutes['/batch-off'] = { idempotency: false };

// --- Server -----------------------------------------------------------------------------------

/** @type {import('node:http').Server} */
let server;
switch (framework) {
  case 'node': {
    /**
     * The app: POST /items, 404 for anything else.
     * @param {import('node:http').IncomingMessage} req
     * @param {import('node:http').ServerResponse} res
     */
    const app = (req, res) => {
      if (req.method !== 'POST' || req.url !== '/items') {
        res.statusCode = 404;
        res.end();
        return;
      }
      /** @type {Buffer[]} */
      const chunks = [];
      req.on('data', (chunk) => chunks.push(chunk));
      req.on('end', () => {
        const item = createItem(JSON.parse(Buffer.concat(chunks).toString()));
        res.statusCode = 201;
        res.setHeader('content-type', 'application/json; charset=utf-8');
        res.end(JSON.stringify(item));
      });
    };
    const handlers = new Map(
      Object.entries(batchRoutes).map(([path, options]) => [
        path,
        createNodeBatchHandler(app, options),
      ]),
    );
    server = createServer((req, res) => {
      const batch = req.method === 'POST' ? handlers.get(req.url ?? '') : undefined;
      if (batch === undefined) app(req, res);
      else
        batch(req, res).catch((/** @type {unknown} */ error) =>
          res.destroy(/** @type {Error} */ (error)),
        );
    });
    break;
  }
  case 'express': {
    const { batch } = await import('@batch/express');
    const app = express();
    app.disable('x-powered-by');
    // Mounted before express.json(), as the example apps do: the adapter reads the batch body.
    for (const [path, options] of Object.entries(batchRoutes)) app.post(path, batch(app, options));
    app.post('/items', express.json(), (req, res) => {
      res.status(201).json(createItem(req.body));
    });
    server = createServer(app);
    break;
  }
  default:
    throw new Error(`unknown framework ${framework}`);
}
server.keepAliveTimeout = KEEP_ALIVE_MS;
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(0, HOST, () => resolve(undefined));
});
const port = /** @type {import('node:net').AddressInfo} */ (server.address()).port;

// --- IPC --------------------------------------------------------------------------------------

/**
 * How many of `keys` the memory store holds, and the bytes it counts for them. The store's
 * key is the caller's scope (SHA-256 of `Authorization` LF `Cookie`) and the batch's key.
 * @param {string[]} keys
 * @param {string} authorization
 */
async function held(keys, authorization) {
  const scope = createHash('sha256').update(`${authorization}\n`).digest('hex');
  let records = 0;
  let bytes = 0;
  for (const key of keys) {
    const storeKey = `${scope}:${key}`;
    const record = await memoryStore.read(storeKey);
    if (record === undefined) continue;
    records++;
    bytes +=
      record.bytes +
      1 +
      storeKey.length +
      record.fingerprint.length +
      record.owner.length +
      record.info.length;
  }
  return { records, bytes };
}

const send = (/** @type {object} */ message) => process.send?.(message);

process.on('message', async (/** @type {any} */ message) => {
  switch (message.type) {
    case 'cpu':
      send({ type: 'cpu', usage: process.cpuUsage() });
      break;
    case 'ask': {
      let value;
      if (message.what === 'memory') {
        if (message.gc) {
          globalThis.gc?.();
          globalThis.gc?.();
        }
        value = process.memoryUsage();
      } else if (message.what === 'writes') value = writes;
      else if (message.what === 'held') value = await held(message.keys, message.authorization);
      send({ type: 'answer', id: message.id, value });
      break;
    }
    case 'close':
      await new Promise((resolve) => {
        server.close(() => resolve(undefined));
        server.closeAllConnections();
      });
      await redis?.quit().catch(() => {});
      process.disconnect?.();
      process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));

send({ type: 'ready', port, redis: redis !== undefined });
