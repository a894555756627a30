import type { Server } from 'node:http';
import {
  ArticleStore,
  closeStore,
  databasePath,
  shutdownTimeoutMs,
  startBanner,
  stopOnSignals,
} from '@batch/reading-list';
import { serve } from '@hono/node-server';
import { createApp } from './app.js';

const timeoutMs = shutdownTimeoutMs();
// The articles live in SQLite: DATABASE, or data/reading-list.db in this app's folder.
const database = databasePath(new URL('..', import.meta.url));
const store = new ArticleStore({ database });
const { app } = createApp({ store });
// A node:http server (serve() types it as any of the node servers it can create).
const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000) }, ({ port }) => {
  console.log(startBanner('Hono', `http://localhost:${port}`, database));
}) as Server;

// SIGTERM or Ctrl+C: stop accepting, let running batches finish (up to SHUTDOWN_TIMEOUT_MS,
// default 10 s, then abort them), close the store, exit 0.
stopOnSignals(server, { timeoutMs, close: () => closeStore(store) });
