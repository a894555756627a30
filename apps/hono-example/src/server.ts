import { startBanner } from '@batch/reading-list';
import { serve } from '@hono/node-server';
import { createApp } from './app.js';

const { app } = createApp();
const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000) }, ({ port }) => {
  console.log(startBanner('Hono', `http://localhost:${port}`));
});

// Ctrl+C (or a supervisor's SIGTERM): stop accepting, let requests in flight finish, exit 0.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
  });
}
