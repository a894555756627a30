import type { Server } from 'node:http';
import { ArticleStore } from './ArticleStore.js';
import { databasePath } from './database.js';
import { startBanner } from './service.js';
import { closeStore, shutdownTimeoutMs, stopOnSignals } from './shutdown.js';

/**
 * How an example app starts its server: on `port` (0 for any), with `store`, calling
 * `ready(port)` once it listens.
 */
export type StartServer = (
  store: ArticleStore,
  port: number,
  ready: (port: number) => void,
) => Server;

/**
 * The main program of an example app (`pnpm start`): opens the SQLite store (`DATABASE`, or
 * `data/reading-list.db` in `appDir`), starts the server on `PORT` (default 3000), prints the
 * banner with its URL and the curl batches, and on SIGTERM or Ctrl+C stops accepting, lets
 * running batches finish (up to `SHUTDOWN_TIMEOUT_MS`, default 10 s, then aborts them),
 * closes the store and exits 0.
 */
export function serveReadingList(framework: string, appDir: URL, start: StartServer): Server {
  const timeoutMs = shutdownTimeoutMs();
  const database = databasePath(appDir);
  const store = new ArticleStore({ database });
  const server = start(store, Number(process.env.PORT ?? 3000), (port) => {
    console.log(startBanner(framework, `http://localhost:${port}`, database));
  });
  stopOnSignals(server, { timeoutMs, close: () => closeStore(store) });
  return server;
}
