// End to end on loopback: 50 small-JSON GETs as one batch through each adapter's server,
// against the same 50 as sequential and as concurrent keep-alive requests, and against
// hapi 17 + bassmaster (the batch plugin of hapi) serving the same route.
//
//   node --expose-gc src/endToEnd.mjs
//
// Each server runs in its own child process (src/endToEnd.server.mjs, 127.0.0.1 only), so
// its CPU time is read apart from the client's (process.cpuUsage over IPC). The client is
// this process: node:http keep-alive Agents (one connection for a batch and for the
// sequential GETs, 50 for the concurrent ones, opened during the warm-up). Every variant's
// answer is checked once before it is timed. Goal misses are reported, never fatal.
//
// Server CPU is held against the concurrent GETs: the strongest direct setup (each
// sequential GET wakes the idle server on its own, which costs about twice as much per
// request).

import { fork } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { decodeBatchResponse, encodeBatchRequest } from '@batch/core';
import { articleJson, FRAMEWORKS, LABELS } from './apps.mjs';
import {
  check,
  forkedServer,
  formatMs,
  formatRatio,
  median,
  printTable,
  startWatchdog,
} from './measure.mjs';

const HOST = '127.0.0.1';
const ITEMS = 50;
const WARMUP = 50;
const ITERATIONS = 200;
/** The whole bench must end well within this; past it the servers are killed and it fails. */
const WATCHDOG_MS = 170_000;
const GOALS = /** @type {Record<string, number>} */ ({
  express5: 0.8,
  express4: 0.8,
  koa: 0.5,
  hono: 0.45,
});

const paths = Array.from({ length: ITEMS }, (_, i) => `/articles/${i + 1}`);
const expected = paths.map((_, i) => articleJson(i + 1));
const items = paths.map((path) => ({ method: 'GET', target: path }));
const jsonBatch = encodeBatchRequest('json', items);
const multipartBatch = encodeBatchRequest('multipart', items, { boundary: 'batch_bench' });
const bassmasterBatch = Buffer.from(
  JSON.stringify({ requests: paths.map((path) => ({ method: 'get', path })) }),
);

// --- Client ----------------------------------------------------------------------------------

/** One keep-alive connection (a batch, the sequential GETs); 50 for the concurrent GETs. */
const agents = {
  one: new Agent({ keepAlive: true, maxSockets: 1 }),
  many: new Agent({ keepAlive: true, maxSockets: ITEMS }),
};

/**
 * @typedef {object} Answer
 * @property {number} status
 * @property {string | undefined} contentType
 * @property {Buffer} body
 */

/**
 * One HTTP/1.1 request on the shared keep-alive agent; resolves with the whole answer.
 * @param {number} port
 * @param {string} method
 * @param {string} path
 * @param {{ contentType: string, body: Uint8Array }} [payload]
 * @returns {Promise<Answer>}
 */
function send(port, method, path, payload, agent = agents.one) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        agent,
        host: HOST,
        port,
        method,
        path,
        headers: payload ? { 'content-type': payload.contentType } : undefined,
      },
      (res) => {
        /** @type {Buffer[]} */
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: res.headers['content-type'],
            body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload?.body);
  });
}

// --- Variants ----------------------------------------------------------------------------------

/**
 * @typedef {object} Variant
 * @property {string} name
 * @property {'batch' | 'multipart' | 'sequential' | 'concurrent' | 'bassmaster'} kind
 * @property {(port: number) => Promise<unknown>} run One iteration: all ITEMS answered.
 * @property {(port: number) => Promise<void>} verify
 */

/** @param {Answer} answer @param {number} i @param {string} label */
function checkItem(answer, i, label) {
  check(answer.status === 200, `${label}: item ${i} status ${answer.status}`);
  check(answer.body.toString() === expected[i], `${label}: item ${i} body ${answer.body}`);
}

/**
 * @param {string} name
 * @param {'batch' | 'multipart'} kind
 * @param {{ contentType: string, body: Uint8Array }} payload
 * @returns {Variant}
 */
function batchVariant(name, kind, payload) {
  return {
    name,
    kind,
    run: (port) => send(port, 'POST', '/batch', payload),
    verify: async (port) => {
      const answer = await send(port, 'POST', '/batch', payload);
      check(answer.status === 200, `${name}: status ${answer.status} ${answer.body}`);
      const responses = await decodeBatchResponse({
        contentType: answer.contentType,
        body: answer.body,
      });
      check(responses.length === ITEMS, `${name}: ${responses.length} responses`);
      responses.forEach((response, i) => {
        checkItem({ ...response, contentType: '', body: Buffer.from(response.body) }, i, name);
      });
    },
  };
}

