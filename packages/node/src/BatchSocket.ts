import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';

/** What a sub-request's socket reports of the batch request's own connection. */
export interface ConnectionInfo {
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  remoteFamily: string | undefined;
  localAddress: string | undefined;
  localPort: number | undefined;
  /** True for TLS: Express derives `req.protocol` and `req.secure` from it. */
  encrypted: boolean;
}

/** The connection facts of a real socket, read once per batch. */
export function connectionOf(socket: Socket | null | undefined): ConnectionInfo {
  return {
    remoteAddress: socket?.remoteAddress,
    remotePort: socket?.remotePort,
    remoteFamily: socket?.remoteFamily,
    localAddress: socket?.localAddress,
    localPort: socket?.localPort,
    encrypted: (socket as { encrypted?: boolean } | null | undefined)?.encrypted === true,
  };
}

/**
 * The socket a sub-request's `req` and `res` see: no I/O at all, only the outer
 * connection's addresses (so `req.ip`, `req.socket.remoteAddress` and `req.protocol`
 * reflect the batch request) and the events and methods that frameworks and
 * `on-finished`-style helpers call.
 */
export class BatchSocket extends EventEmitter {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly remoteFamily: string | undefined;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  readonly encrypted: boolean;
  /** Readable as far as `on-finished` (body-parser 2) can tell: a body is there to read. */
  readable = true;
  writable = true;
  destroyed = false;
  writableCorked = 0;
  /** Nothing is ever buffered: `res.writableFinished` is true once `res` finished. */
  writableLength = 0;
  /** `ServerResponse.end()` uncorks its socket through this. */
  _writableState = { corked: 0 };
  _httpMessage: unknown = null;

  constructor(connection: ConnectionInfo) {
    super();
    this.remoteAddress = connection.remoteAddress;
    this.remotePort = connection.remotePort;
    this.remoteFamily = connection.remoteFamily;
    this.localAddress = connection.localAddress;
    this.localPort = connection.localPort;
    this.encrypted = connection.encrypted;
  }

  address(): { address: string; family: string; port: number } {
    return {
      address: this.localAddress ?? '',
      family: this.remoteFamily ?? 'IPv4',
      port: this.localPort ?? 0,
    };
  }

  destroy(): this {
    if (!this.destroyed) {
      this.destroyed = true;
      this.writable = false;
      this.emit('close', false);
    }
    return this;
  }

  write(): boolean {
    return true;
  }

  end(): this {
    return this;
  }

  cork(): void {}
  uncork(): void {}
  pause(): this {
    return this;
  }
  resume(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  setTimeout(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
}
