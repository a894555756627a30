import { describe, expect, it } from 'vitest';
import {
  type BatchFormat,
  createBatchHandler,
  type DispatchContext,
  type Dispatcher,
  decodeBatchResponse,
  encodeBatchRequest,
  type HeaderList,
  type SubRequestInit,
  type SubResponse,
} from './index.js';
import { bytes, collect, decoder } from './testing.js';

// SPEC §3 "Failures at a glance" and §7 "Preferences of the batch request".

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The streamed bodies made, and how many were read to their end. */
interface StreamLog {
  read: number;
  bodies: AsyncGenerator<Uint8Array>[];
}

/** Every streamed body is closed (cancelled or ended): pulling it again yields nothing. */
async function allClosed(log: StreamLog): Promise<boolean> {
  for (const body of log.bodies) if (!(await body.next()).done) return false;
  return log.bodies.length > 0;
}

/**
 * `/created` 201 with Location, ETag, Last-Modified, Content-Location and a JSON body;
 * `/missing` 404 problem; `/empty` 204; `/bin` bytes; `/stream` a streamed body;
 * `/slow/<ms>` 200 after `ms`.
 */
function app(log: StreamLog, seen: DispatchContext[] = [], prefers: string[] = []): Dispatcher {
  return async (request, context) => {
    seen.push(context);
    const prefer = request.headers.find(([name]) => name.toLowerCase() === 'prefer');
    if (prefer !== undefined) prefers.push(prefer[1]);
    const path = request.target;
    if (path.startsWith('/slow/')) {
      await sleep(Number(path.slice(6)));
      return { status: 200, headers: [['Content-Type', 'text/plain']], body: bytes('slow') };
    }
    if (path === '/created')
      return {
        status: 201,
        headers: [
          ['Location', '/articles/7'],
          ['ETag', '"v7"'],
          ['Last-Modified', 'Tue, 01 Dec 2026 10:00:00 GMT'],
          ['Content-Location', '/articles/7'],
          ['Content-Type', 'application/json; charset=utf-8'],
          ['Content-Length', '9'],
          ['Content-Encoding', 'identity'],
          ['X-Request-Id', 'r7'],
        ],
        body: bytes('{"id":7}'),
      };
    if (path === '/missing')
      return {
        status: 404,
        headers: [['Content-Type', 'application/problem+json']],
        body: bytes('{"title":"Not Found"}'),
      };
    if (path === '/empty') return { status: 204, headers: [['X-Kept', 'yes']], body: null };
    if (path === '/bin')
      return {
        status: 200,
        headers: [
          ['Content-Type', 'application/octet-stream'],
          ['Content-Range', 'bytes 0-3/4'],
        ],
        body: new Uint8Array([0, 1, 2, 255]),
      };
    if (path === '/stream') {
      const body = (async function* () {
        yield bytes('{"a":');
        await sleep(5);
        yield bytes('1}');
        log.read++;
      })();
      log.bodies.push(body);
      return { status: 200, headers: [['Content-Type', 'application/json']], body };
    }
    return { status: 500, headers: [], body: null };
  };
}

async function send(
  format: BatchFormat,
  requests: SubRequestInit[],
  extra: HeaderList,
  dispatch: Dispatcher,
) {
  const encoded = encodeBatchRequest(format, requests);
  const output = await createBatchHandler({ dispatch }).handle({
    method: 'POST',
    path: '/batch',
    headers: [['host', 'x'], ['content-type', encoded.contentType], ...extra],
    body: encoded.body,
  });
  return { output, text: decoder.decode(await collect(output.body)) };
}

const MINIMAL: HeaderList = [['Prefer', 'return=minimal']];
const ITEMS: SubRequestInit[] = [
  { method: 'POST', target: '/created' },
  { target: '/missing' },
  { method: 'DELETE', target: '/empty' },
  { target: '/bin' },
  { target: '/stream' },
];

describe('"failed" (SPEC §3)', () => {
  it('a streamed JSON answer ends with the failed positions, computed as items are written', async () => {
    const log: StreamLog = { read: 0, bodies: [] };
    const { output, text } = await send(
      'json',
      [{ target: '/missing' }, { target: '/slow/60' }, { target: '/nope' }, { target: '/bin' }],
      [],
      app(log),
    );
    // The answer streamed (not settled whole) and still ends with "failed".
    expect(output.headers).toEqual([['content-type', 'application/json']]);
    expect(text.endsWith('],"failed":[0,2]}')).toBe(true);
    expect(JSON.parse(text).failed).toEqual([0, 2]);
  });

  it('a 424 is a failure too; nothing failed is []', async () => {
    const log: StreamLog = { read: 0, bodies: [] };
    const failing = await send(
      'json',
      [{ target: '/missing', id: 'a' }, { target: '/bin', dependsOn: ['a'] }, { target: '/bin' }],
      [],
      app(log),
    );
    expect(JSON.parse(failing.text).responses.map((r: { status: number }) => r.status)).toEqual([
      404, 424, 200,
    ]);
    expect(JSON.parse(failing.text).failed).toEqual([0, 1]);
    expect(
      JSON.parse((await send('json', [{ target: '/bin' }], [], app(log))).text).failed,
    ).toEqual([]);
  });
});