/** @type {Variant} */
const sequential = {
  name: `${ITEMS} sequential keep-alive GETs`,
  kind: 'sequential',
  run: async (port) => {
    for (const path of paths) await send(port, 'GET', path);
  },
  verify: async (port) => {
    for (let i = 0; i < ITEMS; i++) checkItem(await send(port, 'GET', paths[i]), i, 'sequential');
  },
};

/** @type {Variant} */
const concurrent = {
  name: `${ITEMS} concurrent keep-alive GETs`,
  kind: 'concurrent',
  run: (port) => Promise.all(paths.map((path) => send(port, 'GET', path, undefined, agents.many))),
  verify: async (port) => {
    const answers = await Promise.all(
      paths.map((path) => send(port, 'GET', path, undefined, agents.many)),
    );
    answers.forEach((answer, i) => {
      checkItem(answer, i, 'concurrent');
    });
  },
};

/** @type {Variant} */
const bassmaster = {
  name: `bassmaster: batch of ${ITEMS} (JSON)`,
  kind: 'bassmaster',
  run: (port) =>
    send(port, 'POST', '/batch', { contentType: 'application/json', body: bassmasterBatch }),
  verify: async (port) => {
    const answer = await send(port, 'POST', '/batch', {
      contentType: 'application/json',
      body: bassmasterBatch,
    });
    check(answer.status === 200, `bassmaster: status ${answer.status} ${answer.body}`);
    /** @type {unknown[]} */
    const results = JSON.parse(answer.body.toString());
    check(results.length === ITEMS, `bassmaster: ${results.length} results`);
    results.forEach((result, i) => {
      check(JSON.stringify(result) === expected[i], `bassmaster: item ${i}`);
    });
  },
};

// --- Servers ---------------------------------------------------------------------------------

const serverScript = fileURLToPath(new URL('endToEnd.server.mjs', import.meta.url));
/** @type {Set<import('node:child_process').ChildProcess>} */
const children = new Set();

/**
 * @typedef {object} Server
 * @property {number} port
 * @property {boolean} batch
 * @property {string} [reason] Why `batch` is false.
 * @property {() => Promise<number>} cpu The server process's CPU time so far, µs.
 * @property {() => Promise<void>} close
 */

/**
 * Forks one server process and waits until it listens.
 * @param {string} framework
 * @returns {Promise<Server>}
 */
