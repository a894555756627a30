import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A server listening on loopback, and how to stop it. */
export interface Listening {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  close(): Promise<void>;
}

/** Waits until `server` listens (on 127.0.0.1, port 0 as the tests start it) and gives its URL. */
export async function listen(server: Server): Promise<Listening> {
  if (!server.listening)
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
