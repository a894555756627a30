// The Node internals @batch/node relies on, each pinned by a test that fails — with a message
// naming what to change — when a Node release changes it. README.md, "Internals", lists them.
import { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { BatchSocket, connectionOf } from './BatchSocket.js';
import { parseHeaderBlock } from './dispatchToNode.js';

interface Internals {
  _header: string | null;
  _headerSent: boolean;
  _send(data: string | Uint8Array, encoding: BufferEncoding | null, callback?: () => void): boolean;
}

interface SendCall {
  data: string | Uint8Array;
  encoding: BufferEncoding | null;
  callback: (() => void) | undefined;
  /** `res._header` when `_send` was called. */
  header: string | null;
}

/** A request/response pair on a BatchSocket, its output going through an own `_send` that records. */
function pair(method = 'GET', socket = new BatchSocket(connectionOf(undefined))) {
  const req = new IncomingMessage(socket as unknown as Socket);
  req.method = method;
  req.url = '/';
  req.headers = { host: 'localhost' };
  req.push(null);
  const res = new ServerResponse(req);
  res.sendDate = false;
  res.useChunkedEncodingByDefault = false;
  res.shouldKeepAlive = false;
  const calls: SendCall[] = [];
  const internals = res as unknown as Internals;
  internals._send = function (this: Internals, data, encoding, callback) {
    calls.push({ data, encoding, callback, header: this._header });
    this._headerSent = true;
    return true;
  };
  res.assignSocket(socket as unknown as Socket);
  return { req, res, socket, calls, internals };
}

const body = (calls: SendCall[]) =>
  calls
    .map(({ data, encoding }) =>
      typeof data === 'string' ? Buffer.from(data, encoding ?? 'utf8').toString() : String(data),
    )
    .join('');

describe('Node internals @batch/node relies on', () => {
  it('IncomingMessage and ServerResponse are ES5 constructors (MessageFactory: Base.call(this, arg))', () => {
    const socket = new BatchSocket(connectionOf(undefined));
    const req = Object.create(IncomingMessage.prototype) as IncomingMessage;
    expect(
      () => (IncomingMessage as unknown as (this: unknown, s: unknown) => void).call(req, socket),
      'IncomingMessage can no longer be called as a function: MessageFactory.bornWith must construct with Reflect.construct instead',
    ).not.toThrow();
    expect(req.socket).toBe(socket);
    expect(req.readable).toBe(true);
    const res = Object.create(ServerResponse.prototype) as ServerResponse;
    expect(
      () => (ServerResponse as unknown as (this: unknown, r: unknown) => void).call(res, req),
      'ServerResponse can no longer be called as a function: see MessageFactory.bornWith',
    ).not.toThrow();
    expect(res.req).toBe(req);
    expect(res.statusCode).toBe(200);
  });

  it('every byte of a response goes through res._send, after the header block was rendered into res._header', () => {
    const { res, calls } = pair();
    res.setHeader('Content-Type', 'text/plain');
    res.write('a');
    res.write(Buffer.from('b'));
    res.end('c');
    // Node 20/22 end with an empty _send carrying the finish callback; Node 24 hands it to
    // the last chunk's _send.
    expect(body(calls), 'ServerResponse no longer writes through _send: see captureSend').toBe(
      'abc',
    );
    expect(
      calls.filter((call) => typeof call.callback === 'function').length,
      "no write hands _send a callback: see captureSend's callback",
    ).toBeGreaterThan(0);
    for (const call of calls) {
      expect(call.header, 'res._header not rendered before the first _send').toMatch(
        /^HTTP\/1\.1 200 OK\r\n(?:[^\r\n]+: [^\r\n]*\r\n)*\r\n$/,
      );
    }
    expect(res.headersSent).toBe(true);
  });

  it('end() without a body, after writeHead, still calls _send (with a callback that emits finish)', async () => {
    const { res, calls } = pair();
    let finished = false;
    res.on('finish', () => {
      finished = true;
    });
    res.writeHead(204).end();
    expect(calls.length).toBeGreaterThan(0);
    expect(calls.at(-1)?.header).toMatch(/^HTTP\/1\.1 204 No Content\r\n/);
    const callback = calls.at(-1)?.callback;
    expect(typeof callback, 'end() no longer hands _send a callback: see captureSend').toBe(
      'function',
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(finished, "finish was emitted without _send's callback").toBe(false);
    callback?.();
    expect(finished, "_send's callback in end() no longer emits finish: see SubRequestRun").toBe(
      true,
    );
  });

  it('_headerSent set by _send makes end() after write() send no second header', () => {
    const { res, calls } = pair();
    res.write('a');
    res.end();
    expect(calls.every((call) => call.header === calls[0]?.header)).toBe(true);
    expect(body(calls)).toBe('a');
  });

  it('HEAD and 204 responses send their header and no body', () => {
    const head = pair('HEAD');
    head.res.setHeader('Content-Length', '3');
    head.res.end('abc');
    expect(body(head.calls)).toBe('');
    expect(head.calls[0]?.header).toContain('Content-Length: 3\r\n');
  });

  it('res._header renders each header as "name: value" lines: set-cookie arrays, writeHead objects and raw arrays', () => {
    const a = pair();
    a.res.setHeader('Set-Cookie', ['a=1', 'b=2']);
    a.res.setHeader('X-Number', 42);
    a.res.writeHead(201, { 'X-Late': 'yes' });
    a.res.end();
    expect(parseHeaderBlock(a.internals._header ?? '')).toEqual([
      ['Set-Cookie', 'a=1'],
      ['Set-Cookie', 'b=2'],
      ['X-Number', '42'],
      ['X-Late', 'yes'],
      ['Connection', 'close'],
    ]);
    const b = pair();
    b.res.writeHead(200, ['Set-Cookie', 'a=1', 'set-cookie', 'b=2', 'X-Case', 'MiXed']);
    b.res.end();
    expect(parseHeaderBlock(b.internals._header ?? '')).toEqual([
      ['Set-Cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['X-Case', 'MiXed'],
      ['Connection', 'close'],
    ]);
  });

  it('assignSocket / detachSocket / destroy use socket._httpMessage and the socket "close" event', async () => {
    const { req, res, socket } = pair();
    expect(socket._httpMessage, 'assignSocket no longer sets socket._httpMessage').toBe(res);
    expect(socket.listenerCount('close')).toBe(1);
    const closed = new Promise((resolve) => res.once('close', resolve));
    req.destroy();
    expect(socket.destroyed, "req.destroy() no longer destroys the request's socket").toBe(true);
    await closed;
    expect(res.destroyed).toBe(true);

    const other = pair();
    const otherClosed = new Promise((resolve) => other.res.once('close', resolve));
    other.res.destroy();
    expect(other.socket.destroyed, "res.destroy() no longer destroys the response's socket").toBe(
      true,
    );
    await otherClosed;

    const done = pair();
    done.res.end('x');
    done.res.detachSocket(done.socket as unknown as Socket);
    expect(done.socket._httpMessage).toBe(null);
    expect(done.socket.listenerCount('close')).toBe(0);
    expect(done.res.socket).toBe(null);
  });

  it('Node reads nothing of a sub-request socket that BatchSocket lacks, beyond the known probes', async () => {
    // Properties Node reads of a socket and handles as absent (stream probes in
    // end-of-stream, IncomingMessage's highWaterMark, Node 24's server and errored checks).
    const known = new Set([
      'readableHighWaterMark',
      '_hadError',
      'server',
      'errored',
      '_readableState',
      'pipe',
      'writableFinished',
      'closed',
      '_closed',
      'setHeader',
      'aborted',
      'Symbol(nodejs.stream.writable)',
      'writableErrored',
      'readableErrored',
      'req',
    ]);
    const missing = new Set<string>();
    const probe = () =>
      new Proxy(new BatchSocket(connectionOf(undefined)), {
        get(target, key) {
          if (!(key in target)) missing.add(String(key));
          const value = Reflect.get(target, key, target) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    {
      const { res } = pair('GET', probe());
      res.setHeader('a', '1');
      res.write('x');
      res.end('y');
      res.detachSocket(res.socket!);
    }
    {
      const { res } = pair('GET', probe());
      await pipeline(Readable.from(['a', 'b']), res);
    }
    {
      const { req, res, socket } = pair('GET', probe());
      const closed = new Promise((resolve) => res.once('close', resolve));
      req.destroy();
      socket.destroy();
      await closed;
    }
    {
      const { res } = pair('GET', probe());
      const closed = new Promise((resolve) => res.once('close', resolve));
      res.destroy();
      await closed;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
    const unknown = [...missing].filter((key) => !known.has(key));
    expect(unknown, 'Node now reads these of a socket: does BatchSocket need them?').toEqual([]);
  });
});
