import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BatchFormat,
  type BatchHandler,
  type BatchHandlerOptions,
  type BatchItemInfo,
  type BatchOutput,
  ClientAbort,
  createBatchHandler,
  type DecodedSubResponse,
  type DispatchContext,
  type Dispatcher,
  decodeBatchResponse,
  encodeBatchRequest,
  type HeaderList,
  type SubRequest,
  type SubRequestInit,
  type SubResponse,
} from './index.js';
import { bytes, collect, decoder, FC_SEED } from './testing.js';

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

const HOST = 'api.example.com';
const FORMATS: BatchFormat[] = ['json', 'multipart'];

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

/** Resolves with `promise`'s value, or with 'timeout' after `ms` (the timer is cleared). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves true as soon as `signal` aborts, false if it has not after `ms`. */
function abortedWithin(signal: AbortSignal, ms: number): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve(true);
      },
      { once: true },
    );
  });
}

function header(headers: HeaderList, name: string): string | undefined {
  return headers.find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];
}

function headerValues(headers: HeaderList, name: string): string[] {
  return headers.filter(([key]) => key.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
}

function headerNames(headers: HeaderList): string[] {
  return headers.map(([name]) => name.toLowerCase()).sort();
}

function param(request: SubRequest, name: string): string | null {
  return new URL(request.target, 'http://x').searchParams.get(name);
}

function ok(body = '', status = 200, extra: HeaderList = []): SubResponse {
  return {
    status,
    headers: [['Content-Type', 'text/plain'], ...extra],
    body: bytes(body),
  };
}

interface Call {
  index: number;
  request: SubRequest;
  signal: AbortSignal;
}

type Respond = (
  request: SubRequest,
  context: DispatchContext,
) => SubResponse | Promise<SubResponse>;

/** A fake dispatcher that records every call, start/end events and the peak concurrency. */
function recorder(respond: Respond = (_request, { index }) => ok(`item ${index}`)) {
  const calls: Call[] = [];
  const events: string[] = [];
  const state = { running: 0, maxRunning: 0 };
  const dispatch: Dispatcher = async (request, context) => {
    calls.push({ index: context.index, request, signal: context.signal });
    state.running++;
    state.maxRunning = Math.max(state.maxRunning, state.running);
    events.push(`start ${context.index}`);
    try {
      return await respond(request, context);
    } finally {
      state.running--;
      events.push(`end ${context.index}`);
    }
  };
  return { dispatch, calls, events, state, indexes: () => calls.map((call) => call.index) };
}

function handlerWith(dispatch: Dispatcher, options: Partial<BatchHandlerOptions> = {}) {
  return createBatchHandler({ ...options, dispatch });
}

interface SendOptions {
  path?: string;
  headers?: HeaderList;
  signal?: AbortSignal;
}

function sendRaw(
  handler: BatchHandler,
  contentType: string | undefined,
  body: Uint8Array | AsyncIterable<Uint8Array>,
  options: SendOptions = {},
): Promise<BatchOutput> {
  const headers: HeaderList = [['Host', HOST]];
  if (contentType !== undefined) headers.push(['Content-Type', contentType]);
  headers.push(...(options.headers ?? []));
  return handler.handle({
    method: 'POST',
    path: options.path ?? '/batch',
    headers,
    body,
    signal: options.signal,
  });
}

function send(
  handler: BatchHandler,
  format: BatchFormat,
  requests: SubRequestInit[],
  options: SendOptions = {},
): Promise<BatchOutput> {
  const encoded = encodeBatchRequest(format, requests);
  return sendRaw(handler, encoded.contentType, encoded.body, options);
}

function sendJson(
  handler: BatchHandler,
  document: unknown,
  options: SendOptions = {},
): Promise<BatchOutput> {
  return sendRaw(handler, 'application/json', bytes(JSON.stringify(document)), options);
}

/** Reads a 200 batch answer into its sub-responses. */
async function read(output: BatchOutput): Promise<DecodedSubResponse[]> {
  expect(output.status).toBe(200);
  return decodeBatchResponse({
    contentType: header(output.headers, 'content-type'),
    body: output.body,
  });
}

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors: Array<{ pointer?: string; part?: number; detail: string }>;
}

/** Reads an endpoint error: `application/problem+json` with the given status. */
async function readProblem(output: BatchOutput, status: number): Promise<Problem> {
  expect(output.status).toBe(status);
  expect(header(output.headers, 'content-type')).toBe('application/problem+json');
  const problem = JSON.parse(decoder.decode(await collect(output.body))) as Problem;
  expect(problem.status).toBe(status);
  expect(typeof problem.type).toBe('string');
  expect(typeof problem.title).toBe('string');
  expect(typeof problem.detail).toBe('string');
  expect(Array.isArray(problem.errors)).toBe(true);
  return problem;
}

/** The parsed problem+json body of a sub-response. */
function subProblem(response: DecodedSubResponse): Record<string, unknown> {
  expect(header(response.headers, 'content-type')).toBe('application/problem+json');
  return JSON.parse(decoder.decode(response.body)) as Record<string, unknown>;
}

function text(response: DecodedSubResponse): string {
  return decoder.decode(response.body);
}

function items(count: number, make: (index: number) => SubRequestInit): SubRequestInit[] {
  return Array.from({ length: count }, (_, index) => make(index));
}

/** A dispatcher answer carrying the item's index in a header, after `delay` ms. */
async function delayed(request: SubRequest, context: DispatchContext): Promise<SubResponse> {
  const delay = Number(param(request, 'delay') ?? 0);
  if (delay > 0) await sleep(delay);
  return ok(`item ${context.index}`, 200, [['X-Index', String(context.index)]]);
}

/** Looks for a stack trace or a file path in a body. */
function expectNoStackTrace(body: string): void {
  expect(body).not.toMatch(/^\s*at\s/m);
  expect(body).not.toMatch(/\bat\s+\S+\s+\(/);
  expect(body).not.toMatch(/\.(ts|js|mjs|cjs):\d+/);
  expect(body).not.toMatch(/file:\/\/|node:internal|\/work\/|node_modules/);
  expect(body).not.toContain('\\n    at ');
}

// ---------------------------------------------------------------------------------------
// 1. Ordering and concurrency
// ---------------------------------------------------------------------------------------

describe('order and concurrency', () => {
  const combos = FORMATS.flatMap((format) => [1, 4, 16].map((n) => [format, n] as const));

  it.each(combos)(
    '%s, concurrency %i: answers in request order, at most n running, n reached',
    async (format, concurrency) => {
      const { dispatch, state, indexes, events } = recorder(delayed);
      const handler = handlerWith(dispatch, { concurrency });
      const count = 40;
      const delays = Array.from({ length: count }, () => Math.floor(Math.random() * 8));
      const output = await send(
        handler,
        format,
        delays.map((delay, index) => ({ target: `/items/${index}?delay=${delay}` })),
      );
      const responses = await read(output);
      expect(responses).toHaveLength(count);
      expect(responses.map((response) => header(response.headers, 'x-index'))).toEqual(
        delays.map((_, index) => String(index)),
      );
      expect(responses.map(text)).toEqual(delays.map((_, index) => `item ${index}`));
      expect(responses.every((response) => response.status === 200)).toBe(true);
      expect([...indexes()].sort((a, b) => a - b)).toEqual(delays.map((_, index) => index));
      expect(state.maxRunning).toBeLessThanOrEqual(concurrency);
      expect(state.maxRunning).toBe(concurrency);
      if (concurrency === 1) {
        // strictly sequential, in request order
        expect(events).toEqual(delays.flatMap((_, index) => [`start ${index}`, `end ${index}`]));
      }
    },
  );

  it('starts items in request order even when later ones would finish first', async () => {
    const { dispatch, indexes } = recorder(delayed);
    const handler = handlerWith(dispatch, { concurrency: 3 });
    const delays = [15, 1, 1, 10, 0, 5, 0, 0];
    const responses = await read(
      await send(
        handler,
        'json',
        delays.map((delay, index) => ({ target: `/i/${index}?delay=${delay}` })),
      ),
    );
    expect(indexes()).toEqual(delays.map((_, index) => index));
    expect(responses.map((response) => response.path)).toEqual(
      delays.map((_, index) => `/i/${index}`),
    );
  });

  it('rejects a bad concurrency at creation', () => {
    const { dispatch } = recorder();
    expect(() => createBatchHandler({ dispatch, concurrency: 0 })).toThrow(TypeError);
    expect(() => createBatchHandler({ dispatch, concurrency: 1.5 })).toThrow(TypeError);
  });
});

// ---------------------------------------------------------------------------------------
// 2. dependsOn
// ---------------------------------------------------------------------------------------

describe('dependsOn', () => {
  const before = (events: string[], a: string, b: string) => {
    expect(events).toContain(a);
    expect(events).toContain(b);
    expect(events.indexOf(a)).toBeLessThan(events.indexOf(b));
  };

  it('a chain a → b → c runs in order with concurrency 16; independent items do not wait', async () => {
    const { dispatch, events } = recorder(delayed);
    const handler = handlerWith(dispatch, { concurrency: 16 });
    const responses = await read(
      await send(handler, 'json', [
        { id: 'a', target: '/a?delay=30' },
        { id: 'b', target: '/b?delay=10', dependsOn: ['a'] },
        { id: 'c', target: '/c', dependsOn: ['b'] },
        { id: 'd', target: '/d' },
      ]),
    );
    expect(responses.map((response) => [response.id, response.status])).toEqual([
      ['a', 200],
      ['b', 200],
      ['c', 200],
      ['d', 200],
    ]);
    before(events, 'end 0', 'start 1');
    before(events, 'end 1', 'start 2');
    // d depends on nothing: it ran while a was still running
    before(events, 'start 3', 'end 0');
  });

  it('fan-in: c waits for both a and b, which run at the same time', async () => {
    const { dispatch, events } = recorder(delayed);
    const handler = handlerWith(dispatch, { concurrency: 16 });
    const responses = await read(
      await send(handler, 'json', [
        { id: 'a', target: '/a?delay=30' },
        { id: 'b', target: '/b?delay=5' },
        { id: 'c', target: '/c', dependsOn: ['a', 'b'] },
      ]),
    );
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200]);
    before(events, 'start 1', 'end 0');
    before(events, 'end 0', 'start 2');
    before(events, 'end 1', 'start 2');
  });

  it.each([1, 16])(
    'concurrency %i: a failed dependency answers 424 without dispatching, transitively',
    async (concurrency) => {
      const { dispatch, indexes } = recorder((request, { index }) =>
        request.target.startsWith('/fail') ? ok('nope', 500) : ok(`item ${index}`),
      );
      const handler = handlerWith(dispatch, { concurrency });
      const responses = await read(
        await send(handler, 'json', [
          { id: 'a', target: '/fail' },
          { id: 'b', target: '/b', dependsOn: ['a'] },
          { id: 'c', target: '/c', dependsOn: ['b'] },
          { id: 'd', target: '/d' },
          { id: 'e', target: '/e', dependsOn: ['d'] },
          { id: 'f', target: '/f', dependsOn: ['d', 'c'] },
        ]),
      );
      expect(responses.map((response) => response.status)).toEqual([500, 424, 424, 200, 200, 424]);
      expect([...indexes()].sort()).toEqual([0, 3, 4]);
      for (const index of [1, 2, 5]) {
        const problem = subProblem(responses[index]!);
        expect(problem.status).toBe(424);
      }
      expect(responses.map((response) => response.id)).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    },
  );

  it('status 399 is not a failure, 400 is', async () => {
    const { dispatch, indexes } = recorder((request) =>
      ok('', Number(param(request, 'status') ?? 200)),
    );
    const handler = handlerWith(dispatch, { concurrency: 4 });
    const responses = await read(
      await send(handler, 'json', [
        { id: 'a', target: '/a?status=399' },
        { id: 'b', target: '/b', dependsOn: ['a'] },
        { id: 'c', target: '/c?status=400' },
        { id: 'd', target: '/d', dependsOn: ['c'] },
      ]),
    );
    expect(responses.map((response) => response.status)).toEqual([399, 200, 400, 424]);
    expect([...indexes()].sort()).toEqual([0, 1, 2]);
  });

  it('a dependency that throws fails its dependents', async () => {
    const calls: number[] = [];
    const dispatch: Dispatcher = async (_request, { index }) => {
      calls.push(index);
      if (index === 0) throw new Error('boom');
      return ok();
    };
    const responses = await read(
      await send(handlerWith(dispatch), 'json', [
        { id: 'a', target: '/a' },
        { id: 'b', target: '/b', dependsOn: ['a'] },
      ]),
    );
    expect(responses.map((response) => response.status)).toEqual([500, 424]);
    expect(calls).toEqual([0]);
  });

  it('an unknown or later id in dependsOn is a 400 and nothing runs', async () => {
    const { dispatch, calls } = recorder();
    const handler = handlerWith(dispatch);
    const unknown = await readProblem(
      await sendJson(handler, {
        requests: [
          { id: 'a', path: '/a' },
          { id: 'b', path: '/b', dependsOn: ['zz'] },
        ],
      }),
      400,
    );
    expect(unknown.errors.map((error) => error.pointer)).toEqual(['/requests/1/dependsOn/0']);
    const later = await readProblem(
      await sendJson(handler, {
        requests: [
          { id: 'a', path: '/a', dependsOn: ['b'] },
          { id: 'b', path: '/b' },
        ],
      }),
      400,
    );
    expect(later.errors.map((error) => error.pointer)).toEqual(['/requests/0/dependsOn/0']);
    expect(calls).toHaveLength(0);
  });
});

