// The cost of tracing each sub-request (`@batch/otel`'s `batchTracing()`, SPEC §4
// "Observability"), per item: the hook alone, and a 1,000-item JSON batch through
// `createBatchHandler` with a no-op dispatcher, with and without the hook — first with
// `@opentelemetry/api` alone (no SDK registered: what an app that does not trace pays),
// then with the SDK (NodeTracerProvider, its AsyncLocalStorage context manager, a
// SimpleSpanProcessor into an InMemorySpanExporter) registered, under an active batch span,
// and with a BatchSpanProcessor (what production setups use) into one. The SDK rows are
// mostly the SDK's own cost of a span (≈4 µs with a BatchSpanProcessor on a dev machine).
//
//   pnpm --filter @batch/otel build && node --expose-gc src/tracing.mjs
//
// Goal (issue 23): ≤ 0.1 µs per item with no SDK.

import { createBatchHandler, encodeBatchRequest } from '@batch/core';
import { batchTracing } from '@batch/otel';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { RPCType, setRPCMetadata } from '@opentelemetry/core';
import {
  BatchSpanProcessor,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { check, formatMs, measure, printTable } from './measure.mjs';

const GOAL_NO_SDK_US = 0.1;
const CALLS = 10_000;
const ITEMS = 1000;
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const JSON_HEADERS = /** @type {[string, string][]} */ ([['content-type', 'application/json']]);
const BODY = new TextEncoder().encode('{"id":1}');
/** @type {import('@batch/core').SubResponse} */
const ANSWER = { status: 200, headers: JSON_HEADERS, body: BODY };
const ANSWERED = Promise.resolve(ANSWER);
const run = () => ANSWERED;

/** @type {import('@batch/core').AroundItemInfo} */
const ITEM = {
  request: {
    method: 'GET',
    target: '/articles/1?fields=title',
    headers: [['authorization', 'Bearer bench']],
    body: new Uint8Array(),
  },
  index: 0,
  batch: {
    method: 'POST',
    path: '/batch',
    headers: [['authorization', 'Bearer bench']],
    format: 'json',
    native: undefined,
  },
};

/**
 * One turn of the timers: the in-memory exporter answers each export on a `setTimeout(0)`,
 * and a run that never yields to timers (a no-op dispatcher) would pile every span up. Both
 * sides of each comparison wait for it, so it cancels out of the per-item numbers.
 */
function exportsDone() {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * `CALLS` items through `wrap` (each `run` answering at once), all awaited.
 * @param {(item: import('@batch/core').AroundItemInfo, run: () => Promise<unknown>) => Promise<unknown>} wrap
 */
async function callsThrough(wrap) {
  for (const exporter of exporters) exporter.reset();
  const pending = new Array(CALLS);
  for (let i = 0; i < CALLS; i++) pending[i] = wrap(ITEM, run);
  const answers = await Promise.all(pending);
  await exportsDone();
  check(answers.length === CALLS && answers[0] === ANSWER, 'every item answered');
  return answers.length;
}

const direct = (/** @type {unknown} */ _item, /** @type {() => Promise<unknown>} */ runItem) =>
  runItem();

const encoded = encodeBatchRequest(
  'json',
  Array.from({ length: ITEMS }, (_, i) => ({ method: 'GET', target: `/articles/${i + 1}` })),
);
/** @param {import('@batch/core').BatchOptions} options */
function handlerWith(options) {
  return createBatchHandler({
    ...options,
    maxRequests: ITEMS,
    spreadStarts: false,
    dispatch: async () => ANSWER,
  });
}
/** @param {import('@batch/core').BatchHandler} handler */
async function runBatch(handler) {
  for (const exporter of exporters) exporter.reset();
  const output = await handler.handle({
    method: 'POST',
    path: '/batch',
    headers: [
      ['host', 'localhost'],
      ['content-type', encoded.contentType],
    ],
    body: encoded.body,
  });
  let bytes = 0;
  for await (const chunk of output.body) bytes += chunk.length;
  await exportsDone();
  check(output.status === 200, `batch answered ${output.status}`);
  return bytes;
}

/**
 * Per-item cost of the hook: alone (vs calling `run` directly) and in a batch (vs the same
 * handler without it), in µs, medians.
 * @param {(fn: () => Promise<unknown>) => Promise<any>} [within] runs the measurement inside a context (the batch span)
 * @param {import('@batch/otel').AroundItem} [hook]
 */
async function perItem(
  within = (/** @type {() => Promise<unknown>} */ fn) => fn(),
  hook = batchTracing(),
) {
  const bare = handlerWith({});
  const traced = handlerWith({ aroundItem: hook });
  const options = { warmup: 10, runs: 30 };
  // Interleaved rounds, so that both sides see the same machine state; the best median of each.
  let baseline = Number.POSITIVE_INFINITY;
  let hooked = Number.POSITIVE_INFINITY;
  let baselineMin = Number.POSITIVE_INFINITY;
  let hookedMin = Number.POSITIVE_INFINITY;
  let batchBare = Number.POSITIVE_INFINITY;
  let batchTraced = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round++) {
    const a = await within(() => measure(() => callsThrough(direct), options));
    const b = await within(() => measure(() => callsThrough(hook), options));
    const c = await within(() => measure(() => runBatch(bare), options));
    const d = await within(() => measure(() => runBatch(traced), options));
    baseline = Math.min(baseline, a.median);
    baselineMin = Math.min(baselineMin, a.min);
    hooked = Math.min(hooked, b.median);
    hookedMin = Math.min(hookedMin, b.min);
    batchBare = Math.min(batchBare, c.median);
    batchTraced = Math.min(batchTraced, d.median);
  }
  return {
    hookUs: (hooked - baseline) / CALLS / 1000,
    hookMinUs: (hookedMin - baselineMin) / CALLS / 1000,
    batchUs: (batchTraced - batchBare) / ITEMS / 1000,
    batchBareMs: batchBare,
    batchTracedMs: batchTraced,
  };
}

/** The exporters, once the SDK is there: emptied before each timed run (the spans are dropped). */
/** @type {InMemorySpanExporter[]} */
const exporters = [];

const noSdk = await perItem();
check(trace.getActiveSpan() === undefined, 'no SDK: no span');

// The SDK, as an app that traces registers it, and a batch span with its route data active
// (what instrumentation-http makes for the batch request).
const exporter = new InMemorySpanExporter();
exporters.push(exporter);
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();
const batchSpan = provider.getTracer('bench').startSpan('POST /batch', { kind: SpanKind.SERVER });
const batchContext = setRPCMetadata(trace.setSpan(context.active(), batchSpan), {
  type: RPCType.HTTP,
  span: batchSpan,
});
const withSdk = await perItem((fn) => context.with(batchContext, fn));
const spans = exporter.getFinishedSpans();
check(spans.length > 0, 'the SDK recorded the item spans');
check(
  spans.every((span) => span.parentSpanContext?.spanId === batchSpan.spanContext().spanId),
  'every item span is a child of the batch span',
);
// What production setups use instead: a BatchSpanProcessor (spans exported off the hot path).
const batchedExporter = new InMemorySpanExporter();
exporters.push(batchedExporter);
const batched = new NodeTracerProvider({
  spanProcessors: [new BatchSpanProcessor(batchedExporter, { maxQueueSize: 100_000 })],
});
const withBatchProcessor = await perItem(
  (fn) => context.with(batchContext, fn),
  batchTracing({ tracerProvider: batched }),
);
await batched.forceFlush();
check(batchedExporter.getFinishedSpans().length > 0, 'the batch processor exported item spans');

batchSpan.end();
await Promise.all([provider.shutdown(), batched.shutdown()]);

const us = (/** @type {number} */ value) => `${value.toFixed(3)} µs`;
printTable(
  `tracing per item: batchTracing() alone (${CALLS} calls) and in a ${ITEMS}-item JSON batch (no-op dispatcher)`,
  [
    { header: 'setup', align: 'left' },
    { header: 'hook alone (median)' },
    { header: 'hook alone (min)' },
    { header: 'in a batch' },
    { header: 'batch ms without → with' },
  ],
  [
    [
      'no SDK (@opentelemetry/api only)',
      us(noSdk.hookUs),
      us(noSdk.hookMinUs),
      us(noSdk.batchUs),
      `${formatMs(noSdk.batchBareMs)} → ${formatMs(noSdk.batchTracedMs)}`,
    ],
    [
      'SDK + SimpleSpanProcessor + in-memory exporter',
      us(withSdk.hookUs),
      us(withSdk.hookMinUs),
      us(withSdk.batchUs),
      `${formatMs(withSdk.batchBareMs)} → ${formatMs(withSdk.batchTracedMs)}`,
    ],
    [
      'SDK + BatchSpanProcessor + in-memory exporter',
      us(withBatchProcessor.hookUs),
      us(withBatchProcessor.hookMinUs),
      us(withBatchProcessor.batchUs),
      `${formatMs(withBatchProcessor.batchBareMs)} → ${formatMs(withBatchProcessor.batchTracedMs)}`,
    ],
  ],
);
const met = noSdk.hookUs <= GOAL_NO_SDK_US;
console.log(
  `\nno SDK: ${us(noSdk.hookUs)} per item (goal ≤ ${GOAL_NO_SDK_US} µs): ${met ? 'met' : 'MISSED'}`,
);
