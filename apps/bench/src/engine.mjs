// The batch layer's own cost: decode + plan + execute + encode around a dispatcher that
// does nothing, and the memory a very large batch holds while it streams.
//
//   node --expose-gc src/engine.mjs

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

// --- Peak memory of a 10,000-item batch ----------------------------------------------------

const BIG_ITEMS = 10_000;
const BODY_BYTES = 10 * 1024;
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
const memoryRows = [];
/** @type {Record<string, number>} */
const growth = {};
for (const format of /** @type {const} */ (['json', 'multipart'])) {
  const encoded = encodeBatchRequest(format, batchOf(BIG_ITEMS), { boundary: 'batch_bench' });
  collectGarbage();
  const before = process.memoryUsage.rss();
  let peak = before;
  const start = process.hrtime.bigint();
  const bytes = await runBatch(big, encoded, () => {
    peak = Math.max(peak, process.memoryUsage.rss());
  });
  const elapsed = Number(process.hrtime.bigint() - start);
  peak = Math.max(peak, process.memoryUsage.rss());
  growth[format] = (peak - before) / 2 ** 20;
  memoryRows.push([
    format,
    `${(bytes / 2 ** 20).toFixed(0)} MiB`,
    formatMs(elapsed),
    `${growth[format].toFixed(1)} MiB`,
  ]);
}
printTable(
  `peak memory: ${BIG_ITEMS} items answering ${BODY_BYTES / 1024} KB each, body read as it streams`,
  [
    { header: 'format', align: 'left' },
    { header: 'response' },
    { header: 'time' },
    { header: 'peak RSS growth' },
  ],
  memoryRows,
);

const verdict = (/** @type {boolean} */ ok) => (ok ? 'PASS' : 'MISS');
console.log(
  `\ngoal: per-item overhead ≤ ${PER_ITEM_GOAL_US} µs; peak RSS growth < 64 MiB for the 10,000-item batch`,
);
for (const format of ['json', 'multipart']) {
  console.log(
    `  ${verdict(perItem[format] <= PER_ITEM_GOAL_US)}  ${format} per item: ${perItem[format].toFixed(2)} µs`,
  );
  console.log(
    `  ${verdict(growth[format] < 64)}  ${format} peak RSS growth: ${growth[format].toFixed(1)} MiB`,
  );
}