// ---------------------------------------------------------------------------------------
// 3. onError
// ---------------------------------------------------------------------------------------

describe('onError', () => {
  it.each(FORMATS)(
    "%s, 'stop': after a failing status, later items answer 424 without running",
    async (format) => {
      const { dispatch, indexes } = recorder((request, { index }) =>
        request.target === '/bad' ? ok('nope', 404) : ok(`item ${index}`),
      );
      const handler = handlerWith(dispatch, { onError: 'stop' });
      const responses = await read(
        await send(handler, format, [
          { target: '/a' },
          { target: '/bad' },
          { target: '/c' },
          { target: '/d' },
        ]),
      );
      expect(responses.map((response) => response.status)).toEqual([200, 404, 424, 424]);
      expect(indexes()).toEqual([0, 1]);
      expect(subProblem(responses[2]!).status).toBe(424);
      expect(subProblem(responses[3]!).status).toBe(424);
    },
  );

  it.each([
    ['a sync throw', 'sync'],
    ['a rejected promise', 'async'],
  ] as const)("'stop': %s stops the batch too", async (_name, how) => {
    const calls: number[] = [];
    const dispatch: Dispatcher = (_request, { index }) => {
      calls.push(index);
      if (index === 1) {
        if (how === 'sync') throw new Error('sync boom');
        return Promise.reject(new Error('async boom'));
      }
      return Promise.resolve(ok());
    };
    const handler = handlerWith(dispatch, { onError: 'stop' });
    const responses = await read(
      await send(
        handler,
        'json',
        items(4, (index) => ({ target: `/x/${index}` })),
      ),
    );
    expect(responses.map((response) => response.status)).toEqual([200, 500, 424, 424]);
    expect(calls).toEqual([0, 1]);
  });

  it("'continue' (the default) runs every item whatever the others do", async () => {
    const calls: number[] = [];
    const dispatch: Dispatcher = async (_request, { index }) => {
      calls.push(index);
      if (index === 1) return ok('', 500);
      if (index === 2) throw new Error('boom');
      if (index === 3) return ok('', 404);
      return ok();
    };
    for (const options of [{}, { onError: 'continue' as const }]) {
      calls.length = 0;
      const responses = await read(
        await send(
          handlerWith(dispatch, options),
          'multipart',
          items(5, (index) => ({ target: `/x/${index}` })),
        ),
      );
      expect(responses.map((response) => response.status)).toEqual([200, 500, 500, 404, 200]);
      expect(calls).toEqual([0, 1, 2, 3, 4]);
    }
  });
});

// ---------------------------------------------------------------------------------------
// 4. Timeouts and the batch deadline
// ---------------------------------------------------------------------------------------

describe('per-item timeout and batch deadline', () => {
  it.each([1, 4])(
    'concurrency %i: a slow item answers 504 and its signal is aborted; others are unaffected',
    async (concurrency) => {
      const slowDone = deferred<{ abortedAfterTimeout: boolean; abortEvent: boolean }>();
      let slowFinished = false;
      // The slow dispatcher keeps running past the end of the batch: it returns only when the
      // test lets it (or after 5 s, so that a batch that waited for it fails, not hangs).
      const letSlowReturn = deferred();
      const { dispatch, indexes } = recorder(async (request, context) => {
        if (request.target !== '/slow') return delayed(request, context);
        const abortEvent = await abortedWithin(context.signal, 5000);
        await within(letSlowReturn.promise, 5000);
        const abortedAfterTimeout = context.signal.aborted;
        slowFinished = true;
        slowDone.resolve({ abortedAfterTimeout, abortEvent });
        return ok('too late');
      });
      // Margins for a busy machine: /c's 20 ms sleep against a 200 ms timeout (10×); the
      // batch ends at about 220 ms, far under 2000, while waiting for the slow item takes 5 s.
      const handler = handlerWith(dispatch, { concurrency, timeoutMs: 200 });
      const started = performance.now();
      const responses = await read(
        await send(handler, 'json', [
          { target: '/a' },
          { target: '/slow' },
          { target: '/c?delay=20' },
          { target: '/d' },
        ]),
      );
      const elapsed = performance.now() - started;
      expect(responses.map((response) => response.status)).toEqual([200, 504, 200, 200]);
      const problem = subProblem(responses[1]!);
      expect(problem.status).toBe(504);
      // the batch did not wait for the slow dispatcher to give up
      expect(slowFinished).toBe(false);
      expect(elapsed).toBeLessThan(2000);
      letSlowReturn.resolve();
      const slow = await slowDone.promise;
      expect(slow.abortEvent).toBe(true);
      expect(slow.abortedAfterTimeout).toBe(true);
      expect([...indexes()].sort()).toEqual([0, 1, 2, 3]);
    },
  );

  it('the timeout is per item, not for the batch: ten 40 ms items under a 250 ms timeout', async () => {
    const { dispatch, calls } = recorder(delayed);
    // One after another: together they take 400 ms or more, longer than the timeout of each
    // (a sleep is never shorter), while each is 6× under it (a margin for a busy machine).
    const handler = handlerWith(dispatch, { timeoutMs: 250, concurrency: 1 });
    const started = performance.now();
    const responses = await read(
      await send(
        handler,
        'multipart',
        items(10, (index) => ({ target: `/i/${index}?delay=40` })),
      ),
    );
    expect(performance.now() - started).toBeGreaterThan(250);
    expect(responses.map((response) => response.status)).toEqual(Array(10).fill(200));
    expect(calls.every((call) => !call.signal.aborted)).toBe(true);
  });

  it('a timed-out item does not abort the signals of the other items', async () => {
    const { dispatch, calls } = recorder(async (request, context) => {
      if (request.target === '/slow') await abortedWithin(context.signal, 5000);
      return delayed(request, context);
    });
    const handler = handlerWith(dispatch, { concurrency: 3, timeoutMs: 300 });
    const responses = await read(
      await send(handler, 'json', [
        { target: '/a?delay=5' },
        { target: '/slow' },
        { target: '/c' },
      ]),
    );
    expect(responses.map((response) => response.status)).toEqual([200, 504, 200]);
    const signals = new Map(calls.map((call) => [call.index, call.signal.aborted]));
    expect(signals.get(0)).toBe(false);
    expect(signals.get(1)).toBe(true);
    expect(signals.get(2)).toBe(false);
  });

  it.each(FORMATS)(
    '%s: the deadline aborts the running item (504) and never starts the rest (504)',
    async (format) => {
      const running = deferred<boolean>();
      const { dispatch, indexes } = recorder(async (request, context) => {
        if (request.target === '/slow') {
          running.resolve(await abortedWithin(context.signal, 5000));
          return ok('too late');
        }
        return delayed(request, context);
      });
      // One after another: /c and /d wait for /slow, and the deadline comes first.
      const handler = handlerWith(dispatch, { deadlineMs: 300, concurrency: 1 });
      const started = performance.now();
      const responses = await read(
        await send(handler, format, [
          { target: '/a?delay=10' },
          { target: '/slow' },
          { target: '/c' },
          { target: '/d' },
        ]),
      );
      expect(performance.now() - started).toBeLessThan(2500);
      expect(responses.map((response) => response.status)).toEqual([200, 504, 504, 504]);
      for (const response of responses.slice(1)) expect(subProblem(response).status).toBe(504);
      expect(indexes()).toEqual([0, 1]);
      expect(await running.promise).toBe(true);
    },
  );

  it('the deadline with concurrency 2 and a per-item timeout: both running items see the abort', async () => {
    const { dispatch, calls, indexes } = recorder(async (_request, context) => {
      await abortedWithin(context.signal, 5000);
      return ok();
    });
    const handler = handlerWith(dispatch, { concurrency: 2, deadlineMs: 300, timeoutMs: 5000 });
    const responses = await read(
      await send(
        handler,
        'json',
        items(5, (index) => ({ target: `/i/${index}` })),
      ),
    );
    expect(responses.map((response) => response.status)).toEqual([504, 504, 504, 504, 504]);
    expect(indexes()).toEqual([0, 1]);
    expect(calls.every((call) => call.signal.aborted)).toBe(true);
  });

  it('rejects a non-positive timeout or deadline at creation', () => {
    const { dispatch } = recorder();
    expect(() => createBatchHandler({ dispatch, timeoutMs: 0 })).toThrow(TypeError);
    expect(() => createBatchHandler({ dispatch, deadlineMs: -1 })).toThrow(TypeError);
  });
});

