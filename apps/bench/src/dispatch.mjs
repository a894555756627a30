// Dispatch cost per sub-request: one `GET /articles/1` (small JSON answer) run in-process
// through each adapter's dispatcher, against the floor of calling the same framework
// directly, in-process, with the lightest request/response objects it accepts.
//
//   node --expose-gc src/dispatch.mjs
//
// Every contender's answer is checked once (status 200, the expected JSON bytes) before it
// is timed. Goal misses are reported, never fatal.

import { EventEmitter } from 'node:events';
import { IncomingMessage } from 'node:http';
import { createBatchHandler, encodeBatchRequest } from '@batch/core';
import { connectionOf, dispatchToNode } from '@batch/node';
import {
  articleJson,
  expressApp,
  honoApp,
  koaApp,
  LABELS,
  loadAdapter,
  nodeListener,
} from './apps.mjs';
import { check, formatRatio, measure, printTable } from './measure.mjs';

/** Sub-requests per timed run; the result is the median run ÷ CALLS. */
const CALLS = 2000;
const WARMUP_RUNS = 2;
const TIMED_RUNS = 9;
/** Items per batch for the rows that go through a whole batch (≤ core's default maxRequests). */
const BATCH_ITEMS = 100;
const GOAL = 1.3;
const TARGET = '/articles/1';
const EXPECTED = articleJson(1);

/** The floors the issue measured on this machine, µs per call (for reference only). */
const ISSUE_FLOORS = /** @type {Record<string, string>} */ ({
  koa: '≈18',
  express4: '≈60',
  express5: '≈89',
  'hono-request': '≈74',
});

// --- The floor's fake req/res --------------------------------------------------------------
//
// `req` is an object on IncomingMessage.prototype carrying only what a GET needs. `res` is
// an EventEmitter with its own header store and an `end` that captures the body. Methods are
// own properties, not a class's, because Express replaces the prototype of `req` and `res`
// with its own (which inherit from IncomingMessage / ServerResponse).

/** @param {string} url */
function fakeReq(url) {
  const req = Object.create(IncomingMessage.prototype);
  req.method = 'GET';
  req.url = url;
  req.headers = { host: 'localhost' };
  req.rawHeaders = ['host', 'localhost'];
  req.httpVersion = '1.1';
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  return req;
}

/** @typedef {EventEmitter & Record<string, any>} FakeRes */

/** @this {FakeRes} @param {string} name @param {unknown} value */
function setHeader(name, value) {
  this.store[name.toLowerCase()] = value;
  return this;
}
/** @this {FakeRes} @param {string} name */
function getHeader(name) {
  return this.store[name.toLowerCase()];
}
/** @this {FakeRes} @param {string} name */
function removeHeader(name) {
  delete this.store[name.toLowerCase()];
}
/** @this {FakeRes} @param {string} name */
function hasHeader(name) {
  return this.store[name.toLowerCase()] !== undefined;
}
/** @this {FakeRes} */
function getHeaders() {
  return { ...this.store };
}
/** @this {FakeRes} */
function getHeaderNames() {
  return Object.keys(this.store);
}
/** @this {FakeRes} @param {string | Uint8Array | undefined} chunk */
function end(chunk) {
  this.finished = true;
  this.writableEnded = true;
  this.headersSent = true;
  this.onEnd({ status: this.statusCode, body: chunk });
  return this;
}

/** @param {(answer: { status: number, body: unknown }) => void} onEnd @returns {FakeRes} */
function fakeRes(onEnd) {
  const res = /** @type {FakeRes} */ (new EventEmitter());
  res.statusCode = 200;
  res.statusMessage = '';
  res.store = {};
  res.finished = false;
  res.writableEnded = false;
  res.headersSent = false;
  res.setHeader = setHeader;
  res.getHeader = getHeader;
  res.removeHeader = removeHeader;
  res.hasHeader = hasHeader;
  res.getHeaders = getHeaders;
  res.getHeaderNames = getHeaderNames;
  res.end = end;
  res.onEnd = onEnd;
  return res;
}

