import type { AddressInfo } from 'node:net';
import { startBanner } from '@batch/reading-list';
import { createApp } from './app.js';

const { app } = createApp();
const server = app.listen(Number(process.env.PORT ?? 3000), (error) => {
  if (error) throw error;
  const { port } = server.address() as AddressInfo;
  console.log(startBanner('Express', `http://localhost:${port}`));
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
