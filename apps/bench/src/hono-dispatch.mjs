// @batch/hono dispatch cost: CPU per sub-request of a 50-GET JSON batch (tiny JSON answers),
//   (1) in-process: `app.fetch(batchRequest)` with Node's own (undici) Request/Response;
//   (2) over HTTP: the same app on @hono/node-server (which swaps in its light-weight
//       Request/Response globals), server CPU read over IPC from the server's own process.
// Each scenario times, interleaved in rounds (so a busy machine's drift hits all alike):
//   - `batch`: POST /batch, `batch(app)` of the built @batch/hono;
//   - `no-op`: the same batch through @batch/core with a dispatcher that answers at once —
//     engine, codecs and HTTP alone; `batch − no-op` is what dispatching into Hono costs;
//   - `other`: with HONO_ADAPTER=/abs/path/to/dist/index.js, `batch(app)` of that build of
//     the adapter too (before/after comparisons in one run).
// And the floor: 50 direct `app.fetch` calls — (1) each with a WHATWG Request and the answer
// read with arrayBuffer(), (2) each with a `{ url, method, headers }` object and the answer
// read from @hono/node-server's light-weight Response (Hono's routing and handler alone).
//
//   node --expose-gc src/hono-dispatch.mjs [all | inproc | http]       (from apps/bench)
//   HONO_ADAPTER=/tmp/before/index.js node --expose-gc src/hono-dispatch.mjs
//   node --cpu-prof --cpu-prof-dir=prof src/hono-dispatch.mjs inproc     (profile (1))
//   SERVER_PROF=1 node src/hono-dispatch.mjs http             (profile (2)'s server into prof/)
//   PROFILE_ROUTE=/batch-noop …                                 (profile the no-op variant instead)
//   RUNS=3000 …                                                  (timed batches per variant)
//
// Every answer of the first and last batch of each variant is checked (statuses, 50 bodies),
// so a broken adapter crashes the bench instead of reporting a fast time.

import { fork } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createBatchHandler, decodeBatchResponse, encodeBatchRequest } from '@batch/core';
import { chunksOf, discardUnreadBody, headerPairs } from '@batch/node/incoming';
import { Hono } from 'hono';
import { check, collectGarbage, median, printTable } from './measure.mjs';

const ITEMS = 50;
const WARMUP = 200;
const RUNS = Number(process.env.RUNS ?? 1500);
const ROUNDS = 10;
const HOST = '127.0.0.1';
const mode = process.argv[2] ?? 'all';
const profiling = process.execArgv.some((arg) => arg.startsWith('--cpu-prof'));

const paths = Array.from({ length: ITEMS }, (_, i) => `/items/${i + 1}`);
const expected = paths.map((_, i) => JSON.stringify({ id: i + 1, title: `Item ${i + 1}` }));
const batchBody = encodeBatchRequest(
  'json',
  paths.map((path) => ({ method: 'GET', target: path })),
);

/** Route per variant; `other` only with HONO_ADAPTER; profiling runs `batch` alone. */
function variants() {
  if (profiling || process.env.SERVER_PROF) return [process.env.PROFILE_ROUTE ?? '/batch'];
  return ['/batch', '/batch-noop', ...(process.env.HONO_ADAPTER ? ['/batch-other'] : [])];
}

async function makeApp() {
  const app = new Hono();
  app.get('/items/:id', (c) => {
    const id = Number(c.req.param('id'));
    return c.json({ id, title: `Item ${id}` });
  });
  const { batch } = await import('@batch/hono');
  app.post('/batch', batch(app));
  if (process.env.HONO_ADAPTER) {
    const other = await import(process.env.HONO_ADAPTER);
    app.post('/batch-other', other.batch(app));
  }
  const answers = new Map(paths.map((path, i) => [path, new TextEncoder().encode(expected[i])]));
  const noop = createBatchHandler({
    dispatch: async (request) => ({
      status: 200,
      headers: [['content-type', 'application/json']],
      body: /** @type {Uint8Array} */ (answers.get(request.target)),
    }),
  });
  // As @batch/hono reads a batch on @hono/node-server: the body straight from Node's request.
  app.post('/batch-noop', (c) => {
    const incoming = c.env?.incoming;
    if (incoming === undefined) return noop.fetch(c.req.raw);
    return noop.fetch(c.req.raw, {
      body: chunksOf(incoming),
      headers: headerPairs(incoming.rawHeaders),
      onUnreadBody: (plan) => discardUnreadBody(incoming, plan),
    });
  });
  return app;
}

