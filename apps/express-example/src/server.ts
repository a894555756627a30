import type { AddressInfo } from 'node:net';
import {
  ArticleStore,
  closeStore,
  databasePath,
  shutdownTimeoutMs,
  startBanner,
  stopOnSignals,
} from '@batch/reading-list';
import { createApp } from './app.js';

const timeoutMs = shutdownTimeoutMs();
// The articles live in SQLite: DATABASE, or data/reading-list.db in this app's folder.
const database = databasePath(new URL('..', import.meta.url));
const store = new ArticleStore({ database });
const { app } = createApp({ store });
const server = app.listen(Number(process.env.PORT ?? 3000), (error) => {
  if (error) throw error;
  const { port } = server.address() as AddressInfo;
  console.log(startBanner('Express', `http://localhost:${port}`, database));
});

// SIGTERM or Ctrl+C: stop accepting, let running batches finish (up to SHUTDOWN_TIMEOUT_MS,
// default 10 s, then abort them), close the store, exit 0.
stopOnSignals(server, { timeoutMs, close: () => closeStore(store) });
