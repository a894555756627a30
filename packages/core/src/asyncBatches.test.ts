import { describe, expect, it } from 'vitest';
import {
  type BatchHandler,
  createBatchHandler,
  createMemoryRecordStore,
  type Dispatcher,
  type RecordStore,
} from './index.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An app: `/slow/<ms>` waits (aborted by its signal), anything else echoes its method and path. */
function app(log: string[]): Dispatcher {
  return async (request, { signal }) => {
    log.push(`${request.method} ${request.target}`);
    const slow = /^\/slow\/(\d+)$/.exec(request.target);
    if (slow !== null) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, Number(slow[1]));
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(new Error('aborted'));
        });
      });
    }
    const body = new TextEncoder().encode(JSON.stringify({ method: request.method }));
    return { status: 200, headers: [['content-type', 'application/json']], body };
  };
}

function handlerOn(store: RecordStore, log: string[], leaseMs = 30_000): BatchHandler {
  return createBatchHandler({
    dispatch: app(log),
    batchPath: '/batch',
    idempotency: { store, leaseMs },
  });
}

async function call(
  handler: BatchHandler,
  method: string,
  path: string,
  document?: unknown,
  headers: Record<string, string> = {},
) {
  const response = await handler.fetch(
    new Request(`http://api.test${path}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: 'Bearer a', ...headers },
      ...(document === undefined ? {} : { body: JSON.stringify(document) }),
    }),
  );
  return { status: response.status, headers: response.headers, text: await response.text() };
}

const ASYNC = { prefer: 'respond-async' };

describe('asynchronous batches in the core (SPEC §9)', () => {
  it('a DELETE on another instance stops the batch within a lease renewal', async () => {
    const store = createMemoryRecordStore();
    const logA: string[] = [];
    const a = handlerOn(store, logA, 300);
    const b = handlerOn(store, [], 300);
    const accepted = await call(
      a,
      'POST',
      '/batch',
      { requests: [{ path: '/slow/20000' }, { method: 'POST', path: '/never' }] },
      ASYNC,
    );
    expect(accepted.status).toBe(202);
    const location = accepted.headers.get('location')!;
    expect(location).toMatch(/^\/batch\/jobs\/[0-9a-f]{32}$/);
    expect(a.runningAsync).toBe(1);
    expect((await call(b, 'DELETE', location)).status).toBe(204);
    // A's renewal (every 100 ms) sees the cancel and aborts what runs.
    await Promise.race([a.idle(), sleep(5000)]);
    expect(a.runningAsync).toBe(0);
    expect(logA).toEqual(['GET /slow/20000']);
    expect((await call(a, 'GET', location)).status).toBe(404);
  });

  it('after a crash the monitor answers what was recorded and a problem for the rest', async () => {
    const store = createMemoryRecordStore();
    const a = handlerOn(store, [], 200);
    const accepted = await call(
      a,
      'POST',
      '/batch',
      { requests: [{ path: '/one' }, { method: 'POST', path: '/slow/20000' }, { path: '/three' }] },
      { ...ASYNC, 'idempotency-key': 'crash-1' },
    );
    const location = accepted.headers.get('location')!;
    const c = handlerOn(store, [], 200);
    const key = (await store.resolve(location.split('/').pop()!))!;
    expect((await store.read(key))?.state).toBe('running');
    expect((await call(c, 'GET', location)).status).toBe(202);
    expect(await lapse(store, key)).toBe(true);
    const answer = await call(c, 'GET', location);
    expect(answer.status).toBe(200);
    const statuses = (JSON.parse(answer.text) as { responses: Array<{ status: number }> })
      .responses;
    expect(statuses.map((r) => r.status)).toEqual([200, 500, 503]);
    // The "dead" instance's batch is still running here: stop it.
    expect((await call(a, 'DELETE', location)).status).toBe(204);
    await a.idle();
  });
});

/** Stops the renewals of `key`'s lease (as a dead process would) and waits for it to lapse. */
async function lapse(store: RecordStore, key: string): Promise<boolean> {
  const renew = store.renew.bind(store);
  store.renew = async (k, owner, leaseMs) => (k === key ? 'ok' : renew(k, owner, leaseMs));
  for (let i = 0; i < 200; i++) {
    if ((await store.read(key))?.leaseLapsed === true) return true;
    await sleep(25);
  }
  return false;
}