function startServer(framework) {
  const child = fork(serverScript, [framework], {
    execArgv: ['--no-deprecation'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return forkedServer(child, framework, children);
}

startWatchdog('endToEnd', WATCHDOG_MS, children);

// --- Measure -------------------------------------------------------------------------------

/**
 * @typedef {object} Row
 * @property {string} framework
 * @property {Variant} variant
 * @property {number} p50 ns
 * @property {number} p90 ns
 * @property {number} serverCpu µs per item
 * @property {number} clientCpu µs per item
 */

/** @param {number[]} sorted @param {number} q */
const percentile = (sorted, q) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];

/**
 * Warms up, then times ITERATIONS iterations of one variant on one server.
 * @param {string} framework
 * @param {Server} server
 * @param {Variant} variant
 * @returns {Promise<Row>}
 */
async function measureVariant(framework, server, variant) {
  await variant.verify(server.port);
  // No forced collection before timing: a full gc() leaves this process costlier per request
  // for a while, which spreads the concurrent requests out (see versus.mjs).
  for (let i = 0; i < WARMUP; i++) await variant.run(server.port);
  /** @type {number[]} */
  const samples = [];
  const serverBefore = await server.cpu();
  const clientBefore = process.cpuUsage();
  for (let i = 0; i < ITERATIONS; i++) {
    const start = process.hrtime.bigint();
    await variant.run(server.port);
    samples.push(Number(process.hrtime.bigint() - start));
  }
  const client = process.cpuUsage(clientBefore);
  const serverAfter = await server.cpu();
  const sorted = samples.sort((a, b) => a - b);
  return {
    framework,
    variant,
    p50: median(sorted),
    p90: percentile(sorted, 0.9),
    serverCpu: (serverAfter - serverBefore) / (ITERATIONS * ITEMS),
    clientCpu: (client.user + client.system) / (ITERATIONS * ITEMS),
  };
}

/** @type {Row[]} */
const rows = [];
/** @type {Map<string, string>} */
const skipped = new Map();

/**
 * Runs every variant of one framework's server, then closes it.
 * @param {string} framework
 * @param {Variant[]} variants
 */
async function runServer(framework, variants) {
  const server = await startServer(framework);
  try {
    for (const variant of variants) {
      if ((variant.kind === 'batch' || variant.kind === 'multipart') && !server.batch) {
        skipped.set(`${framework} ${variant.name}`, server.reason ?? 'not built');
        console.log(
          `${LABELS[/** @type {keyof typeof LABELS} */ (framework)]}: ${variant.name}: ${server.reason}, skipped`,
        );
        continue;
      }
      rows.push(await measureVariant(framework, server, variant));
    }
  } finally {
    await server.close();
  }
}

const started = performance.now();
await runServer('hapi', [bassmaster, sequential, concurrent]);
for (const framework of FRAMEWORKS) {
  await runServer(framework, [
    batchVariant(`batch of ${ITEMS} (JSON)`, 'batch', jsonBatch),
    batchVariant(`batch of ${ITEMS} (multipart)`, 'multipart', multipartBatch),
    sequential,
    concurrent,
  ]);
}
agents.one.destroy();
agents.many.destroy();
const elapsed = (performance.now() - started) / 1000;

// --- Report --------------------------------------------------------------------------------

const reference = rows.find((row) => row.variant.kind === 'bassmaster');
check(reference !== undefined, 'bassmaster was measured');
/** @param {string} framework @param {Variant['kind']} kind */
const find = (framework, kind) =>
  rows.find((row) => row.framework === framework && row.variant.kind === kind);

/** @param {number} us */
const formatUs = (us) => (us >= 10 ? us.toFixed(1) : us.toFixed(2));

const tableRows = [];
for (const framework of ['hapi', ...FRAMEWORKS]) {
  const seq = find(framework, 'sequential');
  const conc = find(framework, 'concurrent');
  for (const row of rows.filter((candidate) => candidate.framework === framework)) {
    tableRows.push([
      LABELS[/** @type {keyof typeof LABELS} */ (framework)],
      row.variant.name,
      formatMs(row.p50),
      formatMs(row.p90),
      seq ? formatRatio(row.p50, seq.p50) : '',
      formatRatio(row.p50, reference.p50),
      formatUs(row.serverCpu),
      conc ? formatRatio(row.serverCpu, conc.serverCpu) : '',
      formatUs(row.clientCpu),
    ]);
  }
  for (const [key, reason] of skipped) {
    if (key.startsWith(`${framework} `)) {
      tableRows.push([
        LABELS[/** @type {keyof typeof LABELS} */ (framework)],
        key.slice(framework.length + 1),
        reason.startsWith('not built') ? 'not built' : 'skipped',
      ]);
    }
  }
}

printTable(
  `end to end on loopback (127.0.0.1): ${ITEMS} × GET /articles/:id (small JSON); ${ITERATIONS} iterations after ${WARMUP} warm-up; one node:http keep-alive Agent; each server in its own process`,
  [
    { header: 'server', align: 'left' },
    { header: 'variant', align: 'left' },
    { header: 'p50 ms' },
    { header: 'p90 ms' },
    { header: '× seq' },
    { header: '× bassm.' },
    { header: 'srv CPU µs/item' },
    { header: 'srv CPU × conc' },
    { header: 'client CPU µs/item' },
  ],
  tableRows,
);
console.log(
  `\n× seq: p50 against the same server's sequential p50. × bassm.: p50 against hapi 17 + bassmaster's p50.\nsrv CPU: the server process's user+system CPU over the ${ITERATIONS} timed iterations ÷ ${ITERATIONS * ITEMS} items (read over IPC before and after); × conc: against the same server's concurrent keep-alive GETs, the strongest direct setup.\nclient CPU: this process's (the client's) CPU the same way. Whole bench: ${elapsed.toFixed(1)} s.`,
);

console.log(
  '\ngoal: batch of 50 (JSON) p50 ≤ 0.5× bassmaster on Koa, ≤ 0.45× on Hono, ≤ 0.8× on Express',
);
for (const [framework, goal] of Object.entries(GOALS)) {
  const label = LABELS[/** @type {keyof typeof LABELS} */ (framework)];
  const row = find(framework, 'batch');
  if (row === undefined) {
    console.log(
      `  SKIP  ${label}: not measured (${skipped.get(`${framework} batch of ${ITEMS} (JSON)`) ?? 'no batch row'})`,
    );
    continue;
  }
  const ratio = row.p50 / reference.p50;
  console.log(
    `  ${ratio <= goal ? 'PASS' : 'MISS'}  ${label}: ${formatMs(row.p50)} ms vs bassmaster ${formatMs(reference.p50)} ms = ${ratio.toFixed(2)}× (goal ≤ ${goal}×)`,
  );
}
console.log(
  'info: server CPU per item, JSON batch vs concurrent / sequential keep-alive GETs (the concurrent ones are the baseline)',
);
for (const framework of FRAMEWORKS) {
  const batch = find(framework, 'batch');
  const seq = find(framework, 'sequential');
  const conc = find(framework, 'concurrent');
  if (batch === undefined || seq === undefined || conc === undefined) continue;
  console.log(
    `  ${LABELS[framework].padEnd(9)} ${formatUs(batch.serverCpu)} µs vs ${formatUs(conc.serverCpu)} / ${formatUs(seq.serverCpu)} µs = ${formatRatio(batch.serverCpu, conc.serverCpu)} / ${formatRatio(batch.serverCpu, seq.serverCpu)}`,
  );
}
