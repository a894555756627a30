import type { AddressInfo } from 'node:net';
import { startBanner } from '@batch/reading-list';
import { createApp } from './app.js';

const { app } = createApp();
const server = app.listen(Number(process.env.PORT ?? 3000), () => {
  const { port } = server.address() as AddressInfo;
  console.log(startBanner('Koa', `http://localhost:${port}`));
});

// Ctrl+C (or a supervisor's SIGTERM): stop accepting, let requests in flight finish, exit 0.
// A second signal kills the process at once.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
  });
}
