import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type BatchOptions,
  createBatchHandler,
  type DecodedSubResponse,
  type Dispatcher,
  decodeBatchResponse,
  encodeBatchRequest,
  type SubRequestInit,
} from '../index.js';
import { bytes, collect, FC_SEED } from '../testing.js';

// SPEC §4 "Scheduling: as if one after another, as fast as all at once".

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A dispatcher that logs `start i` / `end i` and waits `?delay=` ms (0: a microtask). */
function recording() {
  const events: string[] = [];
  const runs = new Map<number, number>();
  let running = 0;
  let maxRunning = 0;
  const dispatch: Dispatcher = async (request, { index }) => {
    runs.set(index, (runs.get(index) ?? 0) + 1);
    events.push(`start ${index}`);
    running++;
    maxRunning = Math.max(maxRunning, running);
    const delay = Number(new URL(request.target, 'http://x').searchParams.get('delay') ?? 0);
    await (delay > 0 ? new Promise((resolve) => setTimeout(resolve, delay)) : Promise.resolve());
    running--;
    events.push(`end ${index}`);
    const status = Number(new URL(request.target, 'http://x').searchParams.get('status') ?? 200);
    return { status, headers: [['X-Index', String(index)]], body: bytes(`#${index}`) };
  };
  return { dispatch, events, runs, maxRunning: () => maxRunning };
}

async function run(
  dispatch: Dispatcher,
  requests: SubRequestInit[],
  options: BatchOptions = {},
): Promise<DecodedSubResponse[]> {
  const encoded = encodeBatchRequest('json', requests);
  const output = await createBatchHandler({ ...options, dispatch }).handle({
    method: 'POST',
    path: '/batch',
    headers: [
      ['host', 'api.example.com'],
      ['content-type', encoded.contentType],
    ],
    body: encoded.body,
  });
  expect(output.status).toBe(200);
  return decodeBatchResponse({
    contentType: output.headers.find(([name]) => name === 'content-type')![1],
    body: await collect(output.body),
  });
}

/** Position of an event in the log (fails when it is missing). */
function at(events: string[], event: string): number {
  const position = events.indexOf(event);
  expect(position, event).toBeGreaterThanOrEqual(0);
  return position;
}

/** Intervals [start, end] of each item, as positions in the event log. */
function intervals(events: string[], count: number): Array<[number, number]> {
  return Array.from({ length: count }, (_, i) => [
    at(events, `start ${i}`),
    at(events, `end ${i}`),
  ]);
}

const overlaps = (a: [number, number], b: [number, number]) => a[0] < b[1] && b[0] < a[1];

