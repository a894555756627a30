// The batch layer's own cost: decode + plan + execute + encode around a dispatcher that
// does nothing, and the memory a very large batch holds while it streams.
//
//   node --expose-gc src/engine.mjs

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createBatchHandler, encodeBatchRequest } from '@batch/core';
import { check, collectGarbage, formatMs, measure, printTable } from './measure.mjs';

const encoder = new TextEncoder();
const SMALL_JSON = encoder.encode(
  '{"id":1,"title":"MoFo","url":"http://mozilla.org","read_position":0}',
);
const JSON_HEADERS = /** @type {[string, string][]} */ ([['content-type', 'application/json']]);

/** @param {number} count */
function batchOf(count) {
  return Array.from({ length: count }, (_, i) => ({ method: 'GET', target: `/articles/${i + 1}` }));
}

/**
 * Runs one batch through `handler.handle` and reads its whole body.
 * @param {import('@batch/core').BatchHandler} handler
 * @param {{ contentType: string, body: Uint8Array }} encoded
 * @param {(chunk: Uint8Array) => void} [onChunk]
 */
async function runBatch(handler, encoded, onChunk) {
  const output = await handler.handle({
    method: 'POST',
    path: '/batch',
    headers: [
      ['host', 'localhost'],
      ['content-type', encoded.contentType],
      ['authorization', 'Bearer bench'],
    ],
    body: encoded.body,
  });
  let bytes = 0;
  for await (const chunk of output.body) {
    bytes += chunk.length;
    onChunk?.(chunk);
  }
  check(output.status === 200, `batch answered ${output.status}`);
  return bytes;
}

// --- Peak memory of a 10,000-item batch ----------------------------------------------------
//
// Each format in a process of its own (this file, forked with MEMORY_FORMAT set), so that
// neither inherits the heap the other grew: the first batch a process serves grows V8's
// young generation and old space whatever its format (about 50 MiB here), and a format
// measured second in a shared process would not pay for it. The child serves the batch
// three times and reports the growth of each; the goal is on the later ones, a server that
// has already served such a batch, and the first is printed beside it.

const BIG_ITEMS = 10_000;
const BODY_BYTES = 10 * 1024;
const MEMORY_RUNS = 3;

/**
 * Serves the 10,000-item batch `MEMORY_RUNS` times in this process; returns the peak RSS
 * growth of each run over the RSS after a forced GC before it, in MiB.
 * @param {'json' | 'multipart'} format
 */
async function batchMemory(format) {
  const big = createBatchHandler({
    maxRequests: BIG_ITEMS,
    dispatch: async (request) => {
      // A fresh 10 KB JSON body per item, as an app would produce.
      const body = new Uint8Array(BODY_BYTES).fill(0x61);
      body.set(encoder.encode(`{"target":"${request.target}","pad":"`));
      body.set(encoder.encode('"}'), BODY_BYTES - 2);
      return { status: 200, headers: JSON_HEADERS, body };
    },
  });
  const encoded = encodeBatchRequest(format, batchOf(BIG_ITEMS), { boundary: 'batch_bench' });
  const runs = [];
  for (let run = 0; run < MEMORY_RUNS; run++) {
    collectGarbage();
    const before = process.memoryUsage.rss();
    let peak = before;
    const start = process.hrtime.bigint();
    const bytes = await runBatch(big, encoded, () => {
      peak = Math.max(peak, process.memoryUsage.rss());
    });
    const elapsed = Number(process.hrtime.bigint() - start);
    peak = Math.max(peak, process.memoryUsage.rss());
    runs.push({ growth: (peak - before) / 2 ** 20, bytes, elapsed });
  }
  return runs;
}

/**
 * Runs `batchMemory(format)` in a fresh `node --expose-gc` process (this file).
 * @param {'json' | 'multipart'} format
 * @returns {Promise<Awaited<ReturnType<typeof batchMemory>>>}
 */
function batchMemoryInChild(format) {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [], {
      execArgv: ['--expose-gc'],
      env: { ...process.env, MEMORY_FORMAT: format },
    });
    child.once('message', (message) => resolve(/** @type {any} */ (message)));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) reject(new Error(`memory child (${format}) exited with ${code}`));
    });
  });
}