/**
 * One call of a `(req, res)` handler with the fakes; resolves when it ends the response.
 * @param {(req: any, res: any) => unknown} handler
 * @returns {Promise<{ status: number, body: unknown }>}
 */
function callWithFakes(handler) {
  return new Promise((resolve) => {
    handler(fakeReq(TARGET), fakeRes(resolve));
  });
}

// --- Ours ----------------------------------------------------------------------------------

const CONNECTION = connectionOf(undefined);
/** @type {import('@batch/core').SubRequest} */
const SUB_REQUEST = {
  method: 'GET',
  target: TARGET,
  headers: [['host', 'localhost']],
  body: new Uint8Array(0),
};

/**
 * One sub-request through @batch/node's dispatcher, as the engine calls it.
 * @param {import('@batch/node').NodeHandler} handler
 */
function callDispatcher(handler) {
  return dispatchToNode(handler, SUB_REQUEST, CONNECTION, new AbortController().signal);
}

const BATCH_JSON = encodeBatchRequest(
  'json',
  Array.from({ length: BATCH_ITEMS }, () => ({ method: 'GET', target: TARGET })),
);
const BATCH_TEXT = new TextDecoder().decode(BATCH_JSON.body);

/**
 * A whole JSON batch of BATCH_ITEMS through core's engine with @batch/node's dispatcher
 * (what `createNodeBatchHandler` does, minus the outer HTTP request); resolves with the
 * response body's text.
 * @param {import('@batch/node').NodeHandler} handler
 */
function nodeBatchOf(handler) {
  const engine = createBatchHandler({
    dispatch: (request, context) => dispatchToNode(handler, request, CONNECTION, context.signal),
  });
  return async () => {
    const output = await engine.handle({
      method: 'POST',
      path: '/batch',
      headers: [
        ['host', 'localhost'],
        ['content-type', BATCH_JSON.contentType],
      ],
      body: BATCH_JSON.body,
    });
    check(output.status === 200, `batch answered ${output.status}`);
    /** @type {Uint8Array[]} */
    const chunks = [];
    for await (const chunk of output.body) chunks.push(chunk);
    return Buffer.concat(chunks).toString();
  };
}

/**
 * Checks a whole batch answer: BATCH_ITEMS items, each 200 with the expected JSON.
 * @param {string} text
 * @param {string} label
 */
function checkBatchAnswer(text, label) {
  /** @type {{ responses: { status: number, body: unknown }[] }} */
  const parsed = JSON.parse(text);
  check(parsed.responses?.length === BATCH_ITEMS, `${label}: ${BATCH_ITEMS} responses`);
  for (const response of parsed.responses) {
    check(response.status === 200, `${label}: item status ${response.status}`);
    check(JSON.stringify(response.body) === EXPECTED, `${label}: item body`);
  }
}

// --- Contenders ----------------------------------------------------------------------------

/**
 * @typedef {object} Contender
 * @property {string} framework Key into LABELS.
 * @property {string} name Row label.
 * @property {'floor' | 'ours' | 'info'} role
 * @property {string} [issueKey] Key into ISSUE_FLOORS.
 * @property {number} perCall Sub-requests answered by one `call()`.
 * @property {(() => Promise<unknown>) | null} call null: skipped (`skip` says why).
 * @property {(answer: any) => void} [verify] Checks one `call()`'s answer.
 * @property {string} [skip]
 * @property {string} [note]
 */

/** @param {{ status: number, body: unknown }} answer @param {string} label */
function checkAnswer(answer, label) {
  check(answer.status === 200, `${label}: status ${answer.status}`);
  const body =
    typeof answer.body === 'string' ? answer.body : Buffer.from(/** @type {any} */ (answer.body));
  check(String(body) === EXPECTED, `${label}: body ${String(body)}`);
}

/** @type {Contender[]} */
const contenders = [];