/** @param {string} contentType @param {Uint8Array} body */
async function checkBatch(contentType, body) {
  const parts = await decodeBatchResponse({ contentType, body });
  check(parts.length === ITEMS, `batch answered ${parts.length} items`);
  const decoder = new TextDecoder();
  parts.forEach((part, i) => {
    check(part.status === 200, `item ${i} answered ${part.status}`);
    check(decoder.decode(part.body) === expected[i], `item ${i} body ${decoder.decode(part.body)}`);
  });
}

/**
 * Times every variant, interleaved: WARMUP untimed calls each, then ROUNDS rounds of
 * RUNS/ROUNDS calls each. `cpu()` reads the CPU time (µs) of the process doing the work.
 * @param {string[]} routes
 * @param {(route: string) => Promise<{ type: string, body: Uint8Array }>} call
 * @param {() => Promise<number>} cpu
 */
async function timeVariants(routes, call, cpu) {
  const results = new Map(
    routes.map((route) => [route, { cpu: 0, wall: /** @type {number[]} */ ([]) }]),
  );
  for (const route of routes) {
    const first = await call(route);
    await checkBatch(first.type, first.body);
    for (let i = 0; i < WARMUP; i++) await call(route);
  }
  const perRound = Math.ceil(RUNS / ROUNDS);
  for (let round = 0; round < ROUNDS; round++) {
    for (const route of routes) {
      const result = /** @type {{ cpu: number, wall: number[] }} */ (results.get(route));
      collectGarbage();
      const cpu0 = await cpu();
      for (let i = 0; i < perRound; i++) {
        const start = process.hrtime.bigint();
        await call(route);
        result.wall.push(Number(process.hrtime.bigint() - start) / 1e3);
      }
      result.cpu += (await cpu()) - cpu0;
    }
  }
  for (const route of routes) {
    const last = await call(route);
    await checkBatch(last.type, last.body);
  }
  return new Map(
    [...results].map(([route, { cpu: total, wall }]) => [
      route,
      { cpuPerItem: total / (perRound * ROUNDS) / ITEMS, p50: median(wall) },
    ]),
  );
}

const ownCpu = async () => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

// --- (1) in-process, undici globals ----------------------------------------------------------

async function inProcess() {
  const app = await makeApp();
  const call = async (/** @type {string} */ route) => {
    const response = await app.fetch(
      new Request(`http://localhost${route}`, {
        method: 'POST',
        headers: { 'content-type': batchBody.contentType },
        body: /** @type {Uint8Array<ArrayBuffer>} */ (batchBody.body),
      }),
    );
    return {
      type: response.headers.get('content-type') ?? '',
      body: new Uint8Array(await response.arrayBuffer()),
    };
  };
  const times = await timeVariants(variants(), call, ownCpu);
  let floor = null;
  if (!profiling) {
    const once = () =>
      Promise.all(
        paths.map(async (path) =>
          (await app.fetch(new Request(`http://localhost${path}`))).arrayBuffer(),
        ),
      );
    for (let i = 0; i < WARMUP; i++) await once();
    const cpu0 = await ownCpu();
    for (let i = 0; i < RUNS; i++) await once();
    floor = ((await ownCpu()) - cpu0) / RUNS / ITEMS;
  }
  return { times, floor };
}

// --- (2) @hono/node-server, in a child process -------------------------------------------------

async function serverChild() {
  const { createAdaptorServer } = await import('@hono/node-server');
  const app = await makeApp();
  const server = createAdaptorServer({ fetch: app.fetch, hostname: HOST });
  server.keepAliveTimeout = 60_000;
  server.listen(0, HOST, () => {
    process.send?.({ type: 'ready', port: /** @type {any} */ (server.address()).port });
  });
  process.on('message', async (/** @type {any} */ message) => {
    if (message.type === 'cpu') process.send?.({ type: 'cpu', cpu: await ownCpu() });
    else if (message.type === 'floor') {
      // 50 direct app.fetch calls with a request-like object, each answer read from the
      // light-weight Response's kept body (c.json() makes one: the global is node-server's).
      const headers = new Headers({ host: 'localhost' });
      let key;
      const once = () => {
        for (const path of paths) {
          const response = /** @type {any} */ (
            app.fetch(
              /** @type {any} */ ({ url: `http://localhost${path}`, method: 'GET', headers }),
            )
          );
          key ??= Object.getOwnPropertySymbols(response).find((s) => s.description === 'cache');
          check(key !== undefined && typeof response[key][1] === 'string', 'floor: no kept body');
        }
      };
      for (let i = 0; i < WARMUP; i++) once();
      const cpu0 = await ownCpu();
      for (let i = 0; i < RUNS; i++) once();
      process.send?.({ type: 'floor', cpuPerItem: ((await ownCpu()) - cpu0) / RUNS / ITEMS });
    } else if (message.type === 'close') server.close(() => process.exit(0));
  });
}