const memoryFormat = process.env.MEMORY_FORMAT;
if (memoryFormat === 'json' || memoryFormat === 'multipart') {
  const runs = await batchMemory(memoryFormat);
  // Exit once the message is out (run by hand, without a parent, it is printed instead).
  const send = process.send?.bind(process);
  if (send === undefined) console.log(JSON.stringify(runs));
  else await new Promise((resolve) => send(runs, resolve));
  process.exit(0);
}

// --- Per-item overhead -------------------------------------------------------------------

const ITEMS = 1000;
/** Engine overhead per item with a no-op dispatcher, both formats (issue 24: "a sub-request at the floor"). */
const PER_ITEM_GOAL_US = 2.5;
const noop = createBatchHandler({
  maxRequests: ITEMS,
  dispatch: async () => ({ status: 200, headers: JSON_HEADERS, body: SMALL_JSON }),
});
const rows = [];
/** @type {Record<string, number>} */
const perItem = {};
for (const format of /** @type {const} */ (['json', 'multipart'])) {
  const encoded = encodeBatchRequest(format, batchOf(ITEMS), { boundary: 'batch_bench' });
  const result = await measure(() => runBatch(noop, encoded), { warmup: 20, runs: 40 });
  perItem[format] = result.median / ITEMS / 1000;
  rows.push([
    format,
    formatMs(result.median),
    formatMs(result.min),
    `${perItem[format].toFixed(2)} µs`,
    `${(result.min / ITEMS / 1000).toFixed(2)} µs`,
  ]);
}
printTable(
  `per-item overhead: ${ITEMS} GETs, no-op dispatcher (small JSON answer), decode + plan + execute + encode`,
  [
    { header: 'format', align: 'left' },
    { header: 'median ms' },
    { header: 'min ms' },
    { header: 'per item (median)' },
    { header: 'per item (min)' },
  ],
  rows,
);

const memoryRows = [];
/** @type {Record<string, number>} */
const growth = {};
for (const format of /** @type {const} */ (['json', 'multipart'])) {
  const runs = await batchMemoryInChild(format);
  const [first, ...later] = runs;
  growth[format] = Math.max(...later.map((run) => run.growth));
  memoryRows.push([
    format,
    `${(first.bytes / 2 ** 20).toFixed(0)} MiB`,
    later.map((run) => formatMs(run.elapsed)).join(' / '),
    later.map((run) => `${run.growth.toFixed(1)} MiB`).join(' / '),
    `${first.growth.toFixed(1)} MiB`,
  ]);
}
printTable(
  `peak memory: ${BIG_ITEMS} items answering ${BODY_BYTES / 1024} KB each, body read as it streams; each format in a fresh process, served ${MEMORY_RUNS} times`,
  [
    { header: 'format', align: 'left' },
    { header: 'response' },
    { header: 'time (runs 2, 3)' },
    { header: 'peak RSS growth (runs 2, 3)' },
    { header: 'first run (process warm-up)' },
  ],
  memoryRows,
);

/** Most peak RSS growth for the 10,000-item batch, in MiB (JSON: issue 24). */
const MEMORY_GOAL_MIB = { json: 32, multipart: 64 };
const verdict = (/** @type {boolean} */ ok) => (ok ? 'PASS' : 'MISS');
console.log(
  `\ngoal: per-item overhead ≤ ${PER_ITEM_GOAL_US} µs; peak RSS growth for the 10,000-item batch ` +
    `(runs 2 and 3) < ${MEMORY_GOAL_MIB.json} MiB for JSON, < ${MEMORY_GOAL_MIB.multipart} MiB for multipart`,
);
for (const format of /** @type {const} */ (['json', 'multipart'])) {
  console.log(
    `  ${verdict(perItem[format] <= PER_ITEM_GOAL_US)}  ${format} per item: ${perItem[format].toFixed(2)} µs`,
  );
  console.log(
    `  ${verdict(growth[format] < MEMORY_GOAL_MIB[format])}  ${format} peak RSS growth: ${growth[format].toFixed(1)} MiB`,
  );
}
