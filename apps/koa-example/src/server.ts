import type { AddressInfo } from 'node:net';
import { serveReadingList } from '@batch/reading-list';
import { createApp } from './app.js';

serveReadingList('Koa', new URL('..', import.meta.url), (store, port, ready) => {
  const server = createApp({ store }).app.listen(port, () => {
    ready((server.address() as AddressInfo).port);
  });
  return server;
});
