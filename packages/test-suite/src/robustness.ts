import { Agent, request as httpRequest } from 'node:http';
import type { BatchOptions } from '@batch/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RunningApp } from './testApp.js';

/** A request as the robustness run sends it: the bytes, how they are framed and split. */
interface Shot {
  kind: string;
  contentType: string;
  body: Buffer;
  /** Content-Length, or chunked (no length). */
  chunked: boolean;
  /** Where the body is cut into writes, as fractions of its length. */
  cuts: number[];
  /** How fast-check prints it in a counterexample. */
  [fc.toStringMethod]: () => string;
}

const LIMITS: BatchOptions = {
  maxRequests: 5,
  maxBodyBytes: 32 * 1024,
  maxPartHeaderBytes: 512,
  // Small, so that both a rest that is read and dropped and one that closes occur.
  maxDiscardBytes: 16 * 1024,
};

const part = (head: string, body = '') =>
  `--b\r\nContent-Type: application/http\r\n\r\n${head}\r\n\r\n${body}\r\n`;

/** Good and bad batches of every kind the endpoint refuses, and a few it accepts. */
const shot: fc.Arbitrary<Shot> = fc
  .record({
    kind: fc.constantFrom(
      'ok-json',
      'ok-multipart',
      'too-large',
      'part-head',
      'early-400',
      'too-many',
      'bad-json',
      'wrong-type',
      'random-bytes',
    ),
    size: fc.integer({ min: 1, max: 96 * 1024 }),
    bytes: fc.uint8Array({ maxLength: 2048 }),
    chunked: fc.boolean(),
    cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }),
  })
  .map(({ kind, size, bytes, chunked, cuts }): Shot => {
    const multipart = 'multipart/mixed; boundary=b';
    const filler = 'x'.repeat(size);
    const shots: Record<string, [string, string | Uint8Array]> = {
      'ok-json': ['application/json', '{"requests":[{"path":"/echo/1"},{"path":"/echo/2"}]}'],
      'ok-multipart': [multipart, `${part('GET /echo/1 HTTP/1.1')}--b--\r\n`],
      'too-large': [
        multipart,
        `${part('POST /echo HTTP/1.1\r\nContent-Type: text/plain', filler)}--b--\r\n`,
      ],
      'part-head': [
        multipart,
        `${part(`GET /echo HTTP/1.1\r\nX-Big: ${'z'.repeat(600 + (size % 4000))}`)}--b\r\n${filler}--b--\r\n`,
      ],
      'early-400': [
        multipart,
        `${part('GET /echo HTTP/1.1\r\nBad Header Line')}--b\r\n${filler}--b--\r\n`,
      ],
      'too-many': [
        'application/json',
        JSON.stringify({
          requests: Array(6).fill({ path: '/echo', body: filler.slice(0, size % 4000) }),
        }),
      ],
      'bad-json': ['application/json', `{"requests": [${filler}`],
      'wrong-type': ['text/plain', filler],
      'random-bytes': [size % 2 === 0 ? 'application/json' : multipart, bytes],
    };
    const [contentType, body] = shots[kind]!;
    const framing = chunked ? 'chunked' : 'content-length';
    return {
      kind,
      contentType,
      body: Buffer.from(body),
      chunked,
      cuts: [...cuts].sort(),
      // A short counterexample: the kind, size and framing, not the bytes.
      [fc.toStringMethod]: () => `${kind}(${Buffer.byteLength(body)} bytes, ${framing})`,
    };
  });

/** Sends `shot` through `agent`, written in pieces; resolves with the answer's status. */
function fire(agent: Agent, app: RunningApp, s: Shot): Promise<number> {
  const url = new URL(app.url);
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: '/batch',
        agent,
        headers: s.chunked
          ? { 'content-type': s.contentType }
          : { 'content-type': s.contentType, 'content-length': s.body.length },
      },
      (res) => {
        answered = true;
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    // An error after the answer arrived is the server closing a refused upload: allowed.
    req.on('error', (error) => {
      if (!answered) reject(error);
    });
    const writeFrom = async (at: number, cuts: number[]) => {
      for (const cut of cuts) {
        const to = Math.floor(cut * s.body.length);
        if (to <= at) continue;
        if (req.destroyed) return;
        req.write(s.body.subarray(at, to));
        at = to;
        await new Promise((r) => setImmediate(r));
      }
      if (!req.destroyed) req.end(s.body.subarray(at));
    };
    void writeFrom(0, s.cuts);
  });
}

/** `GET /echo/next` through `agent`: the innocent request after a refused batch. */
function next(agent: Agent, app: RunningApp): Promise<number> {
  const url = new URL(app.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: '/echo/next', agent },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Which refusal comes first depends on how the bytes arrive; any of these is right. */
const REFUSED = [400, 413, 431];
/**
 * A JSON body may meet the app's own JSON parser first (`express.json()` mounted before
 * the batch route), which refuses by the app's rules: any error status.
 */
const REFUSED_JSON = [...REFUSED, 500];
const EXPECTED: Record<string, number[]> = {
  'ok-json': [200],
  'ok-multipart': [200],
  'too-large': [200, 413],
  'part-head': REFUSED,
  'early-400': REFUSED,
  'too-many': REFUSED_JSON,
  'bad-json': REFUSED_JSON,
  'wrong-type': [415],
  'random-bytes': REFUSED_JSON,
};

/**
 * The robustness run: random good and bad batches — every kind of refusal, bodies of any
 * size, with or without a length, written in random pieces — on one keep-alive
 * connection, each followed by an innocent `GET`. Not one request may meet a broken
 * connection. Seeded (`FC_SEED` overrides it; fast-check prints the seed of a failure).
 */
export function robustnessSuite(start: (batch: BatchOptions) => Promise<RunningApp>): void {
  describe('robustness: random refused batches on one keep-alive connection', () => {
    it('answers every batch and every request after it; no connection breaks', async () => {
      const app = await start(LIMITS);
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      const seen = new Set<string>();
      try {
        await fc.assert(
          fc.asyncProperty(fc.array(shot, { minLength: 1, maxLength: 4 }), async (shots) => {
            for (const s of shots) {
              const status = await fire(agent, app, s);
              expect(EXPECTED[s.kind], `${s.kind} answered ${status}`).toContain(status);
              expect(await next(agent, app)).toBe(200);
              seen.add(s.kind);
            }
          }),
          { numRuns: 40, seed: Number(process.env.FC_SEED ?? 20261127), endOnFailure: true },
        );
      } finally {
        agent.destroy();
      }
      expect(seen.size).toBe(Object.keys(EXPECTED).length);
    }, 120_000);
  });
}
