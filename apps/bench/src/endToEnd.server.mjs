// One server of the end-to-end bench, in its own process so the bench can read the server's
// CPU time apart from the client's. Not a bench itself: src/endToEnd.mjs forks it.
//
//   node src/endToEnd.server.mjs <express5 | express4 | koa | hono | node | hapi>
//
// Listens on 127.0.0.1 (a free port), then talks to its parent over IPC:
//   → { type: 'ready', port, batch: true } or { type: 'ready', port, batch: false, reason }
//   ← { type: 'cpu' }   → { type: 'cpu', usage: process.cpuUsage() }
//   ← { type: 'close' } closes the server and exits; so does losing the parent.

import { createServer } from 'node:http';
import { serve } from '@hono/node-server';
import { expressApp, hapiServer, honoApp, koaApp, loadAdapter, nodeListener } from './apps.mjs';

const HOST = '127.0.0.1';
const framework = process.argv[2];

/** @type {() => Promise<void>} */
let close;
/** Longer than the bench: no idle keep-alive socket is closed between variants. */
const KEEP_ALIVE_MS = 120_000;

/** @type {number} */
let port;
/** @type {string | undefined} */
let reason;

/**
 * Listens a node:http server on a free loopback port.
 * @param {import('node:http').Server} server
 */
async function listen(server) {
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => resolve(undefined));
  });
  close = () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return /** @type {import('node:net').AddressInfo} */ (server.address()).port;
}

switch (framework) {
  case 'express5':
  case 'express4': {
    const app = expressApp(framework);
    const adapter = await loadAdapter('@batch/express');
    if (adapter.module) app.post('/batch', adapter.module.batch(app));
    else reason = adapter.error;
    port = await listen(createServer(app));
    break;
  }
  case 'koa': {
    const { app, router } = koaApp();
    const adapter = await loadAdapter('@batch/koa');
    if (adapter.module) app.use(adapter.module.batch(app, { path: '/batch' }));
    else reason = adapter.error;
    app.use(router.routes());
    port = await listen(createServer(app.callback()));
    break;
  }
  case 'hono': {
    const app = honoApp();
    const adapter = await loadAdapter('@batch/hono');
    if (adapter.module) app.post('/batch', adapter.module.batch(app));
    else reason = adapter.error;
    const server = /** @type {import('node:http').Server} */ (
      serve({ fetch: app.fetch, hostname: HOST, port: 0 })
    );
    server.keepAliveTimeout = KEEP_ALIVE_MS;
    if (!server.listening) await new Promise((resolve) => server.once('listening', resolve));
    port = /** @type {import('node:net').AddressInfo} */ (server.address()).port;
    close = () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    break;
  }
  case 'node': {
    const adapter = await loadAdapter('@batch/node');
    const batch = adapter.module?.createNodeBatchHandler(nodeListener);
    reason = adapter.error;
    port = await listen(
      createServer((req, res) => {
        if (batch !== undefined && req.url === '/batch') {
          batch(req, res).catch((/** @type {unknown} */ error) =>
            res.destroy(/** @type {Error} */ (error)),
          );
        } else nodeListener(req, res);
      }),
    );
    break;
  }
  case 'hapi': {
    const server = await hapiServer({ host: HOST, port: 0 });
    await server.start();
    port = server.info.port;
    close = async () => {
      await server.stop({ timeout: 100 });
    };
    break;
  }
  default:
    throw new Error(`unknown framework ${framework}`);
}

const send = (/** @type {object} */ message) => process.send?.(message);

process.on('message', async (/** @type {{ type: string }} */ message) => {
  if (message.type === 'cpu') send({ type: 'cpu', usage: process.cpuUsage() });
  else if (message.type === 'close') {
    await close();
    process.disconnect?.();
    process.exit(0);
  }
});
process.on('disconnect', () => process.exit(0));

send(
  reason === undefined
    ? { type: 'ready', port, batch: true }
    : { type: 'ready', port, batch: false, reason },
);