for (const version of /** @type {const} */ (['express5', 'express4'])) {
  const app = expressApp(version);
  const handler = /** @type {import('@batch/node').NodeHandler} */ (/** @type {unknown} */ (app));
  contenders.push(
    {
      framework: version,
      name: 'floor: app(fakeReq, fakeRes)',
      role: 'floor',
      issueKey: version,
      perCall: 1,
      call: () => callWithFakes(app),
      verify: (answer) => checkAnswer(answer, `${version} floor`),
    },
    {
      framework: version,
      name: 'ours: dispatchToNode(app, …)',
      role: 'ours',
      perCall: 1,
      call: () => callDispatcher(handler),
      verify: (answer) => checkAnswer(answer, `${version} dispatchToNode`),
    },
    {
      framework: version,
      name: `info: JSON batch of ${BATCH_ITEMS} via core engine ÷ ${BATCH_ITEMS}`,
      role: 'info',
      perCall: BATCH_ITEMS,
      call: nodeBatchOf(handler),
      verify: (text) => checkBatchAnswer(text, `${version} batch`),
    },
  );
}

{
  const { app, router } = koaApp();
  app.use(router.routes());
  const callback = app.callback();
  contenders.push(
    {
      framework: 'koa',
      name: 'floor: app.callback()(fakeReq, fakeRes)',
      role: 'floor',
      issueKey: 'koa',
      perCall: 1,
      call: () => callWithFakes(callback),
      verify: (answer) => checkAnswer(answer, 'koa floor'),
    },
    {
      framework: 'koa',
      name: 'ours: dispatchToNode(app.callback(), …)',
      role: 'ours',
      perCall: 1,
      call: () => callDispatcher(callback),
      verify: (answer) => checkAnswer(answer, 'koa dispatchToNode'),
    },
    {
      framework: 'koa',
      name: `info: JSON batch of ${BATCH_ITEMS} via core engine ÷ ${BATCH_ITEMS}`,
      role: 'info',
      perCall: BATCH_ITEMS,
      call: nodeBatchOf(callback),
      verify: (text) => checkBatchAnswer(text, 'koa batch'),
    },
  );
}

{
  const app = honoApp();
  const hono = await loadAdapter('@batch/hono');
  if (hono.module) app.post('/batch', hono.module.batch(app));
  /** @param {Response} response */
  const answerOf = async (response) => ({
    status: response.status,
    body: new Uint8Array(await response.arrayBuffer()),
  });
  contenders.push(
    {
      framework: 'hono',
      name: "floor: app.request('/articles/1') + body",
      role: 'floor',
      issueKey: 'hono-request',
      perCall: 1,
      call: async () => answerOf(await app.request(TARGET)),
      verify: (answer) => checkAnswer(answer, 'hono app.request'),
    },
    {
      framework: 'hono',
      name: 'floor: app.fetch(new Request(…)) + body',
      role: 'floor',
      perCall: 1,
      call: async () => answerOf(await app.fetch(new Request(`http://localhost${TARGET}`))),
      verify: (answer) => checkAnswer(answer, 'hono app.fetch'),
    },
    {
      framework: 'hono',
      name: `ours: batch(app), JSON batch of ${BATCH_ITEMS} via app.request ÷ ${BATCH_ITEMS}`,
      role: 'ours',
      perCall: BATCH_ITEMS,
      call: hono.module
        ? async () => {
            const response = await app.request('/batch', {
              method: 'POST',
              headers: { 'content-type': BATCH_JSON.contentType },
              body: BATCH_TEXT,
            });
            check(response.status === 200, `hono batch answered ${response.status}`);
            return response.text();
          }
        : null,
      verify: (text) => checkBatchAnswer(text, 'hono batch'),
      skip: hono.error,
      note: '@batch/hono does not export its dispatcher: a whole batch (decode, engine, encode) ÷ items',
    },
  );
}

contenders.push(
  {
    framework: 'node',
    name: 'floor: listener(fakeReq, fakeRes)',
    role: 'floor',
    perCall: 1,
    call: () => callWithFakes(nodeListener),
    verify: (answer) => checkAnswer(answer, 'node floor'),
  },
  {
    framework: 'node',
    name: 'info: dispatchToNode(listener, …)',
    role: 'info',
    perCall: 1,
    call: () => callDispatcher(nodeListener),
    verify: (answer) => checkAnswer(answer, 'node dispatchToNode'),
    note: 'the bridge alone: a real IncomingMessage + ServerResponse per sub-request',
  },
);

