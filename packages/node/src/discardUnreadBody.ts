import type { IncomingMessage } from 'node:http';
import type { UnreadBody } from '@batch/core';

/**
 * Reads and drops the rest of a refused batch request's body (SPEC §4 "The connection
 * survives a rejection"), so that the connection stays usable: with `'discard'` the client's
 * next request follows on it; with `'close'` (the answer says `Connection: close`) Node
 * closes it once the answer is written, and the client reads the answer rather than a reset.
 * Either way the socket is destroyed past `maxBytes` or `timeoutMs`: a client that keeps
 * sending cannot hold the connection, and nothing is kept in memory.
 */
export function discardUnreadBody(req: IncomingMessage, plan: UnreadBody): void {
  if (req.readableEnded || req.destroyed) return;
  const { socket } = req;
  let dropped = 0;
  const stop = () => {
    cleanup();
    socket.destroy();
  };
  const onData = (chunk: Uint8Array) => {
    dropped += chunk.length;
    if (dropped > plan.maxBytes) stop();
  };
  const cleanup = () => {
    clearTimeout(timer);
    req.off('data', onData);
    req.off('end', cleanup);
    req.off('close', cleanup);
  };
  const timer = setTimeout(stop, plan.timeoutMs).unref();
  req.on('data', onData);
  req.once('end', cleanup);
  req.once('close', cleanup);
  req.resume();
}
