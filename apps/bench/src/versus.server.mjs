// One server of the versus bench (src/versus.mjs), in its own process so the bench can read
// the server's CPU time apart from the client's. Not a bench itself: src/versus.mjs forks it.
//
//   node src/versus.server.mjs <hono | koa | express | fastify> <delay ms> [concurrency,…]
//
// A minimal app per framework with three routes:
//   GET  /items/:id  answers the small JSON `{"id":<id>,"title":"Item <id>"}`;
//   POST /items      reads a small JSON body `{"n":<n>,…}` and answers 201
//                    `{"n":<n>,"seq":<s>,"alone":<bool>}`: `seq` counts the POSTs this process
//                    has started (so a batch's POSTs show the order they ran in), `alone` is
//                    false when another POST was running at any point while this one ran;
//   GET  /slow/:ms   awaits a timer of that many ms, then answers `{"slept":<ms>}` (for
//                    src/client.mjs).
// With a delay > 0 the GET /items and POST /items handlers first await a timer of that many
// ms, as a database call would. The batch routes are mounted with the adapter:
// `/batch` with the default `BatchOptions`, and `/batch-c<N>` with `{ concurrency: N }` for
// each N of the third argument.
//
// It listens on 127.0.0.1 twice, on free ports: node:http (HTTP/1.1, every route) and
// node:http2 without TLS (h2c; Hono, Koa and Fastify (`http2: true`): Express has no HTTP/2
// support). Then it
// talks to its parent over IPC, as src/endToEnd.server.mjs does:
//   → { type: 'ready', port, h2Port (null for Express), batch: true }
//     or { type: 'ready', port, h2Port, batch: false, reason } when the adapter is not built
//   ← { type: 'cpu' }   → { type: 'cpu', usage: process.cpuUsage() }
//   ← { type: 'close' } closes both servers, → { type: 'warnings', warnings: [{ text, count }] }
//     (the process warnings it caught), then exits; losing the parent exits too.

import { createServer } from 'node:http';
import { createServer as createHttp2Server } from 'node:http2';
import { createAdaptorServer } from '@hono/node-server';
import Router from '@koa/router';
import express from 'express';
import Fastify from 'fastify';
import { Hono } from 'hono';
import Koa from 'koa';
import { loadAdapter } from './apps.mjs';

const HOST = '127.0.0.1';
/** Longer than any pause between two uses of an idle keep-alive socket in the bench. */
const KEEP_ALIVE_MS = 120_000;

const framework = process.argv[2];
const delayMs = Number(process.argv[3] ?? 0);
const concurrencies = (process.argv[4] ?? '')
  .split(',')
  .filter((value) => value !== '')
  .map(Number);

/** `{ id, title }` for `GET /items/<id>`. @param {number} id */
const item = (id) => ({ id, title: `Item ${id}` });
/** The simulated database call. */
const wait = () => new Promise((resolve) => setTimeout(resolve, delayMs));
/** @param {number} ms */
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** POSTs started so far, and running now. */
let postsStarted = 0;
let postsRunning = 0;
/**
 * The POST /items handler's work, whatever the framework: `readBody` reads and parses the
 * JSON body. Answers what the route sends with 201.
 * @param {() => Promise<any>} readBody
 */
async function createItem(readBody) {
  const seq = ++postsStarted;
  let alone = ++postsRunning === 1;
  try {
    const body = await readBody();
    if (delayMs > 0) await wait();
    alone &&= postsRunning === 1;
    return { n: body.n, seq, alone };
  } finally {
    postsRunning--;
  }
}

/**
 * A Node request's body, parsed as JSON (Koa has no body parser here).
 * @param {import('node:http').IncomingMessage} req
 */
async function readJson(req) {
  /** @type {Buffer[]} */
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/** The batch routes: path and options. @type {{ path: string, options: object }[]} */
const batchRoutes = [
  { path: '/batch', options: {} },
  ...concurrencies.map((concurrency) => ({
    path: `/batch-c${concurrency}`,
    options: { concurrency },
  })),
];

/** @type {(() => Promise<void>)[]} */
const closers = [];
/** @type {string | undefined} */
let reason;

/**
 * Listens a server on a free loopback port; registers its closer.
 * @param {import('node:http').Server | import('node:http2').Http2Server} server
 * @returns {Promise<number>}
 */
async function listen(server) {
  if ('keepAliveTimeout' in server) server.keepAliveTimeout = KEEP_ALIVE_MS;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => resolve(undefined));
  });
  /** @type {Set<import('node:net').Socket>} */
  const sockets = new Set();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  closers.push(
    () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  );
  return /** @type {import('node:net').AddressInfo} */ (server.address()).port;
}

/** @type {number} */
let port;
/** @type {number | null} */
let h2Port = null;