// --- Run -----------------------------------------------------------------------------------

/** µs per sub-request (median run, fastest run) by contender. */
const results = new Map();
for (const contender of contenders) {
  if (contender.call === null) {
    console.log(`${LABELS[contender.framework]} ${contender.name}: ${contender.skip}, skipped`);
    continue;
  }
  const call = contender.call;
  contender.verify?.(await call());
  const rounds = CALLS / contender.perCall;
  const result = await measure(
    async () => {
      let last;
      for (let i = 0; i < rounds; i++) last = await call();
      return last;
    },
    { warmup: WARMUP_RUNS, runs: TIMED_RUNS },
  );
  results.set(contender, {
    median: result.median / CALLS / 1000,
    min: result.min / CALLS / 1000,
  });
}

/** @param {number} us */
const formatUs = (us) => (us >= 10 ? us.toFixed(1) : us.toFixed(2));

const rows = [];
/** @type {{ framework: string, ours: number, floor: number, floorName: string }[]} */
const goals = [];
for (const framework of ['express5', 'express4', 'koa', 'hono', 'node']) {
  const group = contenders.filter((contender) => contender.framework === framework);
  const floors = group.filter((contender) => contender.role === 'floor' && results.has(contender));
  // The cheapest floor of the framework is the baseline of its ratios.
  const floor = floors.reduce(
    (best, contender) =>
      best === undefined || results.get(contender).median < results.get(best).median
        ? contender
        : best,
    /** @type {Contender | undefined} */ (undefined),
  );
  const floorUs = floor === undefined ? Number.NaN : results.get(floor).median;
  for (const contender of group) {
    const result = results.get(contender);
    rows.push([
      LABELS[/** @type {keyof typeof LABELS} */ (framework)],
      contender.name,
      result
        ? formatUs(result.median)
        : contender.skip?.startsWith('not built')
          ? 'not built'
          : 'skipped',
      result ? formatUs(result.min) : '',
      result ? formatRatio(result.median, floorUs) : '',
      contender.issueKey ? `${ISSUE_FLOORS[contender.issueKey]} µs` : '',
    ]);
    if (contender.role === 'ours') {
      goals.push({
        framework,
        ours: result ? result.median : Number.NaN,
        floor: floorUs,
        floorName: floor?.name ?? '',
      });
    }
  }
}

printTable(
  `dispatch cost per sub-request: GET ${TARGET} → ${EXPECTED}, in-process, sequential; µs = median of ${TIMED_RUNS} runs of ${CALLS} sub-requests ÷ ${CALLS} (after ${WARMUP_RUNS} warm-up runs)`,
  [
    { header: 'framework', align: 'left' },
    { header: 'contender', align: 'left' },
    { header: 'µs/sub-req' },
    { header: 'min µs' },
    { header: '× floor' },
    { header: 'issue floor' },
  ],
  rows,
);
console.log(
  '\n× floor: against the cheapest floor row of the same framework. "issue floor": what the issue measured on this machine.',
);
for (const contender of contenders) {
  if (contender.note && results.has(contender)) {
    console.log(`note (${LABELS[contender.framework]}, ${contender.name}): ${contender.note}`);
  }
}

console.log(`\ngoal: ours ≤ ${GOAL}× the framework's floor, per sub-request`);
for (const goal of goals) {
  const label = LABELS[/** @type {keyof typeof LABELS} */ (goal.framework)];
  if (Number.isNaN(goal.ours)) {
    console.log(`  SKIP  ${label}: not measured (adapter not built)`);
    continue;
  }
  const ratio = goal.ours / goal.floor;
  console.log(
    `  ${ratio <= GOAL ? 'PASS' : 'MISS'}  ${label}: ${formatUs(goal.ours)} µs vs ${formatUs(goal.floor)} µs (${goal.floorName}) = ${ratio.toFixed(2)}×`,
  );
}