// ---------------------------------------------------------------------------------------
// 5. Client disconnect
// ---------------------------------------------------------------------------------------

describe('client disconnect', () => {
  it('makes the signal when first read: read after the abort, it is aborted', async () => {
    const client = new AbortController();
    const seen: Array<{ aborted: boolean; same: boolean; reason: unknown }> = [];
    // \`signal\` is an accessor of the context: read twice, the same signal.
    const handler = handlerWith(async (_request, context) => {
      client.abort(new Error('gone'));
      const first = context.signal;
      seen.push({
        aborted: first.aborted,
        same: first === context.signal,
        reason: (context.signal.reason as Error).message,
      });
      return ok('answered');
    });
    await read(
      await send(
        handler,
        'json',
        items(1, () => ({ target: '/a' })),
        { signal: client.signal },
      ),
    );
    expect(seen).toEqual([{ aborted: true, same: true, reason: 'gone' }]);
  });

  it.each([
    ['no timeout', undefined],
    ['a timeout', 60_000],
  ] as const)(
    'with %s, context.aborts tells a running item of a ClientAbort the adapter aborts, as its signal does',
    async (_name, timeoutMs) => {
      const client = new ClientAbort();
      const seen: string[] = [];
      const handler = handlerWith(
        async (_request, context) => {
          const { aborts } = context;
          const told = new Promise<void>((resolve) =>
            aborts.addEventListener('abort', () => resolve(), { once: true }),
          );
          seen.push(`before ${aborts.aborted}`);
          client.abort(new Error('gone'));
          await told;
          seen.push(`after ${aborts.aborted} ${(aborts.reason as Error).message}`);
          seen.push(`signal ${context.signal.aborted}`);
          return ok('answered');
        },
        timeoutMs === undefined ? {} : { timeoutMs },
      );
      await read(
        await handler.handle({
          method: 'POST',
          path: '/batch',
          headers: [
            ['Host', HOST],
            ['Content-Type', 'application/json'],
          ],
          body: bytes(JSON.stringify({ requests: [{ method: 'GET', path: '/a' }] })),
          signal: client,
        }),
      );
      expect(seen).toEqual(['before false', 'after true gone', 'signal true']);
    },
  );

  it.each([
    ['handle', 'json'],
    ['handle', 'multipart'],
    ['fetch', 'json'],
    ['fetch', 'multipart'],
  ] as const)(
    '%s, %s: items after the abort are never started; the running one sees its signal aborted',
    async (via, format) => {
      const client = new AbortController();
      const sawAbort = deferred<boolean>();
      const { dispatch, indexes } = recorder(async (_request, { index, signal }) => {
        if (index === 2) {
          setTimeout(() => client.abort(), 10);
          sawAbort.resolve(await abortedWithin(signal, 1000));
          return ok('late');
        }
        return ok(`item ${index}`);
      });
      const handler = handlerWith(dispatch, { concurrency: 1 });
      const requests = items(6, (index) => ({ target: `/i/${index}` }));
      let responses: DecodedSubResponse[];
      if (via === 'handle') {
        responses = await read(await send(handler, format, requests, { signal: client.signal }));
      } else {
        const encoded = encodeBatchRequest(format, requests);
        const response = await handler.fetch(
          new Request(`http://${HOST}/batch`, {
            method: 'POST',
            headers: { 'content-type': encoded.contentType },
            body: new Uint8Array(encoded.body),
            signal: client.signal,
          }),
        );
        expect(response.status).toBe(200);
        responses = await decodeBatchResponse({
          contentType: response.headers.get('content-type'),
          body: new Uint8Array(await response.arrayBuffer()),
        });
      }
      expect(await sawAbort.promise).toBe(true);
      expect(indexes()).toEqual([0, 1, 2]);
      expect(responses).toHaveLength(6);
      expect(responses.slice(0, 2).map((response) => response.status)).toEqual([200, 200]);
      for (const response of responses.slice(2))
        expect(response.status).toBeGreaterThanOrEqual(400);
    },
  );

  it('a signal already aborted: nothing is dispatched', async () => {
    const { dispatch, calls } = recorder();
    const client = new AbortController();
    client.abort();
    const output = await send(
      handlerWith(dispatch),
      'json',
      items(3, () => ({ target: '/a' })),
      {
        signal: client.signal,
      },
    );
    // whatever the answer, nothing ran
    await collect(output.body);
    expect(calls).toHaveLength(0);
  });

  it('handle: a consumer that stops reading aborts running items and starts no more', async () => {
    const sawAbort = deferred<boolean>();
    const { dispatch, indexes } = recorder(async (_request, { index, signal }) => {
      // Answered after a timer: item 1 starts in a task of its own, before the consumer reads.
      if (index === 0) return sleep(20).then(() => ok('first'));
      const aborted = await abortedWithin(signal, 5000);
      if (index === 1) sawAbort.resolve(aborted);
      return ok();
    });
    const output = await send(
      handlerWith(dispatch, { concurrency: 1 }),
      'json',
      items(6, (index) => ({ target: `/i/${index}` })),
    );
    for await (const chunk of output.body) {
      expect(decoder.decode(chunk)).toContain('first');
      break;
    }
    expect(await within(sawAbort.promise, 2000)).toBe(true);
    await sleep(10);
    expect(indexes()).toEqual([0, 1]);
  });

  it('fetch: cancelling the response body aborts the running item and starts no more', async () => {
    const started = deferred();
    const sawAbort = deferred<boolean>();
    const { dispatch, indexes } = recorder(async (_request, { index, signal }) => {
      if (index === 0) return ok('first');
      if (index === 1) started.resolve();
      const aborted = await abortedWithin(signal, 5000);
      if (index === 1) sawAbort.resolve(aborted);
      return ok();
    });
    const encoded = encodeBatchRequest(
      'json',
      items(6, (index) => ({ target: `/i/${index}` })),
    );
    const response = await handlerWith(dispatch, { concurrency: 1 }).fetch(
      new Request(`http://${HOST}/batch`, {
        method: 'POST',
        headers: { 'content-type': encoded.contentType },
        body: new Uint8Array(encoded.body),
      }),
    );
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(decoder.decode(first.value)).toContain('first');
    expect(await within(started.promise, 2000)).not.toBe('timeout');
    await reader.cancel();
    // the running item is aborted promptly, not left to run to its end
    expect(await within(sawAbort.promise, 2000)).toBe(true);
    await sleep(10);
    expect(indexes()).toEqual([0, 1]);
  });
});

// ---------------------------------------------------------------------------------------
// 6. A dispatcher that throws
// ---------------------------------------------------------------------------------------

describe('a dispatcher that throws', () => {
  const cases = FORMATS.flatMap((format) => [
    [format, 'sync'] as const,
    [format, 'async'] as const,
  ]);

  it.each(cases)(
    '%s, %s throw: that item answers 500 problem+json without a stack trace, the batch is 200',
    async (format, how) => {
      const error = new Error('boom at /srv/app/secret.ts:12:3');
      const dispatch: Dispatcher = (_request, { index }) => {
        if (index === 1) {
          if (how === 'sync') throw error;
          return Promise.reject(error);
        }
        return Promise.resolve(ok(`item ${index}`));
      };
      const output = await send(
        handlerWith(dispatch, { concurrency: 2 }),
        format,
        items(3, (index) => ({ target: `/i/${index}` })),
      );
      expect(output.status).toBe(200);
      const responses = await read(output);
      expect(responses.map((response) => response.status)).toEqual([200, 500, 200]);
      expect(text(responses[0]!)).toBe('item 0');
      expect(text(responses[2]!)).toBe('item 2');
      const body = text(responses[1]!);
      const problem = subProblem(responses[1]!);
      expect(problem.status).toBe(500);
      expect(typeof problem.title).toBe('string');
      expectNoStackTrace(body);
      expect(body).not.toContain('secret');
      for (const line of (error.stack ?? '').split('\n').slice(1)) {
        expect(body).not.toContain(line.trim());
      }
    },
  );

  it('a dispatcher that throws a non-Error value is a 500 too', async () => {
    const dispatch: Dispatcher = (_request, { index }) => {
      if (index === 0) return Promise.reject(undefined);
      if (index === 1) throw 'a string';
      return Promise.resolve(ok());
    };
    const responses = await read(
      await send(
        handlerWith(dispatch),
        'json',
        items(3, (index) => ({ target: `/i/${index}` })),
      ),
    );
    expect(responses.map((response) => response.status)).toEqual([500, 500, 200]);
  });
});

