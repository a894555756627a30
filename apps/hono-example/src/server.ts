import type { Server } from 'node:http';
import { serveReadingList } from '@batch/reading-list';
import { serve } from '@hono/node-server';
import { createApp } from './app.js';

serveReadingList(
  'Hono',
  new URL('..', import.meta.url),
  (store, port, ready) =>
    // A node:http server (serve() types it as any of the node servers it can create).
    serve({ fetch: createApp({ store }).app.fetch, port }, (info) => ready(info.port)) as Server,
);