describe('Prefer: return=minimal (SPEC §7)', () => {
  it('JSON: answers < 400 carry status and kept headers only; ≥ 400 stay whole; Preference-Applied', async () => {
    const log: StreamLog = { read: 0, bodies: [] };
    const { output, text } = await send('json', ITEMS, MINIMAL, app(log));
    expect(output.headers).toContainEqual(['preference-applied', 'return=minimal']);
    const answer = JSON.parse(text);
    expect(answer.failed).toEqual([1]);
    const [created, missing, empty, bin, stream] = answer.responses;
    expect(created).toEqual({
      status: 201,
      path: '/created',
      headers: {
        Location: '/articles/7',
        ETag: '"v7"',
        'Last-Modified': 'Tue, 01 Dec 2026 10:00:00 GMT',
        'Content-Location': '/articles/7',
        'X-Request-ID': 'r7',
        'Server-Timing': expect.stringMatching(/^batch;dur=/),
      },
    });
    expect(missing).toMatchObject({
      status: 404,
      headers: { 'Content-Type': 'application/problem+json' },
      body: { title: 'Not Found' },
    });
    expect(Object.keys(empty)).toEqual(['status', 'path', 'headers']);
    expect(empty.headers['X-Kept']).toBe('yes');
    expect(bin).not.toHaveProperty('body');
    expect(bin).not.toHaveProperty('bodyEncoding');
    expect(Object.keys(bin.headers)).toEqual(['Server-Timing']);
    expect(stream).not.toHaveProperty('body');
    // The streamed body was cancelled, never read.
    expect(log.read).toBe(0);
    expect(await allClosed(log)).toBe(true);
  });

  it('JSON Lines: each line minimal too', async () => {
    const log: StreamLog = { read: 0, bodies: [] };
    const { output, text } = await send(
      'json',
      ITEMS,
      [...MINIMAL, ['accept', 'application/jsonl']],
      app(log),
    );
    expect(output.headers).toContainEqual(['preference-applied', 'return=minimal']);
    const lines = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { index: number; body?: unknown; headers: object });
    expect(lines.map((line) => line.index).sort()).toEqual([0, 1, 2, 3, 4]);
    for (const line of lines) expect('body' in line).toBe(line.index === 1);
    expect(text).not.toContain('"failed"');
  });

  it('multipart: status line and kept headers, Content-Length: 0; a failed item whole', async () => {
    const log: StreamLog = { read: 0, bodies: [] };
    const { output, text } = await send('multipart', ITEMS, MINIMAL, app(log));
    expect(output.headers).toContainEqual(['preference-applied', 'return=minimal']);
    const parts = await decodeBatchResponse({
      contentType: output.headers[0]![1],
      body: bytes(text),
    });
    expect(parts.map((part) => part.status)).toEqual([201, 404, 204, 200, 200]);
    for (const index of [0, 2, 3, 4]) {
      const part = parts[index]!;
      expect(part.body).toHaveLength(0);
      const names = part.headers.map(([name]) => name.toLowerCase());
      expect(names).not.toContain('content-type');
      expect(names).not.toContain('content-range');
      expect(names).not.toContain('content-encoding');
      expect(part.headers).toContainEqual(['Content-Length', '0']);
    }
    expect(parts[0]!.headers).toContainEqual(['Location', '/articles/7']);
    expect(decoder.decode(parts[1]!.body)).toBe('{"title":"Not Found"}');
    expect(text).toContain('HTTP/1.1 201 Created\r\nLocation: /articles/7\r\n');
    expect(log.read).toBe(0);
    expect(await allClosed(log)).toBe(true);
  });

  it('the dispatcher is told, and Prefer is still passed on, without respond-async', async () => {
    const log: StreamLog = { read: 0, bodies: [] };
    const seen: DispatchContext[] = [];
    const prefers: string[] = [];
    await send(
      'json',
      [{ target: '/bin' }],
      [['Prefer', 'respond-async, return=minimal; x=1']],
      app(log, seen, prefers),
    );
    expect(seen.map((context) => context.returnMinimal)).toEqual([true]);
    expect(prefers).toEqual(['return=minimal; x=1']);
    await send('json', [{ target: '/bin' }], [], app(log, seen, prefers));
    expect(seen[1]!.returnMinimal).toBe(false);
  });

  it.each([['return=representation'], ['return-minimal'], ['return="minimal']])(
    'Prefer: %s → whole answers, no Preference-Applied, no failure',
    async (value) => {
      const log: StreamLog = { read: 0, bodies: [] };
      const { output, text } = await send('json', ITEMS, [['Prefer', value]], app(log));
      expect(output.status).toBe(200);
      expect(output.headers.map(([name]) => name)).not.toContain('preference-applied');
      const answer = JSON.parse(text);
      expect(answer.responses[0].body).toEqual({ id: 7 });
      expect(answer.responses[4].body).toEqual({ a: 1 });
      expect(log.read).toBe(1);
    },
  );

  it('a streamed body of a dispatcher that ignores returnMinimal is cancelled as soon as the item answers', async () => {
    let cancelled = false;
    const neverEnds: SubResponse = {
      status: 200,
      headers: [],
      body: {
        [Symbol.asyncIterator]: () => ({
          next: () => new Promise<IteratorResult<Uint8Array>>(() => {}),
          return: async () => {
            cancelled = true;
            return { done: true, value: undefined };
          },
        }),
      },
    };
    const { text } = await send('json', [{ target: '/x' }], MINIMAL, async () => neverEnds);
    expect(cancelled).toBe(true);
    expect(JSON.parse(text).responses[0]).not.toHaveProperty('body');
  });
});
