import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { withPlayground } from '@batch/playground';
import { serveReadingList } from '@batch/reading-list';
import { createApp } from './app.js';

serveReadingList('Fastify', new URL('..', import.meta.url), (store, port, ready) => {
  // The app behind the playground (its page, and the simulated round trip of its requests).
  const { app } = createApp({
    store,
    serverFactory: (handler) => createServer(withPlayground(handler)),
  });
  app.ready().then(
    () => {
      app.server.listen(port, () => ready((app.server.address() as AddressInfo).port));
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
  return app.server;
});