describe('scheduling (SPEC §4)', () => {
  it('consecutive reads run together, up to concurrency', async () => {
    const { dispatch, maxRunning } = recording();
    const responses = await run(
      dispatch,
      Array.from({ length: 8 }, (_, i) => ({ method: 'GET', target: `/r/${i}?delay=20` })),
      { concurrency: 4 },
    );
    expect(responses.map((response) => response.status)).toEqual(Array(8).fill(200));
    expect(maxRunning()).toBe(4);
  });

  it('HEAD and OPTIONS are reads too', async () => {
    const { dispatch, maxRunning } = recording();
    await run(
      dispatch,
      ['GET', 'HEAD', 'OPTIONS'].map((method, i) => ({ method, target: `/r/${i}?delay=20` })),
    );
    expect(maxRunning()).toBe(3);
  });

  it('a write is a barrier: it waits for the reads before it, and the reads after it wait for it', async () => {
    const { dispatch, events } = recording();
    const methods = ['GET', 'GET', 'POST', 'GET', 'GET', 'DELETE', 'GET'];
    const responses = await run(
      dispatch,
      methods.map((method, i) => ({ method, target: `/r/${i}?delay=${10 - i}` })),
    );
    expect(
      responses.map((response) => response.headers.find(([n]) => n === 'X-Index')?.[1]),
    ).toEqual(methods.map((_, i) => String(i)));
    const spans = intervals(events, methods.length);
    // The two first reads ran together; so did the two after the POST.
    expect(overlaps(spans[0]!, spans[1]!)).toBe(true);
    expect(overlaps(spans[3]!, spans[4]!)).toBe(true);
    // The POST started after both reads ended, and the reads after it started after it ended.
    expect(spans[2]![0]).toBeGreaterThan(Math.max(spans[0]![1], spans[1]![1]));
    expect(Math.min(spans[3]![0], spans[4]![0])).toBeGreaterThan(spans[2]![1]);
    expect(spans[5]![0]).toBeGreaterThan(Math.max(spans[3]![1], spans[4]![1]));
    expect(spans[6]![0]).toBeGreaterThan(spans[5]![1]);
  });

  it('concurrency 1 runs every item strictly one after another', async () => {
    const { dispatch, events } = recording();
    await run(
      dispatch,
      Array.from({ length: 5 }, (_, i) => ({ target: `/r/${i}?delay=${5 - i}` })),
      { concurrency: 1 },
    );
    expect(events).toEqual([0, 1, 2, 3, 4].flatMap((i) => [`start ${i}`, `end ${i}`]));
  });

  it("onError: 'stop' runs items one after another", async () => {
    const { dispatch, events } = recording();
    const responses = await run(
      dispatch,
      [
        { target: '/r/0?delay=5' },
        { target: '/r/1?delay=1&status=500' },
        { target: '/r/2' },
        { target: '/r/3' },
      ],
      { onError: 'stop', concurrency: 8 },
    );
    expect(responses.map((response) => response.status)).toEqual([200, 500, 424, 424]);
    expect(events).toEqual(['start 0', 'end 0', 'start 1', 'end 1']);
  });

  it("parallel: 'all' runs writes together too, ordered only by dependsOn", async () => {
    const { dispatch, events, maxRunning } = recording();
    await run(
      dispatch,
      [
        { method: 'POST', target: '/w/0?delay=20', id: 'a' },
        { method: 'POST', target: '/w/1?delay=20' },
        { method: 'DELETE', target: '/w/2?delay=20' },
        { method: 'PATCH', target: '/w/3?delay=5', dependsOn: ['a'] },
      ],
      { parallel: 'all' },
    );
    expect(maxRunning()).toBe(3);
    expect(at(events, 'start 3')).toBeGreaterThan(at(events, 'end 0'));
  });

  it('the window slides: a finished item frees its slot at once, while a slow one runs', async () => {
    const { dispatch, events } = recording();
    await run(
      dispatch,
      [
        { target: '/r/0?delay=600' },
        { target: '/r/1?delay=5' },
        { target: '/r/2?delay=5' },
        { target: '/r/3?delay=5' },
      ],
      { concurrency: 2 },
    );
    // Items 2 and 3 ran in the slot item 1 freed, all while item 0 was still running.
    expect(at(events, 'end 3')).toBeLessThan(at(events, 'end 0'));
  });

  it('a read waiting on its dependency lets the reads after it by', async () => {
    const { dispatch, events } = recording();
    await run(
      dispatch,
      [
        { target: '/r/0?delay=300', id: 'slow' },
        { target: '/r/1', dependsOn: ['slow'] },
        { target: '/r/2?delay=5' },
      ],
      { concurrency: 4 },
    );
    expect(at(events, 'end 2')).toBeLessThan(at(events, 'end 0'));
    expect(at(events, 'start 1')).toBeGreaterThan(at(events, 'end 0'));
  });

  it('property: no write overlaps any item, nothing starts before its dependencies end, each runs once, answers in order', async () => {
    const item = fc.record({
      method: fc.constantFrom('GET', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE'),
      delay: fc.integer({ min: 0, max: 4 }),
      status: fc.constantFrom(200, 200, 200, 404, 500),
      dependsOn: fc.array(fc.nat(), { maxLength: 2 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(item, { maxLength: 24 }),
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom<'reads' | 'all'>('reads', 'all'),
        async (specs, concurrency, parallel) => {
          const { dispatch, events, runs, maxRunning } = recording();
          const requests: SubRequestInit[] = specs.map((spec, i) => {
            const request: SubRequestInit = {
              method: spec.method,
              target: `/i/${i}?delay=${spec.delay}&status=${spec.status}`,
              id: `i${i}`,
            };
            const dependsOn = [...new Set(spec.dependsOn.filter((d) => d < i))];
            if (i > 0 && dependsOn.length > 0) request.dependsOn = dependsOn.map((d) => `i${d}`);
            return request;
          });
          const responses = await run(dispatch, requests, { concurrency, parallel });
          // Answers in request order, one per item.
          expect(
            responses.map(
              (response) => response.headers.find(([n]) => n === 'X-Index')?.[1] ?? null,
            ),
          ).toEqual(responses.map((_response, i) => (runs.has(i) ? String(i) : null)));
          expect(responses).toHaveLength(specs.length);
          expect(maxRunning()).toBeLessThanOrEqual(concurrency);
          for (const times of runs.values()) expect(times).toBe(1);
          const span = (i: number): [number, number] | undefined =>
            runs.has(i) ? [at(events, `start ${i}`), at(events, `end ${i}`)] : undefined;
          for (let i = 0; i < specs.length; i++) {
            const mine = span(i);
            // An item runs unless a dependency failed (424 without running).
            const failedDependency = (requests[i]!.dependsOn ?? []).some(
              (id) => responses[Number(id.slice(1))]!.status >= 400,
            );
            expect(mine === undefined).toBe(failedDependency);
            if (failedDependency) expect(responses[i]!.status).toBe(424);
            if (mine === undefined) continue;
            for (const id of requests[i]!.dependsOn ?? []) {
              const theirs = span(Number(id.slice(1)))!;
              expect(mine[0]).toBeGreaterThan(theirs[1]);
            }
            if (parallel === 'reads' && !SAFE.has(specs[i]!.method)) {
              // A write: everything before it ended before it started, everything after it
              // started after it ended (so it overlaps nothing).
              for (let j = 0; j < specs.length; j++) {
                const other = span(j);
                if (other === undefined || j === i) continue;
                if (j < i) expect(other[1]).toBeLessThan(mine[0]);
                else expect(other[0]).toBeGreaterThan(mine[1]);
              }
            }
          }
        },
      ),
      { numRuns: 150, seed: FC_SEED },
    );
  }, 60_000);
});