// ---------------------------------------------------------------------------------------
// 7. Header inheritance
// ---------------------------------------------------------------------------------------

describe('header inheritance', () => {
  const outer: HeaderList = [
    ['Authorization', 'Bearer outer'],
    ['Cookie', 'sid=1'],
    ['Accept-Language', 'fr'],
    ['Content-Length', '12345'],
    ['Content-Language', 'fr'],
    ['Connection', 'keep-alive, X-Private'],
    ['X-Private', 'hop'],
    ['Keep-Alive', 'timeout=5'],
    ['Transfer-Encoding', 'chunked'],
    ['Expect', '100-continue'],
    ['TE', 'trailers'],
    ['Upgrade', 'h2c'],
    ['Proxy-Authorization', 'Basic cHJveHk='],
    ['X-Custom', 'outer'],
  ];

  it.each(FORMATS)(
    '%s: inherits end-to-end headers only; Host is the outer one',
    async (format) => {
      const { dispatch, calls } = recorder();
      await read(
        await send(handlerWith(dispatch), format, [{ target: '/items' }], { headers: outer }),
      );
      const headers = calls[0]!.request.headers;
      expect(headerNames(headers)).toEqual([
        'accept-language',
        'authorization',
        'cookie',
        'host',
        'x-custom',
      ]);
      expect(headerValues(headers, 'host')).toEqual([HOST]);
      expect(headerValues(headers, 'authorization')).toEqual(['Bearer outer']);
      expect(headerValues(headers, 'cookie')).toEqual(['sid=1']);
      expect(headerValues(headers, 'accept-language')).toEqual(['fr']);
      expect(headerValues(headers, 'x-custom')).toEqual(['outer']);
    },
  );

  it('JSON: item headers > defaults.headers > inherited; Host stays the outer one', async () => {
    const { dispatch, calls } = recorder();
    await read(
      await sendJson(
        handlerWith(dispatch),
        {
          defaults: { headers: { 'X-Custom': 'defaults', 'Accept-Language': 'de' } },
          requests: [
            { path: '/a', headers: { 'X-Custom': 'item' } },
            { path: '/b' },
            { path: '/c', headers: { Host: 'evil.example', Authorization: '' } },
            { path: '/d', headers: { cookie: 'sid=2', 'accept-language': 'es' } },
          ],
        },
        { headers: outer },
      ),
    );
    const [a, b, c, d] = calls.map((call) => call.request.headers);
    expect(headerValues(a!, 'x-custom')).toEqual(['item']);
    expect(headerValues(a!, 'accept-language')).toEqual(['de']);
    expect(headerValues(a!, 'authorization')).toEqual(['Bearer outer']);
    expect(headerValues(a!, 'host')).toEqual([HOST]);

    expect(headerValues(b!, 'x-custom')).toEqual(['defaults']);
    expect(headerValues(b!, 'accept-language')).toEqual(['de']);
    expect(headerValues(b!, 'cookie')).toEqual(['sid=1']);

    // an explicit empty Authorization overrides the inherited one
    expect(headerValues(c!, 'authorization')).toEqual(['']);
    expect(headerValues(c!, 'host')).toEqual([HOST]);

    // names match case-insensitively
    expect(headerValues(d!, 'cookie')).toEqual(['sid=2']);
    expect(headerValues(d!, 'accept-language')).toEqual(['es']);
  });

  it('multipart: item headers win over inherited ones, an empty Authorization too, Host never', async () => {
    const { dispatch, calls } = recorder();
    await read(
      await send(
        handlerWith(dispatch),
        'multipart',
        [
          {
            target: '/a',
            headers: [
              ['X-Custom', 'item'],
              ['Host', 'evil.example'],
              ['Authorization', ''],
            ],
          },
        ],
        { headers: outer },
      ),
    );
    const headers = calls[0]!.request.headers;
    expect(headerValues(headers, 'x-custom')).toEqual(['item']);
    expect(headerValues(headers, 'host')).toEqual([HOST]);
    expect(headerValues(headers, 'authorization')).toEqual(['']);
    expect(headerValues(headers, 'cookie')).toEqual(['sid=1']);
  });

  it('a JSON item with a body gets its own Content-Type, never the batch one', async () => {
    const { dispatch, calls } = recorder();
    await read(
      await sendJson(
        handlerWith(dispatch),
        {
          requests: [
            { method: 'POST', path: '/a', body: { x: 1 } },
            { method: 'POST', path: '/b', body: 'hi', headers: { 'Content-Type': 'text/plain' } },
          ],
        },
        { headers: outer },
      ),
    );
    expect(headerValues(calls[0]!.request.headers, 'content-type')).toEqual(['application/json']);
    expect(headerValues(calls[1]!.request.headers, 'content-type')).toEqual(['text/plain']);
    for (const call of calls)
      expect(header(call.request.headers, 'content-length')).not.toBe('12345');
  });

  it("inheritHeaders 'none': only the item's own headers and Host", async () => {
    const { dispatch, calls } = recorder();
    await read(
      await send(
        handlerWith(dispatch, { inheritHeaders: 'none' }),
        'json',
        [{ target: '/a' }, { target: '/b', headers: [['X-Own', '1']] }],
        { headers: outer },
      ),
    );
    expect(headerNames(calls[0]!.request.headers)).toEqual(['host']);
    expect(headerValues(calls[0]!.request.headers, 'host')).toEqual([HOST]);
    expect(headerNames(calls[1]!.request.headers)).toEqual(['host', 'x-own']);
  });

  it('inheritHeaders as a list: only those names (any case), never the forbidden ones', async () => {
    const { dispatch, calls } = recorder();
    await read(
      await send(
        handlerWith(dispatch, {
          inheritHeaders: ['AUTHORIZATION', 'x-custom', 'Content-Type', 'Connection', 'TE', 'Host'],
        }),
        'multipart',
        [{ target: '/a' }],
        { headers: outer },
      ),
    );
    const headers = calls[0]!.request.headers;
    expect(headerNames(headers)).toEqual(['authorization', 'host', 'x-custom']);
    expect(headerValues(headers, 'host')).toEqual([HOST]);
  });

  it('inheritHeaders as a predicate on lower-case names', async () => {
    const { dispatch, calls } = recorder();
    const asked: string[] = [];
    await read(
      await send(
        handlerWith(dispatch, {
          inheritHeaders: (name) => {
            asked.push(name);
            return name.startsWith('x-') || name === 'content-length' || name === 'upgrade';
          },
        }),
        'json',
        [{ target: '/a' }],
        { headers: outer },
      ),
    );
    // X-Private is named by Connection: hop-by-hop, whatever the predicate says
    expect(headerNames(calls[0]!.request.headers)).toEqual(['host', 'x-custom']);
    expect(asked).toContain('x-custom');
    expect(asked.every((name) => name === name.toLowerCase())).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------
// 8. Limits and endpoint errors
// ---------------------------------------------------------------------------------------

describe('limits', () => {
  it.each(FORMATS)(
    '%s: maxRequests — one more is 400, exactly the limit is fine',
    async (format) => {
      const { dispatch, calls } = recorder();
      const handler = handlerWith(dispatch, { maxRequests: 3 });
      await readProblem(
        await send(
          handler,
          format,
          items(4, (index) => ({ target: `/i/${index}` })),
        ),
        400,
      );
      expect(calls).toHaveLength(0);
      const responses = await read(
        await send(
          handler,
          format,
          items(3, (index) => ({ target: `/i/${index}` })),
        ),
      );
      expect(responses).toHaveLength(3);
    },
  );

  it('maxRequests defaults to 100', async () => {
    const { dispatch, calls } = recorder();
    await readProblem(
      await send(
        handlerWith(dispatch),
        'json',
        items(101, () => ({ target: '/a' })),
      ),
      400,
    );
    expect(calls).toHaveLength(0);
  });

  it.each(FORMATS)('%s: maxBodyBytes → 413', async (format) => {
    const { dispatch, calls } = recorder();
    const handler = handlerWith(dispatch, { maxBodyBytes: 200 });
    await readProblem(
      await send(handler, format, [{ method: 'POST', target: '/a', body: 'x'.repeat(300) }]),
      413,
    );
    expect(calls).toHaveLength(0);
  });

  it('maxBodyBytes on a streamed body that never ends: 413, read no further than needed', async () => {
    const { dispatch, calls } = recorder();
    let pulled = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      yield bytes('{"requests":[{"path":"/a","body":"');
      for (;;) {
        pulled++;
        yield bytes('x'.repeat(100));
      }
    }
    const output = await sendRaw(
      handlerWith(dispatch, { maxBodyBytes: 1000 }),
      'application/json',
      endless(),
    );
    await readProblem(output, 413);
    expect(pulled).toBeLessThan(20);
    expect(calls).toHaveLength(0);
  });

  it.each(FORMATS)('%s: maxPartHeaderBytes → 431', async (format) => {
    const { dispatch, calls } = recorder();
    const handler = handlerWith(dispatch, { maxPartHeaderBytes: 256 });
    const problem = await readProblem(
      await send(handler, format, [
        { target: '/a' },
        { target: '/b', headers: [['X-Big', 'y'.repeat(1000)]] },
      ]),
      431,
    );
    expect(problem.errors[0]).toMatchObject(
      format === 'json' ? { pointer: '/requests/1/headers' } : { part: 2 },
    );
    expect(calls).toHaveLength(0);
  });

  it.each(FORMATS)('%s: maxItemBodyBytes → 413 naming the item', async (format) => {
    const { dispatch, calls } = recorder();
    const handler = handlerWith(dispatch, { maxItemBodyBytes: 16 });
    const problem = await readProblem(
      await send(handler, format, [
        { method: 'POST', target: '/a', body: 'small', headers: [['Content-Type', 'text/plain']] },
        {
          method: 'POST',
          target: '/b',
          body: 'z'.repeat(100),
          headers: [['Content-Type', 'text/plain']],
        },
      ]),
      413,
    );
    expect(problem.errors[0]).toMatchObject(
      format === 'json' ? { pointer: '/requests/1/body' } : { part: 2 },
    );
    expect(calls).toHaveLength(0);
  });

  it('a limit that is not a non-negative integer fails at creation', () => {
    const { dispatch } = recorder();
    expect(() => createBatchHandler({ dispatch, maxRequests: -1 })).toThrow(TypeError);
    expect(() => createBatchHandler({ dispatch, maxBodyBytes: 1.5 })).toThrow(TypeError);
  });
});

describe('endpoint errors', () => {
  it.each(['GET', 'PUT', 'DELETE', 'HEAD'])('%s → 405 with Allow: POST', async (method) => {
    const { dispatch, calls } = recorder();
    const handler = handlerWith(dispatch);
    const output = await handler.handle({
      method,
      path: '/batch',
      headers: [['Host', HOST]],
      body: new Uint8Array(0),
    });
    expect(header(output.headers, 'allow')).toBe('POST');
    await readProblem(output, 405);

    const response = await handler.fetch(new Request(`http://${HOST}/batch`, { method }));
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(calls).toHaveLength(0);
  });

  it.each([
    ['text/plain', 'hello'],
    ['application/xml', '<batch/>'],
    [undefined, '{"requests":[]}'],
    ['multipart/form-data; boundary=x', '--x--'],
  ])('Content-Type %s → 415 listing the accepted types', async (contentType, body) => {
    const { dispatch, calls } = recorder();
    const problem = await readProblem(
      await sendRaw(handlerWith(dispatch), contentType, bytes(body)),
      415,
    );
    expect(problem.detail).toContain('multipart/mixed');
    expect(problem.detail).toContain('application/json');
    expect(calls).toHaveLength(0);
  });

  it("a format left out of 'formats' is a 415", async () => {
    const { dispatch, calls } = recorder();
    const problem = await readProblem(
      await send(handlerWith(dispatch, { formats: ['json'] }), 'multipart', [{ target: '/a' }]),
      415,
    );
    expect(problem.detail).toContain('application/json');
    expect(calls).toHaveLength(0);
  });

  it('application/json with a charset is JSON', async () => {
    const { dispatch } = recorder();
    const responses = await read(
      await sendRaw(
        handlerWith(dispatch),
        'application/json; charset=utf-8',
        bytes('{"requests":[{"path":"/a"}]}'),
      ),
    );
    expect(responses).toHaveLength(1);
  });

  it('JSON: an unknown member → 400 naming its pointer', async () => {
    const { dispatch, calls } = recorder();
    const problem = await readProblem(
      await sendJson(handlerWith(dispatch), {
        requests: [{ path: '/a' }, { path: '/b', methd: 'POST' }],
      }),
      400,
    );
    expect(problem.errors.map((error) => error.pointer)).toEqual(['/requests/1/methd']);
    expect(calls).toHaveLength(0);
  });

  it('JSON: invalid syntax, no requests array → 400', async () => {
    const { dispatch, calls } = recorder();
    const handler = handlerWith(dispatch);
    await readProblem(await sendRaw(handler, 'application/json', bytes('{"requests":[')), 400);
    const missing = await readProblem(await sendJson(handler, { request: [] }), 400);
    expect(missing.errors.length).toBeGreaterThan(0);
    expect(calls).toHaveLength(0);
  });

  it('JSON: an empty batch answers {"responses":[],"failed":[]}', async () => {
    const { dispatch, calls } = recorder();
    const output = await sendJson(handlerWith(dispatch), { requests: [] });
    expect(output.status).toBe(200);
    expect(decoder.decode(await collect(output.body))).toBe('{"responses":[],"failed":[]}');
    expect(calls).toHaveLength(0);
  });

  it('multipart: a malformed part → 400 naming the part', async () => {
    const { dispatch, calls } = recorder();
    const body = [
      '--b',
      'Content-Type: application/http',
      '',
      'GET /a HTTP/1.1',
      '',
      '--b',
      'Content-Type: application/http',
      '',
      '',
      '--b--',
      '',
    ].join('\r\n');
    const problem = await readProblem(
      await sendRaw(handlerWith(dispatch), 'multipart/mixed; boundary=b', bytes(body)),
      400,
    );
    expect(problem.errors.map((error) => error.part)).toEqual([2]);
    expect(calls).toHaveLength(0);
  });

  it('multipart: a missing boundary or closing delimiter → 400', async () => {
    const { dispatch, calls } = recorder();
    const handler = handlerWith(dispatch);
    await readProblem(await sendRaw(handler, 'multipart/mixed', bytes('--b--\r\n')), 400);
    await readProblem(
      await sendRaw(
        handler,
        'multipart/mixed; boundary=b',
        bytes('--b\r\nContent-Type: application/http\r\n\r\nGET /a HTTP/1.1\r\n\r\n'),
      ),
      400,
    );
    expect(calls).toHaveLength(0);
  });

  it('an absolute target naming another host → 400', async () => {
    const { dispatch, calls } = recorder();
    const handler = handlerWith(dispatch);
    const problem = await readProblem(
      await sendJson(handler, { requests: [{ path: 'https://evil.example/a' }] }),
      400,
    );
    expect(problem.errors.map((error) => error.pointer)).toEqual(['/requests/0/path']);
    expect(calls).toHaveLength(0);
  });

  it('an endpoint error body never holds a stack trace', async () => {
    const { dispatch } = recorder();
    const output = await sendRaw(handlerWith(dispatch), 'application/json', bytes('{oops'));
    const body = decoder.decode(await collect(output.body));
    expect(output.status).toBe(400);
    expectNoStackTrace(body);
  });
});

// ---------------------------------------------------------------------------------------
// 9. Nesting guard
// ---------------------------------------------------------------------------------------

describe('no nesting', () => {
  const spellings = [
    '/batch',
    '/batch/',
    '/BATCH',
    '/./batch',
    '//batch',
    '/batch?x=1',
    '/x/../batch',
    '/%62atch',
    'batch',
  ];
  const cases = FORMATS.flatMap((format) => spellings.map((spelling) => [format, spelling]));

  it.each(cases)(
    '%s: an item aimed at %s (batch at /batch) → 400, nothing runs',
    async (format, spelling) => {
      const { dispatch, calls } = recorder();
      const problem = await readProblem(
        await send(handlerWith(dispatch), format as BatchFormat, [
          { target: '/ok' },
          { target: spelling! },
          { target: '/ok2' },
        ]),
        400,
      );
      expect(problem.errors[0]).toMatchObject(
        format === 'json' ? { pointer: '/requests/1/path' } : { part: 2 },
      );
      expect(calls).toHaveLength(0);
    },
  );

  it.each(['/batch', '/v1/batch', '/v1/Batch/', '/BATCH', 'batch', '/v1//batch?x=1'])(
    'batch at /v1/batch: an item aimed at %s → 400',
    async (spelling) => {
      const { dispatch, calls } = recorder();
      await readProblem(
        await send(handlerWith(dispatch), 'json', [{ target: spelling }], { path: '/v1/batch' }),
        400,
      );
      expect(calls).toHaveLength(0);
    },
  );

  it('look-alike routes are not the batch route', async () => {
    const { dispatch, calls } = recorder();
    const responses = await read(
      await send(
        handlerWith(dispatch),
        'json',
        [{ target: '/batches' }, { target: '/batch2' }, { target: '/v1/batch' }],
        { path: '/batch' },
      ),
    );
    expect(responses.map((response) => response.status)).toEqual([200, 200, 200]);
    expect(calls.map((call) => call.request.target)).toEqual(['/batches', '/batch2', '/v1/batch']);
  });

  it('the batchPath option names the route for the guard', async () => {
    const { dispatch, calls } = recorder();
    await readProblem(
      await send(
        handlerWith(dispatch, { batchPath: '/api/$batch' }),
        'json',
        [{ target: '$batch' }],
        {
          path: '/api/$batch?x=1',
        },
      ),
      400,
    );
    expect(calls).toHaveLength(0);
  });
});

// ---------------------------------------------------------------------------------------
// 10. Targets through handle
// ---------------------------------------------------------------------------------------

describe('targets', () => {
  async function targets(
    batchPath: string,
    sent: string[],
    options: Partial<BatchHandlerOptions> = {},
    format: BatchFormat = 'json',
  ): Promise<{ dispatched: string[]; paths: Array<string | undefined> }> {
    const { dispatch, calls } = recorder();
    const responses = await read(
      await send(
        handlerWith(dispatch, options),
        format,
        sent.map((target) => ({ target })),
        { path: batchPath },
      ),
    );
    return {
      dispatched: calls.map((call) => call.request.target),
      paths: responses.map((response) => response.path),
    };
  }

  it.each(FORMATS)('%s: batch at /v1/batch prefixes /v1 where it is missing', async (format) => {
    const { dispatched } = await targets(
      '/v1/batch',
      ['/articles', '/v1/articles', '/v10/x', 'People?$top=2', '/v1/articles?x=1'],
      {},
      format,
    );
    expect(dispatched).toEqual([
      '/v1/articles',
      '/v1/articles',
      '/v1/v10/x',
      '/v1/People?$top=2',
      '/v1/articles?x=1',
    ]);
  });

  it('JSON responses echo the dispatched path without its query', async () => {
    const { paths } = await targets('/v1/batch', ['/articles?x=1', 'People?$top=2', '/v1/a']);
    expect(paths).toEqual(['/v1/articles', '/v1/People', '/v1/a']);
  });

  it('a batch posted with a query string still has base /v1', async () => {
    const { dispatched } = await targets('/v1/batch?debug=1', ['/articles']);
    expect(dispatched).toEqual(['/v1/articles']);
  });

  it('batch at /batch: nothing is prefixed, relative targets are rooted', async () => {
    const { dispatched } = await targets('/batch', ['/articles', '/v1/x', 'People?$top=2']);
    expect(dispatched).toEqual(['/articles', '/v1/x', '/People?$top=2']);
  });

  it('batch at /odata/$batch: base /odata', async () => {
    const { dispatched } = await targets(
      '/odata/$batch',
      ['People?$top=2', '/odata/People', '/People'],
      {},
      'multipart',
    );
    expect(dispatched).toEqual(['/odata/People?$top=2', '/odata/People', '/odata/People']);
  });

  it("basePath: '/' turns prefixing off", async () => {
    const { dispatched } = await targets('/v1/batch', ['/articles', 'People'], { basePath: '/' });
    expect(dispatched).toEqual(['/articles', '/People']);
  });

  it("basePath: '/api' overrides the base", async () => {
    const { dispatched } = await targets('/v1/batch', ['/articles', '/api/x', 'People', '/v1/y'], {
      basePath: '/api',
    });
    expect(dispatched).toEqual(['/api/articles', '/api/x', '/api/People', '/api/v1/y']);
  });

  it("basePath with a trailing slash ('/api/') is the same base as '/api'", async () => {
    const { dispatched } = await targets('/v1/batch', ['/articles', '/api/x', 'People'], {
      basePath: '/api/',
    });
    expect(dispatched).toEqual(['/api/articles', '/api/x', '/api/People']);
  });

  it('an absolute-form target naming the batch host is dispatched by its path', async () => {
    const { dispatched } = await targets(
      '/v1/batch',
      [`http://${HOST}/v1/articles?x=1`, `https://${HOST}/articles`],
      {},
      'multipart',
    );
    expect(dispatched).toEqual(['/v1/articles?x=1', '/v1/articles']);
  });
});

// ---------------------------------------------------------------------------------------
// 11. Both formats, handle and fetch; observability
// ---------------------------------------------------------------------------------------

describe('formats, handle and fetch', () => {
  it("fetch: init.body, init.headers and init.signal stand in for the Request's own", async () => {
    const { dispatch, calls } = recorder();
    const encoded = encodeBatchRequest('json', [{ target: '/a' }, { target: '/b' }]);
    const request = new Request(`http://${HOST}/batch`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' }, // what init.headers replaces
      body: 'not a batch',
    });
    const response = await handlerWith(dispatch).fetch(request, {
      body: encoded.body,
      headers: [
        ['Content-Type', encoded.contentType],
        ['Authorization', 'Bearer from-init'],
      ],
      signal: new AbortController().signal,
    });
    expect(response.status).toBe(200);
    expect(calls.map((call) => call.request.target)).toEqual(['/a', '/b']);
    expect(calls[0]!.request.headers).toContainEqual(['Authorization', 'Bearer from-init']);
    expect(request.bodyUsed).toBe(false);
  });

  it('fetch: init.signal aborting stops the batch', async () => {
    const controller = new AbortController();
    const { dispatch, calls } = recorder(async (_request, { signal }) => {
      controller.abort();
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      return ok('late');
    });
    const encoded = encodeBatchRequest(
      'json',
      items(3, (index) => ({ target: `/i/${index}` })),
    );
    const response = await handlerWith(dispatch, { concurrency: 1 }).fetch(
      new Request(`http://${HOST}/batch`, { method: 'POST' }),
      {
        body: encoded.body,
        headers: [['Content-Type', encoded.contentType]],
        signal: controller.signal,
      },
    );
    await response.arrayBuffer().catch(() => {});
    expect(calls).toHaveLength(1);
    expect(calls[0]!.signal.aborted).toBe(true);
  });

  it('fetch: a refusal before the end of init.body hands the rest to init.onUnreadBody', async () => {
    const { dispatch } = recorder();
    const plans: unknown[] = [];
    async function* body() {
      yield bytes('{"requests":[');
      yield bytes('x'.repeat(64));
      yield bytes(']}');
    }
    const response = await handlerWith(dispatch, { maxBodyBytes: 32 }).fetch(
      new Request(`http://${HOST}/batch`, { method: 'POST' }),
      {
        body: body(),
        headers: [
          ['Content-Type', 'application/json'],
          ['Content-Length', '80'],
        ],
        onUnreadBody: (plan) => plans.push(plan),
      },
    );
    expect(response.status).toBe(413);
    expect(plans).toEqual([{ action: 'discard', maxBytes: 1024 * 1024, timeoutMs: 5000 }]);
  });

  async function viaFetch(
    handler: BatchHandler,
    format: BatchFormat,
    requests: SubRequestInit[],
    path = '/batch',
  ): Promise<DecodedSubResponse[]> {
    const encoded = encodeBatchRequest(format, requests);
    const response = await handler.fetch(
      new Request(`http://${HOST}${path}`, {
        method: 'POST',
        headers: { 'content-type': encoded.contentType, authorization: 'Bearer fetch' },
        body: new Uint8Array(encoded.body),
      }),
    );
    expect(response.status).toBe(200);
    const contentType = response.headers.get('content-type');
    expect(contentType).toMatch(format === 'json' ? /^application\/json/ : /^multipart\/mixed;/);
    return decodeBatchResponse({ contentType, body: new Uint8Array(await response.arrayBuffer()) });
  }

  const vias = ['handle', 'fetch'] as const;

  it.each(vias)(
    'JSON via %s: id echoed, path without query, Server-Timing on every item',
    async (via) => {
      const { dispatch, calls } = recorder((request, { index }) =>
        request.target.includes('fail') ? ok('', 503) : ok(`item ${index}`, 201),
      );
      const handler = handlerWith(dispatch);
      const requests: SubRequestInit[] = [
        { id: 'first', target: '/articles?sort=desc' },
        { target: '/v1/plain' },
        { id: 'failing', target: '/fail' },
        { id: 'dep', target: '/dep', dependsOn: ['failing'] },
      ];
      const responses =
        via === 'handle'
          ? await read(await send(handler, 'json', requests, { path: '/v1/batch' }))
          : await viaFetch(handler, 'json', requests, '/v1/batch');
      expect(responses.map((response) => response.status)).toEqual([201, 201, 503, 424]);
      expect(responses.map((response) => response.id)).toEqual([
        'first',
        undefined,
        'failing',
        'dep',
      ]);
      expect(responses.map((response) => response.path)).toEqual([
        '/v1/articles',
        '/v1/plain',
        '/v1/fail',
        '/v1/dep',
      ]);
      expect(text(responses[0]!)).toBe('item 0');
      for (const response of responses) {
        expect(header(response.headers, 'server-timing')).toMatch(/dur=\d+(\.\d+)?/);
      }
      expect(calls.map((call) => call.request.target)).toEqual([
        '/v1/articles?sort=desc',
        '/v1/plain',
        '/v1/fail',
      ]);
      if (via === 'fetch') {
        expect(headerValues(calls[0]!.request.headers, 'host')).toEqual([HOST]);
        expect(headerValues(calls[0]!.request.headers, 'authorization')).toEqual(['Bearer fetch']);
      }
    },
  );

  it.each(vias)(
    'multipart via %s: Content-ID mirrored, Server-Timing on every item',
    async (via) => {
      const { dispatch } = recorder((_request, { index }) =>
        index === 2 ? ok('missing', 404) : ok(`item ${index}`),
      );
      const handler = handlerWith(dispatch, { concurrency: 3 });
      const requests: SubRequestInit[] = [
        { target: '/a', contentId: '<a>' },
        { target: '/b', contentId: 'b' },
        { target: '/c', contentId: '<uuid + 1>' },
        { target: '/d' },
      ];
      const responses =
        via === 'handle'
          ? await read(await send(handler, 'multipart', requests))
          : await viaFetch(handler, 'multipart', requests);
      expect(responses.map((response) => response.contentId)).toEqual([
        '<response-a>',
        'response-b',
        '<response-uuid + 1>',
        undefined,
      ]);
      expect(responses.map((response) => response.status)).toEqual([200, 200, 404, 200]);
      expect(responses.map(text)).toEqual(['item 0', 'item 1', 'missing', 'item 3']);
      for (const response of responses) {
        expect(header(response.headers, 'server-timing')).toMatch(/dur=\d+(\.\d+)?/);
        expect(response.statusText).not.toBe('');
      }
    },
  );

  it('sub-response headers are kept, Set-Cookie lines included', async () => {
    const dispatch: Dispatcher = async () => ({
      status: 200,
      headers: [
        ['Content-Type', 'text/plain'],
        ['Set-Cookie', 'a=1'],
        ['Set-Cookie', 'b=2'],
        ['ETag', '"x"'],
      ],
      body: bytes('hi'),
    });
    for (const format of FORMATS) {
      const [response] = await read(await send(handlerWith(dispatch), format, [{ target: '/a' }]));
      expect(headerValues(response!.headers, 'set-cookie')).toEqual(['a=1', 'b=2']);
      expect(header(response!.headers, 'etag')).toBe('"x"');
    }
  });

  it('onItem is called once per item with method, path, status and duration', async () => {
    const infos: BatchItemInfo[] = [];
    const dispatch: Dispatcher = async (request) => {
      if (request.target.startsWith('/v1/slow')) {
        await sleep(25);
        return ok('', 201);
      }
      if (request.target.startsWith('/v1/bad')) return ok('', 500);
      return ok();
    };
    const handler = handlerWith(dispatch, {
      concurrency: 2,
      onItem: (info) => {
        infos.push(info);
      },
    });
    await read(
      await sendJson(
        handler,
        {
          requests: [
            { method: 'get', path: '/a?x=1' },
            { method: 'post', path: '/slow', body: { a: 1 } },
            { id: 'bad', method: 'DELETE', path: '/bad' },
            { method: 'PATCH', path: 'rel', dependsOn: ['bad'] },
          ],
        },
        { path: '/v1/batch' },
      ),
    );
    expect(infos).toHaveLength(4);
    const byIndex = [...infos].sort((a, b) => a.index - b.index);
    expect(
      byIndex.map(({ index, method, path, status }) => ({ index, method, path, status })),
    ).toEqual([
      { index: 0, method: 'GET', path: '/v1/a', status: 200 },
      { index: 1, method: 'POST', path: '/v1/slow', status: 201 },
      { index: 2, method: 'DELETE', path: '/v1/bad', status: 500 },
      { index: 3, method: 'PATCH', path: '/v1/rel', status: 424 },
    ]);
    for (const info of infos) {
      expect(Number.isFinite(info.durationMs)).toBe(true);
      expect(info.durationMs).toBeGreaterThanOrEqual(0);
    }
    expect(byIndex[1]!.durationMs).toBeGreaterThanOrEqual(20);
    expect(byIndex[1]!.ran).toBe(true);
    expect(byIndex[3]!.ran).toBe(false);
  });

  it('aroundItem wraps each dispatch, with the item, its index and the batch', async () => {
    const seen: string[] = [];
    let depth = 0;
    const dispatch: Dispatcher = async (request) => {
      seen.push(`dispatch ${request.target} depth ${depth}`);
      return request.target.endsWith('/bad') ? ok('', 500) : ok();
    };
    const handler = handlerWith(dispatch, {
      concurrency: 1,
      aroundItem: async ({ request, index, batch }, run) => {
        seen.push(`before ${index} ${request.method} ${request.target} ${batch.path}`);
        depth += 1;
        const answer = await run();
        depth -= 1;
        seen.push(`after ${index} ${answer.status}`);
        return { ...answer, headers: [...answer.headers, ['x-wrapped', String(index)]] };
      },
    });
    const responses = await read(
      await sendJson(
        handler,
        {
          requests: [
            { id: 'a', method: 'GET', path: '/a' },
            { id: 'bad', method: 'GET', path: '/bad' },
            { method: 'GET', path: '/c', dependsOn: ['bad'] },
          ],
        },
        { path: '/v1/batch' },
      ),
    );
    expect(seen).toEqual([
      'before 0 GET /v1/a /v1/batch',
      'dispatch /v1/a depth 1',
      'after 0 200',
      'before 1 GET /v1/bad /v1/batch',
      'dispatch /v1/bad depth 1',
      'after 1 500',
    ]);
    expect(responses.map((response) => response.status)).toEqual([200, 500, 424]);
    expect(responses.map((response) => header(response.headers, 'x-wrapped'))).toEqual([
      '0',
      '1',
      undefined,
    ]);
  });

  it('an aroundItem hook that throws makes its item answer 500, not the batch', async () => {
    const { dispatch } = recorder();
    const handler = handlerWith(dispatch, {
      aroundItem: async ({ index }, run) => {
        if (index === 1) throw new Error('hook');
        return run();
      },
    });
    const responses = await read(await send(handler, 'json', [{ target: '/a' }, { target: '/b' }]));
    expect(responses.map((response) => response.status)).toEqual([200, 500]);
  });

  it('a throwing onItem hook does not break the batch', async () => {
    const { dispatch } = recorder();
    const handler = handlerWith(dispatch, {
      onItem: () => {
        throw new Error('hook');
      },
    });
    const responses = await read(await send(handler, 'json', [{ target: '/a' }, { target: '/b' }]));
    expect(responses.map((response) => response.status)).toEqual([200, 200]);
  });

  it('the dispatcher learns the batch request and the item index', async () => {
    const contexts: DispatchContext[] = [];
    const dispatch: Dispatcher = async (_request, context) => {
      contexts.push(context);
      return ok();
    };
    await read(
      await send(handlerWith(dispatch), 'multipart', [{ target: '/a' }, { target: '/b' }], {
        path: '/v1/batch?x=1',
      }),
    );
    expect(contexts.map((context) => context.index)).toEqual([0, 1]);
    expect(contexts[0]!.batch).toMatchObject({
      method: 'POST',
      path: '/v1/batch?x=1',
      format: 'multipart',
    });
  });
});

// ---------------------------------------------------------------------------------------
// 12. Everything validated before the first item runs
// ---------------------------------------------------------------------------------------

describe('base64StringBodies (the Microsoft Graph convention for binary bodies)', () => {
  const graphItem = (contentType: string, body: string) => ({
    requests: [
      { id: '1', method: 'PUT', url: '/upload', headers: { 'content-type': contentType }, body },
    ],
  });

  it('off (SPEC §3): a string body is sent as its UTF-8 bytes', async () => {
    const { dispatch, calls } = recorder();
    await read(
      await sendJson(handlerWith(dispatch), graphItem('application/octet-stream', 'AAEC/w==')),
    );
    expect(decoder.decode(calls[0]!.request.body)).toBe('AAEC/w==');
  });

  it('on: a string body with a binary Content-Type is base64 (standard or URL-safe), no marker needed', async () => {
    const { dispatch, calls } = recorder();
    const handler = handlerWith(dispatch, { base64StringBodies: true });
    await read(await sendJson(handler, graphItem('application/octet-stream', 'AAEC/w==')));
    await read(await sendJson(handler, graphItem('image/png', 'AAEC_w')));
    expect([...calls[0]!.request.body]).toEqual([0, 1, 2, 255]);
    expect([...calls[1]!.request.body]).toEqual([0, 1, 2, 255]);
  });

  it('on: text and JSON bodies are unchanged', async () => {
    const { dispatch, calls } = recorder();
    const handler = handlerWith(dispatch, { base64StringBodies: true });
    await read(await sendJson(handler, graphItem('text/plain; charset=utf-8', 'AAEC/w==')));
    await read(await sendJson(handler, graphItem('application/json', 'AAEC/w==')));
    expect(decoder.decode(calls[0]!.request.body)).toBe('AAEC/w==');
    expect(decoder.decode(calls[1]!.request.body)).toBe('"AAEC/w=="');
  });

  it('on: a binary body that is not base64 is a 400 naming it, and nothing runs', async () => {
    const { dispatch, calls } = recorder();
    const handler = handlerWith(dispatch, { base64StringBodies: true });
    const problem = await readProblem(
      await sendJson(handler, graphItem('application/octet-stream', 'not base64!')),
      400,
    );
    expect(problem.errors).toEqual([
      {
        pointer: '/requests/0/body',
        detail: 'must be a base64 string (Content-Type application/octet-stream)',
      },
    ]);
    expect(calls).toHaveLength(0);
  });
});

describe('validate everything first', () => {
  it('JSON: the 3rd item has a bad method → 400 naming it, nothing dispatched', async () => {
    const { dispatch, calls } = recorder();
    const problem = await readProblem(
      await sendJson(handlerWith(dispatch, { concurrency: 4 }), {
        requests: [{ path: '/a' }, { path: '/b' }, { method: 'GE T', path: '/c' }, { path: '/d' }],
      }),
      400,
    );
    expect(problem.errors.map((error) => error.pointer)).toEqual(['/requests/2/method']);
    expect(calls).toHaveLength(0);
  });

  it('JSON: a missing path in the 3rd item names /requests/2/path', async () => {
    const { dispatch, calls } = recorder();
    const problem = await readProblem(
      await sendJson(handlerWith(dispatch), {
        requests: [{ path: '/a' }, { path: '/b' }, { method: 'GET' }],
      }),
      400,
    );
    expect(problem.errors.map((error) => error.pointer)).toEqual(['/requests/2/path']);
    expect(calls).toHaveLength(0);
  });

  it.each([
    ['a bad method', 'G(T /c HTTP/1.1\r\n'],
    ['no request line', '\r\n'],
    [
      'an inner Transfer-Encoding',
      'POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ],
    ['a CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\n\r\n'],
  ])(
    'multipart: the 3rd part has %s → 400 naming part 3, nothing dispatched',
    async (_name, message) => {
      const { dispatch, calls } = recorder();
      const part = (inner: string) => `--b\r\nContent-Type: application/http\r\n\r\n${inner}\r\n`;
      const body = `${part('GET /a HTTP/1.1\r\n')}${part('GET /b HTTP/1.1\r\n')}${part(message)}${part('GET /d HTTP/1.1\r\n')}--b--\r\n`;
      const problem = await readProblem(
        await sendRaw(
          handlerWith(dispatch, { concurrency: 4 }),
          'multipart/mixed; boundary=b',
          bytes(body),
        ),
        400,
      );
      expect(problem.errors.map((error) => error.part)).toEqual([3]);
      expect(calls).toHaveLength(0);
    },
  );

  it('a nested batch request in the last item stops the whole batch', async () => {
    const { dispatch, calls } = recorder();
    await readProblem(
      await send(handlerWith(dispatch), 'multipart', [
        { target: '/a' },
        { target: '/b' },
        { target: '/batch' },
      ]),
      400,
    );
    expect(calls).toHaveLength(0);
  });
});

// ---------------------------------------------------------------------------------------
// 13. Streaming
// ---------------------------------------------------------------------------------------

describe('streaming', () => {
  it.each(FORMATS)(
    'fetch, %s: a batch whose items all answer at once goes out whole, with its Content-Length',
    async (format) => {
      const { dispatch } = recorder();
      const encoded = encodeBatchRequest(
        format,
        items(30, (index) => ({ target: `/i/${index}` })),
      );
      const response = await handlerWith(dispatch).fetch(
        new Request(`http://${HOST}/batch`, {
          method: 'POST',
          headers: { 'content-type': encoded.contentType },
          body: new Uint8Array(encoded.body),
        }),
      );
      const body = new Uint8Array(await response.arrayBuffer());
      expect(response.headers.get('content-length')).toBe(String(body.length));
      const responses = await decodeBatchResponse({
        contentType: response.headers.get('content-type'),
        body,
      });
      expect(responses.map((answer) => decoder.decode(answer.body))).toEqual(
        Array.from({ length: 30 }, (_, index) => `item ${index}`),
      );
    },
  );

  it('fetch: a batch that waits on an item streams, without a Content-Length', async () => {
    const gate = deferred();
    const { dispatch } = recorder(async (_request, { index }) => {
      if (index === 1) await gate.promise;
      return ok(`item ${index}`);
    });
    const encoded = encodeBatchRequest(
      'json',
      items(3, (index) => ({ target: `/i/${index}` })),
    );
    const response = await handlerWith(dispatch).fetch(
      new Request(`http://${HOST}/batch`, {
        method: 'POST',
        headers: { 'content-type': encoded.contentType },
        body: new Uint8Array(encoded.body),
      }),
    );
    expect(response.headers.get('content-length')).toBeNull();
    const reader = response.body!.getReader();
    const first = await within(reader.read(), 500);
    if (first === 'timeout' || first.done) throw new Error('no first chunk before item 1 finished');
    expect(decoder.decode(first.value)).toContain('item 0');
    gate.resolve();
    let text = decoder.decode(first.value);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    expect(JSON.parse(text).responses).toHaveLength(3);
  });

  it.each(FORMATS)(
    '%s: answers ready together go out as one chunk (one socket write), in order',
    async (format) => {
      const { dispatch } = recorder();
      const output = await send(
        handlerWith(dispatch, { spreadStarts: false }),
        format,
        items(20, (index) => ({ target: `/i/${index}` })),
      );
      const chunks: Uint8Array[] = [];
      for await (const chunk of output.body) chunks.push(chunk);
      // Every answer is ready at once: a handful of chunks, not one (or more) per answer.
      expect(chunks.length).toBeLessThanOrEqual(4);
      const responses = await decodeBatchResponse({
        contentType: header(output.headers, 'content-type'),
        body: (async function* () {
          yield* chunks;
        })(),
      });
      expect(responses.map((response) => decoder.decode(response.body))).toEqual(
        Array.from({ length: 20 }, (_, index) => `item ${index}`),
      );
    },
  );

  it('lets reads that start together into the app one per task, as sockets would (SPEC §4 "Rate limits")', async () => {
    // A limiter that counts, then reads its count after an await (express-rate-limit's memory store).
    const counter = { hits: 0 };
    const seen: number[] = [];
    const limited = (spread: boolean) =>
      handlerWith(
        async () => {
          counter.hits++;
          await Promise.resolve();
          await Promise.resolve();
          seen.push(counter.hits);
          return counter.hits > 20 ? { status: 429, headers: [], body: null } : ok();
        },
        { spreadStarts: spread },
      );
    const statuses = async (spread: boolean) => {
      counter.hits = 0;
      seen.length = 0;
      const output = await send(
        limited(spread),
        'json',
        items(30, (i) => ({ target: `/i/${i}` })),
      );
      const parts = await decodeBatchResponse({
        contentType: header(output.headers, 'content-type'),
        body: output.body,
      });
      return parts.map((part) => part.status);
    };
    const spread = await statuses(true);
    expect(spread).toEqual([...Array(20).fill(200), ...Array(10).fill(429)]);
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    // Started together, every item reads the count after all 30 came in: all refused.
    expect(await statuses(false)).toEqual(Array(30).fill(429));
  });

  it.each(FORMATS)('%s: the first item is written before a later one is done', async (format) => {
    const gate = deferred();
    const { dispatch } = recorder(async (_request, { index }) => {
      if (index === 1) await gate.promise;
      return ok(`item-${index}`);
    });
    const output = await send(
      handlerWith(dispatch, { concurrency: 2 }),
      format,
      items(3, (index) => ({ target: `/i/${index}` })),
    );
    expect(output.status).toBe(200);
    const iterator = output.body[Symbol.asyncIterator]();
    const first = await within(iterator.next(), 500);
    expect(first).not.toBe('timeout');
    if (first === 'timeout' || first.done) throw new Error('no first chunk');
    const firstText = decoder.decode(first.value);
    expect(firstText).toContain('item-0');
    expect(firstText).not.toContain('item-1');
    gate.resolve();
    const chunks = [first.value];
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      chunks.push(next.value);
    }
    async function* replay(): AsyncGenerator<Uint8Array> {
      yield* chunks;
    }
    const responses = await decodeBatchResponse({
      contentType: header(output.headers, 'content-type'),
      body: replay(),
    });
    expect(responses.map(text)).toEqual(['item-0', 'item-1', 'item-2']);
  });

  it('fetch: the first item arrives before a later one is done', async () => {
    const gate = deferred();
    const { dispatch } = recorder(async (_request, { index }) => {
      if (index === 1) await gate.promise;
      return ok(`item-${index}`);
    });
    const encoded = encodeBatchRequest('json', [{ target: '/a' }, { target: '/b' }]);
    const response = await handlerWith(dispatch).fetch(
      new Request(`http://${HOST}/batch`, {
        method: 'POST',
        headers: { 'content-type': encoded.contentType },
        body: new Uint8Array(encoded.body),
      }),
    );
    const reader = response.body!.getReader();
    const first = await within(reader.read(), 500);
    if (first === 'timeout' || first.done) throw new Error('no first chunk before item 1 finished');
    expect(decoder.decode(first.value)).toContain('item-0');
    gate.resolve();
    for (;;) if ((await reader.read()).done) break;
  });

  it.each(FORMATS)(
    '%s, concurrency 2: a consumer that does not pull keeps the batch from running ahead',
    async (format) => {
      const { dispatch, calls } = recorder();
      const output = await send(
        handlerWith(dispatch, { concurrency: 2 }),
        format,
        items(20, (index) => ({ target: `/i/${index}` })),
      );
      const iterator = output.body[Symbol.asyncIterator]();
      const first = await iterator.next();
      expect(first.done).toBe(false);
      await sleep(40);
      // One run of ready answers taken by the consumer (at most 2 × concurrency), at most
      // 2 × concurrency in flight.
      expect(calls.length).toBeGreaterThanOrEqual(1);
      expect(calls.length).toBeLessThanOrEqual(2 * 2 + 2 * 2);
      // reading on runs the rest
      for (;;) if ((await iterator.next()).done) break;
      expect(calls).toHaveLength(20);
    },
  );

  it('fetch, concurrency 2: an unread response body holds the batch back', async () => {
    // Items that wait on a timer: a batch answered at once would be read whole up front.
    const { dispatch, calls } = recorder(async (_request, { index }) => {
      await sleep(1);
      return ok(`item ${index}`);
    });
    const encoded = encodeBatchRequest(
      'multipart',
      items(20, (index) => ({ target: `/i/${index}` })),
    );
    const response = await handlerWith(dispatch, { concurrency: 2 }).fetch(
      new Request(`http://${HOST}/batch`, {
        method: 'POST',
        headers: { 'content-type': encoded.contentType },
        body: new Uint8Array(encoded.body),
      }),
    );
    await sleep(40);
    // The stream pulls one run of ready answers (at most 2 × concurrency) ahead of its
    // reader; at most 2 × concurrency in flight.
    expect(calls.length).toBeLessThanOrEqual(2 * 2 + 2 * 2);
    const responses = await decodeBatchResponse({
      contentType: response.headers.get('content-type'),
      body: new Uint8Array(await response.arrayBuffer()),
    });
    expect(responses).toHaveLength(20);
    expect(calls).toHaveLength(20);
  });

  it.each(FORMATS)('%s: the request body may arrive in tiny chunks', async (format) => {
    const { dispatch, calls } = recorder();
    const encoded = encodeBatchRequest(format, [
      { method: 'POST', target: '/a', body: 'hello', headers: [['Content-Type', 'text/plain']] },
      { target: '/b?x=1' },
    ]);
    async function* trickle(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < encoded.body.length; i += 3) yield encoded.body.subarray(i, i + 3);
    }
    const responses = await read(
      await sendRaw(handlerWith(dispatch), encoded.contentType, trickle()),
    );
    expect(responses).toHaveLength(2);
    expect(calls.map((call) => [call.request.method, call.request.target])).toEqual([
      ['POST', '/a'],
      ['GET', '/b?x=1'],
    ]);
    expect(decoder.decode(calls[0]!.request.body)).toBe('hello');
  });
});

// ---------------------------------------------------------------------------------------
// 14. Property: order and exactly-once
// ---------------------------------------------------------------------------------------

describe('property', () => {
  it('any items, delays, statuses and concurrency: each answered once, in request order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            delay: fc.integer({ min: 0, max: 5 }),
            status: fc.integer({ min: 200, max: 599 }),
          }),
          { maxLength: 30 },
        ),
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom<BatchFormat>('json', 'multipart'),
        async (specs, concurrency, format) => {
          const counts = new Map<number, number>();
          const state = { running: 0, max: 0 };
          const dispatch: Dispatcher = async (request, { index }) => {
            counts.set(index, (counts.get(index) ?? 0) + 1);
            state.running++;
            state.max = Math.max(state.max, state.running);
            try {
              const delay = Number(param(request, 'delay'));
              if (delay > 0) await sleep(delay);
              const status = Number(param(request, 'status'));
              const empty = status === 204 || status === 304;
              return {
                status,
                headers: [
                  ['X-Index', String(index)],
                  ['Content-Type', 'text/plain'],
                ],
                body: empty ? null : bytes(`#${index}`),
              };
            } finally {
              state.running--;
            }
          };
          const responses = await read(
            await send(
              handlerWith(dispatch, { concurrency }),
              format,
              specs.map(({ delay, status }, index) => ({
                target: `/i/${index}?delay=${delay}&status=${status}`,
              })),
            ),
          );
          expect(responses.map((response) => response.status)).toEqual(
            specs.map((spec) => spec.status),
          );
          expect(responses.map((response) => header(response.headers, 'x-index'))).toEqual(
            specs.map((_, index) => String(index)),
          );
          expect(counts.size).toBe(specs.length);
          expect([...counts.values()].every((count) => count === 1)).toBe(true);
          expect(state.max).toBeLessThanOrEqual(concurrency);
        },
      ),
      { numRuns: 30, seed: FC_SEED },
    );
  }, 15_000);
});
