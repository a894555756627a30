import type { AddressInfo } from 'node:net';
import {
  ArticleStore,
  closeStore,
  shutdownTimeoutMs,
  startBanner,
  stopOnSignals,
} from '@batch/reading-list';
import { createApp } from './app.js';

const timeoutMs = shutdownTimeoutMs();
const store = new ArticleStore();
const { app } = createApp({ store });
const server = app.listen(Number(process.env.PORT ?? 3000), (error) => {
  if (error) throw error;
  const { port } = server.address() as AddressInfo;
  console.log(startBanner('Express', `http://localhost:${port}`));
});

// SIGTERM or Ctrl+C: stop accepting, let running batches finish (up to SHUTDOWN_TIMEOUT_MS,
// default 10 s, then abort them), close the store, exit 0.
stopOnSignals(server, { timeoutMs, close: () => closeStore(store) });
