import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { BatchOptions } from '@batch/core';
import { describe, expect, it } from 'vitest';
import type { RunningApp } from './testApp.js';

/** One answer on a keep-alive agent, and the socket it came on. */
interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  socket: Socket;
}

type Write = (req: import('node:http').ClientRequest) => void;

/** One request through `agent`; `write` sends the body (and ends it, or not). */
function exchange(
  agent: Agent,
  app: RunningApp,
  method: string,
  path: string,
  headers: Record<string, string | number>,
  write: Write = (req) => req.end(),
): Promise<Answer> {
  const url = new URL(app.url);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest(
      { host: url.hostname, port: url.port, method, path, headers, agent },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
            socket: req.socket as Socket,
          }),
        );
      },
    );
    // The client may still be writing a refused body when the server closes: only the
    // answer counts, which arrives (or not) on its own.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    write(req);
  });
}

const multipartHead = (header: string) =>
  `--b\r\nContent-Type: application/http\r\n\r\nGET /echo HTTP/1.1\r\n${header}\r\n\r\n--b--\r\n`;

/**
 * A multipart batch of `bytes` bytes, one POST with a text body. Multipart, so that no body
 * parser mounted before the batch route (`express.json()`, `@koa/bodyparser`) reads it first.
 */
function multipartOf(bytes: number): Buffer {
  const head =
    '--b\r\nContent-Type: application/http\r\n\r\nPOST /echo HTTP/1.1\r\nContent-Type: text/plain\r\n\r\n';
  const tail = '\r\n--b--\r\n';
  return Buffer.from(head + 'x'.repeat(bytes - head.length - tail.length) + tail);
}

/**
 * SPEC §4 "The connection survives a rejection": a batch refused before its body was read
 * to the end must not break the client's next request on the same keep-alive connection,
 * and a client that keeps sending a refused body cannot hold the connection.
 */
