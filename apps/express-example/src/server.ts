import type { AddressInfo } from 'node:net';
import { serveReadingList } from '@batch/reading-list';
import { createApp } from './app.js';

serveReadingList('Express', new URL('..', import.meta.url), (store, port, ready) => {
  const server = createApp({ store }).app.listen(port, (error) => {
    if (error) throw error;
    ready((server.address() as AddressInfo).port);
  });
  return server;
});
