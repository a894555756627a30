import { setMaxListeners } from 'node:events';
import { type IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { HeaderList, SubRequest, SubResponse } from '@batch/core';
import { BatchSocket, type ConnectionInfo } from './BatchSocket.js';

/** Any `(req, res)` handler: an Express app, `koaApp.callback()`, a plain `node:http` listener. */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => unknown;

/** Headers Node keeps only the first of (its own `IncomingMessage` rules). */
const SINGLE = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/** `req.headers` as Node builds it: lower-case names, duplicates joined or dropped. */
function headersObject(headers: HeaderList): IncomingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    if (key === '__proto__') continue;
    const existing = out[key];
    if (key === 'set-cookie') {
      if (existing === undefined) out[key] = [value];
      else (existing as string[]).push(value);
    } else if (existing === undefined) {
      out[key] = value;
    } else if (!SINGLE.has(key)) {
      out[key] = `${existing}${key === 'cookie' ? '; ' : ', '}${value}`;
    }
  }
  return out;
}

/** The header lines of a response as Node rendered them (`res._header`), without the status line. */
function parseHeaderBlock(block: string): HeaderList {
  const headers: HeaderList = [];
  let at = block.indexOf('\r\n') + 2;
  while (at < block.length) {
    const end = block.indexOf('\r\n', at);
    if (end === -1 || end === at) break;
    const colon = block.indexOf(':', at);
    if (colon !== -1 && colon < end) {
      headers.push([block.slice(at, colon), block.slice(colon + 1, end).trim()]);
    }
    at = end + 2;
  }
  return headers;
}

interface CapturingResponse {
  _header: string | null;
  _headerSent: boolean;
  _send(data: string | Uint8Array, encoding: BufferEncoding | null, callback?: () => void): boolean;
}

/**
 * Runs one sub-request through a Node `(req, res)` handler in-process — no socket, no
 * loopback HTTP. `req` is a real `IncomingMessage` (its body readable as a stream by any
 * body parser) and `res` a real `ServerResponse` whose output is captured below the
 * header rendering, so every framework feature works (cookies, redirects, streams, HEAD,
 * 204/304). Resolves when the response finishes; aborting `signal` destroys `req`/`res`.
 */
export function dispatchToNode(
  handler: NodeHandler,
  request: SubRequest,
  connection: ConnectionInfo,
  signal: AbortSignal,
): Promise<SubResponse> {
  return new Promise<SubResponse>((resolve, reject) => {
    const socket = new BatchSocket(connection);
    const req = new IncomingMessage(socket as unknown as Socket);
    req.method = request.method;
    req.url = request.target;
    req.httpVersion = '1.1';
    req.httpVersionMajor = 1;
    req.httpVersionMinor = 1;
    req.headers = headersObject(request.headers);
    req.rawHeaders = request.headers.flat();
    req.complete = true;
    const { body } = request;
    if (body.length > 0) req.push(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    req.push(null);

    const res = new ServerResponse(req);
    res.sendDate = false;
    res.useChunkedEncodingByDefault = false;
    res.shouldKeepAlive = false;
    const chunks: Buffer[] = [];
    let size = 0;
    const capture = res as unknown as CapturingResponse;
    capture._send = (data, encoding, callback) => {
      if (data.length > 0) {
        const chunk =
          typeof data === 'string'
            ? Buffer.from(data, encoding ?? 'utf8')
            : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        chunks.push(chunk);
        size += chunk.length;
      }
      capture._headerSent = true;
      if (typeof callback === 'function') callback();
      return true;
    };
    res.assignSocket(socket as unknown as Socket);

    const onAbort = () => {
      req.destroy();
      socket.destroy();
    };
    // The batch's signal is shared by every running item (one listener each, removed when
    // the item finishes): many at once are expected, not a leak.
    setMaxListeners(0, signal);
    signal.addEventListener('abort', onAbort, { once: true });
    res.once('finish', () => {
      signal.removeEventListener('abort', onAbort);
      res.detachSocket(socket as unknown as Socket);
      resolve({
        status: res.statusCode,
        statusText: res.statusMessage,
        headers: parseHeaderBlock(capture._header ?? ''),
        body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size),
      });
    });
    try {
      handler(req, res);
    } catch (error) {
      signal.removeEventListener('abort', onAbort);
      reject(error);
    }
  });
}
