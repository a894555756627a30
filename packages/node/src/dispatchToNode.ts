import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { AbortSource, HeaderList, SubRequest, SubResponse } from '@batch/core';
import { BatchSocket, type ConnectionInfo } from './BatchSocket.js';
import { MessageFactory, type NodeHandler } from './MessageFactory.js';
import { type AbortWaiter, waitForAbort } from './waitForAbort.js';

export type { NodeHandler } from './MessageFactory.js';

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
    // Own keys only: a header named `constructor` or `toString` is a header, not a method.
    const existing = Object.hasOwn(out, key) ? out[key] : undefined;
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

/** `req.rawHeaders`: names and values, one after the other. */
function rawHeaders(headers: HeaderList): string[] {
  const raw = new Array<string>(headers.length * 2);
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i]!;
    raw[2 * i] = name;
    raw[2 * i + 1] = value;
  }
  return raw;
}

/** Optional whitespace around a header value (RFC 9110 §5.5): space or horizontal tab. */
function isWhitespace(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/**
 * The header lines of a response as Node rendered them (`res._header`), without the
 * status line. Node renders each line as `name + ': ' + value + '\r\n'`, after its own
 * rules (array values one line each, the `Content-Disposition` and `Cookie` special
 * cases, what `writeHead(status, headers)` passed): reading its rendering back is the one
 * way to hold exactly what the app sent, whichever way it sent it, on every Node line.
 */
export function parseHeaderBlock(block: string): HeaderList {
  const headers: HeaderList = [];
  let at = block.indexOf('\r\n') + 2;
  while (at < block.length) {
    const end = block.indexOf('\r\n', at);
    if (end === -1 || end === at) break;
    const colon = block.indexOf(':', at);
    if (colon !== -1 && colon < end) {
      let start = colon + 1;
      let stop = end;
      while (start < stop && isWhitespace(block.charCodeAt(start))) start++;
      while (stop > start && isWhitespace(block.charCodeAt(stop - 1))) stop--;
      headers.push([block.slice(at, colon), block.slice(start, stop)]);
    }
    at = end + 2;
  }
  return headers;
}

/** What the bridge reads and overrides of Node's `OutgoingMessage` (see README, "Internals"). */
interface CapturingResponse extends ServerResponse {
  _header: string | null;
  _headerSent: boolean;
  _send(data: string | Uint8Array, encoding: BufferEncoding | null, callback?: () => void): boolean;
  [RUN]: SubRequestRun;
}

const RUN = Symbol('@batch/node sub-request');
const NO_BYTES = new Uint8Array(0);

/**
 * `res._send`, the one place `write()` and `end()` hand over a rendered chunk (after the
 * header block was rendered into `res._header`): the chunk is kept instead of written. An
 * own property of `res`, so that it survives a framework swapping the prototype; one shared
 * function, the sub-request's state found on `res`.
 */
function captureSend(
  this: CapturingResponse,
  data: string | Uint8Array,
  encoding: BufferEncoding | null,
  callback?: () => void,
): boolean {
  if (data.length > 0) {
    this[RUN].keep(
      typeof data === 'string'
        ? Buffer.from(data, encoding ?? 'utf8')
        : Buffer.isBuffer(data)
          ? data
          : Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    );
  }
  this._headerSent = true;
  // As a socket calls back once the bytes are written: later, not inside `write()`/`end()`
  // (so that `finish` comes after `end()` returned, `res.writableEnded` true, as over HTTP).
  if (typeof callback === 'function') process.nextTick(callback);
  return true;
}

/** What Node's server does a tick after a response finished (`emitCloseNT`). */
function emitClose(res: CapturingResponse): void {
  if (res.closed) return;
  res.destroyed = true;
  (res as { _closed?: boolean })._closed = true;
  res.emit('close');
}

/** The `finish` listener of every sub-request's `res`. */
function onFinish(this: CapturingResponse): void {
  this[RUN].finish();
}

/** One sub-request in flight: its messages, the chunks captured, and how to answer. */
class SubRequestRun implements AbortWaiter {
  readonly #resolve: (response: SubResponse) => void;
  readonly #socket: BatchSocket;
  readonly #req: IncomingMessage;
  readonly #res: CapturingResponse;
  /** The waiters on the signal, this one among them until it is forgotten. */
  readonly #waiters: Set<AbortWaiter>;
  /** The first chunk; `#more` holds the others (most answers are one chunk). */
  #chunk: Buffer | undefined;
  #more: Buffer[] | undefined;
  #settled = false;

  constructor(
    resolve: (response: SubResponse) => void,
    socket: BatchSocket,
    req: IncomingMessage,
    res: CapturingResponse,
    signal: AbortSource,
  ) {
    this.#resolve = resolve;
    this.#socket = socket;
    this.#req = req;
    this.#res = res;
    // Destroys `req` and `res` (they emit `close`) when `signal` aborts.
    this.#waiters = waitForAbort(signal, this);
  }

  onAbort(): void {
    this.#req.destroy();
    this.#socket.destroy();
  }

  keep(chunk: Buffer): void {
    if (this.#chunk === undefined) this.#chunk = chunk;
    else if (this.#more === undefined) this.#more = [chunk];
    else this.#more.push(chunk);
  }

  /** Stops watching the signal (the handler threw, or the answer is complete). */
  forget(): void {
    this.#waiters.delete(this);
  }

  finish(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.forget();
    const res = this.#res;
    res.detachSocket(this.#socket as unknown as Socket);
    // Then `close`, as Node's server emits it after `finish` (what tracing and `on-finished`
    // listeners wait for).
    process.nextTick(emitClose, res);
    const first = this.#chunk;
    const more = this.#more;
    this.#resolve({
      status: res.statusCode,
      statusText: res.statusMessage,
      headers: parseHeaderBlock(res._header ?? ''),
      body:
        first === undefined
          ? NO_BYTES
          : more === undefined
            ? first
            : Buffer.concat([first, ...more]),
    });
  }
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
  signal: AbortSource,
): Promise<SubResponse> {
  return new Promise<SubResponse>((resolve, reject) => {
    const messages = MessageFactory.of(handler);
    const socket = new BatchSocket(connection);
    const req = messages.request(socket as unknown as Socket);
    req.method = request.method;
    req.url = request.target;
    req.httpVersion = '1.1';
    req.httpVersionMajor = 1;
    req.httpVersionMinor = 1;
    req.headers = headersObject(request.headers);
    req.rawHeaders = rawHeaders(request.headers);
    req.complete = true;
    const { body } = request;
    if (body.length > 0) req.push(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    req.push(null);

    const res = messages.response(req) as CapturingResponse;
    res.sendDate = false;
    res.useChunkedEncodingByDefault = false;
    res.shouldKeepAlive = false;
    const run = new SubRequestRun(resolve, socket, req, res, signal);
    res[RUN] = run;
    res._send = captureSend;
    res.assignSocket(socket as unknown as Socket);
    res.on('finish', onFinish);
    try {
      handler(req, res);
    } catch (error) {
      run.forget();
      reject(error);
      return;
    }
    messages.observe(req, res);
  });
}