switch (framework) {
  case 'hono': {
    const app = new Hono();
    if (delayMs > 0) {
      app.get('/items/:id', async (c) => {
        await wait();
        return c.json(item(Number(c.req.param('id'))));
      });
    } else app.get('/items/:id', (c) => c.json(item(Number(c.req.param('id')))));
    app.post('/items', async (c) => c.json(await createItem(() => c.req.json()), 201));
    app.get('/slow/:ms', async (c) => {
      const ms = Number(c.req.param('ms'));
      await pause(ms);
      return c.json({ slept: ms });
    });
    const adapter = await loadAdapter('@batch/hono');
    if (adapter.module) {
      for (const route of batchRoutes)
        app.post(route.path, adapter.module.batch(app, route.options));
    } else reason = adapter.error;
    // serve(options) is createAdaptorServer(options) + listen(port, hostname).
    port = await listen(
      /** @type {import('node:http').Server} */ (
        createAdaptorServer({ fetch: app.fetch, hostname: HOST })
      ),
    );
    h2Port = await listen(
      /** @type {import('node:http2').Http2Server} */ (
        /** @type {unknown} */ (
          createAdaptorServer({
            fetch: app.fetch,
            hostname: HOST,
            createServer: /** @type {any} */ (createHttp2Server),
          })
        )
      ),
    );
    break;
  }
  case 'koa': {
    const app = new Koa();
    const router = new Router();
    if (delayMs > 0) {
      router.get('/items/:id', async (ctx) => {
        await wait();
        ctx.body = item(Number(ctx.params.id));
      });
    } else {
      router.get('/items/:id', (ctx) => {
        ctx.body = item(Number(ctx.params.id));
      });
    }
    router.post('/items', async (ctx) => {
      ctx.body = await createItem(() => readJson(ctx.req));
      ctx.status = 201;
    });
    router.get('/slow/:ms', async (ctx) => {
      const ms = Number(ctx.params.ms);
      await pause(ms);
      ctx.body = { slept: ms };
    });
    const adapter = await loadAdapter('@batch/koa');
    if (adapter.module) {
      for (const route of batchRoutes) {
        app.use(adapter.module.batch(app, { path: route.path, ...route.options }));
      }
    } else reason = adapter.error;
    app.use(router.routes());
    port = await listen(createServer(app.callback()));
    h2Port = await listen(createHttp2Server(app.callback()));
    break;
  }
  case 'express': {
    const app = express();
    if (delayMs > 0) {
      app.get('/items/:id', async (req, res) => {
        await wait();
        res.json(item(Number(req.params.id)));
      });
    } else {
      app.get('/items/:id', (req, res) => {
        res.json(item(Number(req.params.id)));
      });
    }
    app.post('/items', express.json(), async (req, res) => {
      res.status(201).json(await createItem(async () => req.body));
    });
    app.get('/slow/:ms', async (req, res) => {
      const ms = Number(req.params.ms);
      await pause(ms);
      res.json({ slept: ms });
    });
    const adapter = await loadAdapter('@batch/express');
    if (adapter.module) {
      for (const route of batchRoutes)
        app.post(route.path, adapter.module.batch(app, route.options));
    } else reason = adapter.error;
    port = await listen(createServer(app));
    break;
  }
  case 'fastify': {
    const adapter = await loadAdapter('@batch/fastify');
    if (!adapter.module) reason = adapter.error;
    /**
     * One Fastify app (HTTP/1.1, or h2c with `http2: true`): the routes, the batch plugin.
     * @param {boolean} http2
     */
    const fastifyApp = async (http2) => {
      const app = /** @type {import('fastify').FastifyInstance} */ (
        /** @type {unknown} */ (
          http2
            ? Fastify({ http2: true })
            : Fastify({ keepAliveTimeout: KEEP_ALIVE_MS, forceCloseConnections: false })
        )
      );
      if (delayMs > 0) {
        app.get('/items/:id', async (request) => {
          await wait();
          return item(Number(/** @type {any} */ (request.params).id));
        });
      } else
        app.get('/items/:id', async (request) =>
          item(Number(/** @type {any} */ (request.params).id)),
        );
      app.post('/items', async (request, reply) =>
        reply.code(201).send(await createItem(async () => request.body)),
      );
      app.get('/slow/:ms', async (request) => {
        const ms = Number(/** @type {any} */ (request.params).ms);
        await pause(ms);
        return { slept: ms };
      });
      if (adapter.module) {
        for (const route of batchRoutes)
          await app.register(adapter.module.batch, { path: route.path, ...route.options });
      }
      await app.ready();
      return app.server;
    };
    port = await listen(/** @type {import('node:http').Server} */ (await fastifyApp(false)));
    h2Port = await listen(
      /** @type {import('node:http2').Http2Server} */ (
        /** @type {unknown} */ (await fastifyApp(true))
      ),
    );
    break;
  }
  default:
    throw new Error(`unknown framework ${framework}`);
}

const send = (/** @type {object} */ message) => process.send?.(message);

/** Process warnings (the bench starts this process with --no-warnings), by name + message. */
const warnings = new Map();
process.on('warning', (warning) => {
  const key = `${warning.name}: ${warning.message}`;
  warnings.set(key, (warnings.get(key) ?? 0) + 1);
});

process.on('message', async (/** @type {{ type: string }} */ message) => {
  if (message.type === 'cpu') send({ type: 'cpu', usage: process.cpuUsage() });
  else if (message.type === 'close') {
    await Promise.all(closers.map((close) => close()));
    const list = [...warnings].map(([text, count]) => ({ text, count }));
    process.send?.({ type: 'warnings', warnings: list }, () => {
      process.disconnect?.();
      process.exit(0);
    });
  }
});
process.on('disconnect', () => process.exit(0));

send(
  reason === undefined
    ? { type: 'ready', port, h2Port, batch: true }
    : { type: 'ready', port, h2Port, batch: false, reason },
);