async function overHttp() {
  const child = fork(fileURLToPath(import.meta.url), ['server'], {
    execArgv: [
      ...process.execArgv.filter((arg) => !arg.startsWith('--cpu-prof')),
      ...(process.env.SERVER_PROF ? ['--cpu-prof', '--cpu-prof-dir=prof'] : []),
    ],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  /** @type {Map<string, (message: any) => void>} */
  const waiting = new Map();
  child.on('message', (/** @type {any} */ message) => waiting.get(message.type)?.(message));
  const next = (/** @type {string} */ type) =>
    /** @type {Promise<any>} */ (new Promise((resolve) => waiting.set(type, resolve)));
  const { port } = await next('ready');
  const cpu = async () => {
    const answer = next('cpu');
    child.send({ type: 'cpu' });
    return (await answer).cpu;
  };
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const call = (/** @type {string} */ route) =>
    /** @type {Promise<{ type: string, body: Uint8Array }>} */ (
      new Promise((resolve, reject) => {
        const req = httpRequest(
          {
            agent,
            host: HOST,
            port,
            method: 'POST',
            path: route,
            headers: {
              'content-type': batchBody.contentType,
              'content-length': batchBody.body.length,
            },
          },
          (res) => {
            /** @type {Buffer[]} */
            const chunks = [];
            res.on('data', (chunk) => chunks.push(chunk));
            res.on('end', () =>
              resolve({
                type: res.headers['content-type'] ?? '',
                body: new Uint8Array(Buffer.concat(chunks)),
              }),
            );
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(batchBody.body);
      })
    );
  const times = await timeVariants(variants(), call, cpu);
  let floor = null;
  if (!process.env.SERVER_PROF) {
    const answer = next('floor');
    child.send({ type: 'floor' });
    floor = (await answer).cpuPerItem;
  }
  const closed = new Promise((resolve) => child.once('exit', resolve));
  child.send({ type: 'close' });
  await closed;
  agent.destroy();
  return { times, floor };
}

if (mode === 'server') await serverChild();
else {
  console.log(
    `hono-dispatch: ${ITEMS}-GET JSON batch, ${RUNS} timed batches per variant in ${ROUNDS} interleaved rounds — Node ${process.version}${process.env.HONO_ADAPTER ? `; other = ${process.env.HONO_ADAPTER}` : ''}`,
  );
  /** @type {string[][]} */
  const rows = [];
  /**
   * @param {string} label
   * @param {{ times: Map<string, { cpuPerItem: number, p50: number }>, floor: number | null }} result
   * @param {string} floorLabel
   */
  const addRows = (label, { times, floor }, floorLabel) => {
    const noop = times.get('/batch-noop');
    for (const [route, name] of [
      ['/batch', 'batch(app)'],
      ['/batch-other', 'batch(app), other build'],
    ]) {
      const time = times.get(route);
      if (!time) continue;
      rows.push([
        `${label}: ${name}`,
        time.cpuPerItem.toFixed(1),
        noop ? noop.cpuPerItem.toFixed(1) : '–',
        noop ? (time.cpuPerItem - noop.cpuPerItem).toFixed(1) : '–',
        (time.p50 / 1000).toFixed(2),
        floor === null ? '–' : `${floor.toFixed(1)} (${floorLabel})`,
      ]);
    }
  };
  if (mode === 'all' || mode === 'inproc') {
    addRows('(1) in-process, undici', await inProcess(), 'app.fetch(new Request) + arrayBuffer()');
  }
  if (mode === 'all' || mode === 'http') {
    addRows(
      '(2) @hono/node-server',
      await overHttp(),
      'app.fetch({ url, method, headers }), kept body',
    );
  }
  printTable(
    'CPU µs per sub-request (whole batch ÷ 50): the batch, the same with a no-op dispatcher, their difference',
    [
      { header: 'scenario', align: 'left' },
      { header: 'batch' },
      { header: 'no-op' },
      { header: 'dispatch' },
      { header: 'p50 ms/batch' },
      { header: 'floor: 50 direct calls, µs/call', align: 'left' },
    ],
    rows,
  );
}
