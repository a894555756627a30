import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { withPlayground } from '@batch/playground';
import { serveReadingList } from '@batch/reading-list';
import { createApp } from './app.js';

serveReadingList('Express', new URL('..', import.meta.url), (store, port, ready) => {
  // The app behind the playground (its page, and the simulated round trip of its requests).
  const server = createServer(withPlayground(createApp({ store }).app)).listen(port, () => {
    ready((server.address() as AddressInfo).port);
  });
  return server;
});