export function connectionSurvivalSuite(start: (batch: BatchOptions) => Promise<RunningApp>): void {
  describe('a refused batch leaves the connection usable (SPEC §4)', () => {
    const limits: BatchOptions = { maxBodyBytes: 64 * 1024, maxPartHeaderBytes: 512 };

    /** A refused batch, then `GET /echo` on the same one-socket keep-alive agent. */
    async function refuseThenGet(
      app: RunningApp,
      contentType: string,
      write: Write,
      headers: Record<string, string | number> = {},
    ) {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const refused = await exchange(
          agent,
          app,
          'POST',
          '/batch',
          { 'content-type': contentType, ...headers },
          write,
        );
        const next = await exchange(agent, app, 'GET', '/echo/next', {});
        return { refused, next };
      } finally {
        agent.destroy();
      }
    }

    it('413 with a small rest: the rest is read and dropped, the next request reuses the connection', async () => {
      const app = await start(limits);
      const body = multipartOf(100 * 1024);
      const { refused, next } = await refuseThenGet(
        app,
        'multipart/mixed; boundary=b',
        (req) => req.end(body),
        {
          'content-length': body.length,
        },
      );
      expect(refused.status).toBe(413);
      expect(refused.headers.connection).not.toBe('close');
      expect(next.status).toBe(200);
      expect(JSON.parse(next.text).url).toBe('/echo/next');
      expect(next.socket).toBe(refused.socket);
    });

    it('413 with a large rest: Connection: close, and the next request gets its answer', async () => {
      const app = await start(limits);
      const body = multipartOf(3 * 1024 * 1024);
      const { refused, next } = await refuseThenGet(
        app,
        'multipart/mixed; boundary=b',
        (req) => req.end(body),
        {
          'content-length': body.length,
        },
      );
      expect(refused.status).toBe(413);
      expect(refused.headers.connection).toBe('close');
      expect(JSON.parse(refused.text).status).toBe(413);
      expect(next.status).toBe(200);
      expect(JSON.parse(next.text).url).toBe('/echo/next');
    });

    it('431 (a part head over maxPartHeaderBytes), then the next request gets its answer', async () => {
      const app = await start(limits);
      const body = Buffer.from(multipartHead(`X-Big: ${'z'.repeat(2000)}`) + 'x'.repeat(30_000));
      const { refused, next } = await refuseThenGet(
        app,
        'multipart/mixed; boundary=b',
        (req) => req.end(body),
        { 'content-length': body.length },
      );
      expect(refused.status).toBe(431);
      expect(next.status).toBe(200);
      expect(next.socket).toBe(refused.socket);
    });

    it('400 found while the body is still arriving (chunked): answered at once, Connection: close, the next request answered', async () => {
      const app = await start(limits);
      let finish = () => {};
      const { refused, next } = await refuseThenGet(app, 'multipart/mixed; boundary=b', (req) => {
        // A malformed header line in the first part; the rest of the body has not been sent.
        req.write(multipartHead('Bad Header Line'));
        finish = () => req.end('--b--\r\n');
      });
      // The answer came while the request was still open.
      expect(refused.status).toBe(400);
      expect(refused.headers.connection).toBe('close');
      expect(JSON.parse(refused.text).errors[0]).toEqual(expect.objectContaining({ part: 1 }));
      finish();
      expect(next.status).toBe(200);
    });

    it('415 with a body: the next request reuses the connection', async () => {
      const app = await start(limits);
      const { refused, next } = await refuseThenGet(
        app,
        'text/plain',
        (req) => req.end('x'.repeat(5000)),
        {
          'content-length': 5000,
        },
      );
      expect(refused.status).toBe(415);
      expect(next.status).toBe(200);
      expect(next.socket).toBe(refused.socket);
    });

    /** Sends a refused body forever; resolves with the bytes written when the server closes. */
    function sendForever(
      app: RunningApp,
      chunk: Buffer,
      everyMs: number,
      headers: Record<string, string | number> = {},
    ) {
      return new Promise<{ status: number; written: number }>((resolve) => {
        const url = new URL(app.url);
        let status = 0;
        let written = 0;
        let timer: NodeJS.Timeout | undefined;
        const req = httpRequest(
          {
            host: url.hostname,
            port: url.port,
            method: 'POST',
            path: '/batch',
            headers: { 'content-type': 'multipart/mixed; boundary=b', ...headers },
          },
          (res) => {
            status = res.statusCode ?? 0;
            res.resume();
          },
        );
        const done = () => {
          clearTimeout(timer);
          resolve({ status, written });
        };
        req.on('error', done);
        req.on('close', done);
        req.write(multipartHead('Bad Header Line'));
        const pump = () => {
          // Write as fast as the socket takes it, or one small chunk per tick of `everyMs`.
          while (!req.destroyed && req.write(chunk)) {
            written += chunk.length;
            if (everyMs > 0) break;
          }
          if (!req.destroyed) {
            if (everyMs > 0) timer = setTimeout(pump, everyMs);
            else req.once('drain', pump);
          }
        };
        pump();
      });
    }

    it('a client that trickles the small rest of a refused body is cut off after discardTimeoutMs', async () => {
      const app = await start({ ...limits, discardTimeoutMs: 300 });
      const started = Date.now();
      // 200 KiB announced: a rest small enough to be read and dropped, but it never comes.
      const sent = await sendForever(app, Buffer.alloc(16, 0x78), 20, {
        'content-length': 200 * 1024,
      });
      expect(sent.status).toBe(400);
      // Generous: the bound is 300 ms; a busy machine may take far longer, never forever.
      expect(Date.now() - started).toBeLessThan(15_000);
    }, 30_000);

    it('a client that floods a refused chunked body forever is cut off', async () => {
      const app = await start({
        ...limits,
        maxDiscardBytes: 256 * 1024,
        discardTimeoutMs: 600_000,
      });
      const sent = await sendForever(app, Buffer.alloc(64 * 1024, 0x78), 0);
      expect(sent.status).toBe(400);
      // Closed once the answer was written (or past 256 KiB dropped), not by the timer;
      // kernel buffers on both sides hold a few MiB of what the client wrote.
      expect(sent.written).toBeLessThan(64 * 1024 * 1024);
    }, 30_000);
  });
}
