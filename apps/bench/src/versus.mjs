// What a batch must beat (ARCHITECTURE.md, "Benchmarks"): 50 GETs as one JSON batch against
// the same 50 over HTTP/2 (50 streams on one session), over HTTP/1.1 as 50 concurrent
// keep-alive requests and as 50 sequential ones on one connection, per framework (Hono on
// @hono/node-server, Koa 3, Express 5, Fastify 5), on loopback (0 ms RTT), in two scenarios:
//   (a) the GET handler answers at once (small JSON);
//   (b) the GET handler first awaits a 2 ms timer, as a database call would.
// Then the batch again in (b) with `concurrency` 1, 8, 16, 32 and 50, and as JSON Lines
// (`Accept: application/jsonl`). And, in both scenarios, writes: a batch of 50 POSTs (each
// a barrier: run alone, in order) with the default options against `concurrency: 1`. And,
// in (a), the fixed cost: one GET as a batch of one against the same GET sent directly.
//
//   node --expose-gc src/versus.mjs            (from apps/bench)
//   pnpm --filter @batch/bench bench versus
//   VERSUS=fastify node --expose-gc src/versus.mjs   (only the frameworks named, comma-separated)
//
// Each server runs in its own child process (src/versus.server.mjs, 127.0.0.1 only) so its
// CPU time is read apart from the client's (process.cpuUsage over IPC, as src/endToEnd.mjs
// does). The client is this process. Every answer of every iteration is checked (statuses
// and bodies), so a broken contender crashes the bench instead of reporting a fast time.
// Goals are printed PASS / MISS and never fail the bench.

import { fork } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { connect as http2Connect } from 'node:http2';
import { fileURLToPath } from 'node:url';
import { decodeBatchResponse, encodeBatchRequest } from '@batch/core';
import { check, forkedServer, formatMs, median, printTable, startWatchdog } from './measure.mjs';

const HOST = '127.0.0.1';
const ITEMS = 50;
const DELAY_MS = 2;
const CONCURRENCIES = [1, 8, 16, 32, 50];
/** Warm-up: at least WARMUP_MIN iterations, then until WARMUP_MAX or WARMUP_MS have passed. */
const WARMUP_MIN = 3;
const WARMUP_MAX = 30;
const WARMUP_MS = 500;
/**
 * Warm-up of the one-GET variants: a batch's per-batch code runs once per batch, not once
 * per item, so it reaches V8's optimising compiler only after a few thousand batches (a
 * batch of one costs the server about 3× its steady figure for the first thousand).
 */
const WARMUP_ONE = 3000;
/**
 * Timed iterations: about TIMED_MS of work per variant, within [TIMED_MIN, TIMED_MAX]
 * (TIMED_MAX_ONE for the one-GET variants, whose iterations are short).
 */
const TIMED_MS = 2500;
const TIMED_MIN = 20;
const TIMED_MAX = 300;
const TIMED_MAX_ONE = 1500;
/** The timed iterations of one server's variants are interleaved in this many rounds. */
const ROUNDS = 10;
/** Past this the servers are killed and the bench fails (a hang is a crash). */
const WATCHDOG_MS = 300_000;

const ALL_FRAMEWORKS = /** @type {const} */ (['hono', 'koa', 'express', 'fastify']);
/** @typedef {typeof ALL_FRAMEWORKS[number]} Framework */
const only = process.env.VERSUS?.split(',');
const FRAMEWORKS = ALL_FRAMEWORKS.filter((name) => only === undefined || only.includes(name));
const LABELS = /** @type {Record<Framework, string>} */ ({
  hono: 'Hono (@hono/node-server)',
  koa: 'Koa 3',
  express: 'Express 5',
  fastify: 'Fastify 5',
});
const SHORT = /** @type {Record<Framework, string>} */ ({
  hono: 'Hono',
  koa: 'Koa',
  express: 'Express',
  fastify: 'Fastify',
});

/** The columns of the per-framework tables. */
const KINDS = /** @type {const} */ (['batch', 'jsonl', 'h2', 'concurrent', 'sequential']);
/**
 * `writes`: the batch of 50 POSTs (its own table); `batch1` and `one`: the fixed cost, a
 * batch of one GET against the same GET sent directly (their own table).
 * @typedef {typeof KINDS[number] | 'writes' | 'batch1' | 'one'} Kind
 */
const KIND_LABELS = /** @type {Record<Kind, string>} */ ({
  batch: 'batch (1 POST)',
  jsonl: 'batch, JSON Lines',
  writes: 'batch of 50 POSTs',
  batch1: 'batch of 1 GET',
  one: '1 GET, direct',
  h2: 'HTTP/2, 50 streams',
  concurrent: 'HTTP/1.1, 50 concurrent',
  sequential: 'HTTP/1.1, 50 sequential',
});

const paths = Array.from({ length: ITEMS }, (_, i) => `/items/${i + 1}`);
const expected = paths.map((_, i) => JSON.stringify({ id: i + 1, title: `Item ${i + 1}` }));
const jsonBatch = encodeBatchRequest(
  'json',
  paths.map((path) => ({ method: 'GET', target: path })),
);
/** The fixed cost: one GET as a batch of one. */
const oneItemBatch = encodeBatchRequest('json', [{ method: 'GET', target: paths[0] }]);
/** 50 × `POST /items` with a small JSON body; each answers 201 `{"n":i,"seq":…,"alone":…}`. */
const writeBatch = encodeBatchRequest(
  'json',
  paths.map((_, i) => ({
    method: 'POST',
    target: '/items',
    headers: [['content-type', 'application/json']],
    body: JSON.stringify({ n: i, title: `New item ${i}` }),
  })),
);

// --- Header ----------------------------------------------------------------------------------

/** @param {string} name */
function versionOf(name) {
  try {
    const url = new URL(`../node_modules/${name}/package.json`, import.meta.url);
    return JSON.parse(readFileSync(url, 'utf8')).version;
  } catch {
    return '?';
  }
}

/** What the built @batch/core says its default concurrency is (read from its dist). */
function builtDefaultConcurrency() {
  try {
    const url = new URL('../node_modules/@batch/core/dist/index.js', import.meta.url);
    const match = /DEFAULT_CONCURRENCY\s*=\s*(\d+)/.exec(readFileSync(url, 'utf8'));
    return `${match ? match[1] : '?'} (dist built ${statSync(url).mtime.toISOString()})`;
  } catch {
    return '? (no dist)';
  }
}

console.log(
  `versus: batch vs HTTP/2 vs HTTP/1.1 keep-alive — Node ${process.version}, ${new Date().toISOString()}`,
);
console.log(
  `hono ${versionOf('hono')}, @hono/node-server ${versionOf('@hono/node-server')}, koa ${versionOf('koa')}, @koa/router ${versionOf('@koa/router')}, express ${versionOf('express')}, fastify ${versionOf('fastify')}; @batch/core default concurrency ${builtDefaultConcurrency()}`,
);

// --- Servers ---------------------------------------------------------------------------------

/** Printed at the end: oddities seen during the run. @type {string[]} */
const notes = [];

const serverScript = fileURLToPath(new URL('versus.server.mjs', import.meta.url));
/** @type {Set<import('node:child_process').ChildProcess>} */
const children = new Set();

/**
 * @typedef {object} Server
 * @property {number} port HTTP/1.1
 * @property {number | null} h2Port HTTP/2 without TLS; null when the framework has none.
 * @property {boolean} batch
 * @property {string} [reason] Why `batch` is false.
 * @property {() => Promise<number>} cpu The server process's CPU time so far, µs.
 * @property {() => Promise<void>} close
 */

/**
 * Forks one server process and waits until it listens (endToEnd.mjs's protocol). The
 * process warnings it caught (it runs with --no-warnings) are added to `notes` on close.
 * @param {Framework} framework
 * @param {number} delayMs
 * @param {readonly number[]} concurrencies extra batch routes `/batch-c<N>`
 * @returns {Promise<Server>}
 */
function startServer(framework, delayMs, concurrencies) {
  const label = `${SHORT[framework]} (${delayMs > 0 ? 'b' : 'a'})`;
  const child = fork(serverScript, [framework, String(delayMs), concurrencies.join(',')], {
    execArgv: ['--no-warnings'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return forkedServer(child, framework, children, (message) => {
    if (message.type === 'warnings') {
      for (const { text, count } of message.warnings) {
        notes.push(`${label} server: ${count}× ${text}`);
      }
    }
  });
}

startWatchdog('versus', WATCHDOG_MS, children);

// --- Clients ---------------------------------------------------------------------------------

/**
 * A keep-alive node:http Agent that counts the connections it opens.
 * @param {number} maxSockets
 */
function countingAgent(maxSockets) {
  const agent = new Agent({ keepAlive: true, maxSockets });
  let opened = 0;
  const createConnection = agent.createConnection;
  /** @type {any} */ (agent).createConnection = function (/** @type {any[]} */ ...args) {
    opened++;
    return createConnection.apply(this, /** @type {any} */ (args));
  };
  return { agent, opened: () => opened };
}

/**
 * One HTTP/1.1 request; resolves with the whole answer.
 * @param {Agent} agent
 * @param {number} port
 * @param {string} method
 * @param {string} path
 * @param {{ contentType: string, body: Uint8Array }} [payload]
 * @param {string} [accept]
 * @returns {Promise<{ status: number, contentType: string | undefined, body: Buffer }>}
 */
function send(agent, port, method, path, payload, accept) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        agent,
        host: HOST,
        port,
        method,
        path,
        headers: payload
          ? { 'content-type': payload.contentType, ...(accept ? { accept } : {}) }
          : undefined,
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

/**
 * One GET on an HTTP/2 session (a new stream); resolves with the whole answer.
 * @param {import('node:http2').ClientHttp2Session} session
 * @param {string} path
 * @returns {Promise<{ status: number, body: Buffer }>}
 */
function h2Get(session, path) {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ':path': path }, { endStream: true });
    let status = 0;
    /** @type {Buffer[]} */
    const chunks = [];
    stream.on('response', (headers) => {
      status = Number(headers[':status']);
    });
    stream.on('data', (chunk) => chunks.push(chunk));
    stream.on('error', reject);
    stream.on('end', () =>
      resolve({ status, body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks) }),
    );
  });
}

/**
 * Opens an h2c session and waits until it is connected.
 * @param {number} port
 * @returns {Promise<import('node:http2').ClientHttp2Session>}
 */
function h2Session(port) {
  return new Promise((resolve, reject) => {
    const session = http2Connect(`http://${HOST}:${port}`);
    session.once('error', reject);
    session.once('connect', () => {
      session.off('error', reject);
      session.on('error', (error) => {
        console.error(`HTTP/2 session error: ${error.message}`);
      });
      resolve(session);
    });
  });
}

/**
 * Throws unless the i-th answer is 200 with the i-th item's JSON.
 * @param {{ status: number, body: Uint8Array }} answer @param {number} i @param {string} label
 */
function checkItem(answer, i, label) {
  if (answer.status !== 200 || Buffer.from(answer.body).toString() !== expected[i]) {
    check(false, `${label}: item ${i}: status ${answer.status}, body ${Buffer.from(answer.body)}`);
  }
}

// --- Variants --------------------------------------------------------------------------------

/**
 * @typedef {object} Variant
 * @property {string} name
 * @property {Kind} kind
 * @property {number | undefined} concurrency the batch route's `concurrency`; undefined = default
 * @property {() => Promise<void>} run One iteration: all its items answered and checked.
 * @property {number} [items] Sub-requests per iteration (CPU is per sub-request). @default ITEMS
 * @property {() => number} connections Connections (or sessions) opened so far.
 */

/**
 * @param {Server} server
 * @param {string} label
 * @param {number | undefined} concurrency
 * @returns {Variant}
 */
function batchVariant(server, label, concurrency) {
  const { agent, opened } = countingAgent(1);
  const path = concurrency === undefined ? '/batch' : `/batch-c${concurrency}`;
  const name = concurrency === undefined ? 'batch' : `batch with concurrency ${concurrency}`;
  return {
    name,
    kind: 'batch',
    concurrency,
    connections: opened,
    run: async () => {
      const answer = await send(agent, server.port, 'POST', path, jsonBatch);
      check(answer.status === 200, `${label} ${name}: status ${answer.status} ${answer.body}`);
      const responses = await decodeBatchResponse({
        contentType: answer.contentType,
        body: answer.body,
      });
      check(responses.length === ITEMS, `${label} ${name}: ${responses.length} responses`);
      for (let i = 0; i < ITEMS; i++) checkItem(responses[i], i, `${label} ${name}`);
    },
  };
}

/**
 * The 50-GET batch with `Accept: application/jsonl`: answered as JSON Lines, one line per
 * item in completion order. One iteration ends when the whole body has been read; every
 * line is parsed and every index 0..49 must appear once, with its item's answer.
 * @param {Server} server
 * @param {string} label
 * @returns {Variant}
 */
function jsonLinesVariant(server, label) {
  const { agent, opened } = countingAgent(1);
  const name = 'batch, JSON Lines';
  return {
    name,
    kind: 'jsonl',
    concurrency: undefined,
    connections: opened,
    run: async () => {
      const answer = await send(
        agent,
        server.port,
        'POST',
        '/batch',
        jsonBatch,
        'application/jsonl',
      );
      check(answer.status === 200, `${label} ${name}: status ${answer.status} ${answer.body}`);
      check(
        /^application\/jsonl\b/.test(answer.contentType ?? ''),
        `${label} ${name}: Content-Type ${answer.contentType}`,
      );
      const seen = new Uint8Array(ITEMS);
      let lines = 0;
      for (const line of answer.body.toString('utf8').split('\n')) {
        if (line.trim() === '') continue;
        lines++;
        /** @type {any} */
        let item;
        try {
          item = JSON.parse(line);
        } catch {
          check(false, `${label} ${name}: line ${lines} is not JSON: ${line}`);
        }
        const index = item?.index;
        check(
          Number.isInteger(index) && index >= 0 && index < ITEMS && seen[index] === 0,
          `${label} ${name}: line ${lines}: index ${index} out of range or seen twice`,
        );
        seen[index] = 1;
        check(
          item.status === 200 && JSON.stringify(item.body) === expected[index],
          `${label} ${name}: item ${index}: status ${item.status}, body ${JSON.stringify(item.body)}`,
        );
      }
      check(lines === ITEMS, `${label} ${name}: ${lines} lines`);
    },
  };
}

/**
 * The batch of 50 POSTs, on `/batch` (default options) or `/batch-c<concurrency>`. Every
 * item must answer 201 with its own `n`; and each must have run alone (`alone`), in request
 * order (`seq` rising with the index): writes are barriers.
 * @param {Server} server
 * @param {string} label
 * @param {number | undefined} concurrency
 * @returns {Variant}
 */
function writesVariant(server, label, concurrency) {
  const { agent, opened } = countingAgent(1);
  const path = concurrency === undefined ? '/batch' : `/batch-c${concurrency}`;
  const name = `batch of ${ITEMS} POSTs${concurrency === undefined ? '' : `, concurrency ${concurrency}`}`;
  return {
    name,
    kind: 'writes',
    concurrency,
    connections: opened,
    run: async () => {
      const answer = await send(agent, server.port, 'POST', path, writeBatch);
      check(answer.status === 200, `${label} ${name}: status ${answer.status} ${answer.body}`);
      const responses = await decodeBatchResponse({
        contentType: answer.contentType,
        body: answer.body,
      });
      check(responses.length === ITEMS, `${label} ${name}: ${responses.length} responses`);
      let seq = 0;
      for (let i = 0; i < ITEMS; i++) {
        const text = Buffer.from(responses[i].body).toString();
        /** @type {any} */
        let body;
        try {
          body = JSON.parse(text);
        } catch {
          body = undefined;
        }
        check(
          responses[i].status === 201 && body?.n === i,
          `${label} ${name}: item ${i}: status ${responses[i].status}, body ${text}`,
        );
        check(
          body.alone === true && body.seq > seq,
          `${label} ${name}: item ${i} ran ${body.alone ? '' : 'beside another POST, '}as POST #${body.seq} after #${seq}: writes out of order`,
        );
        seq = body.seq;
      }
    },
  };
}

/**
 * @param {import('node:http2').ClientHttp2Session} session
 * @param {string} label
 * @returns {Variant}
 */
function h2Variant(session, label) {
  return {
    name: 'HTTP/2',
    kind: 'h2',
    concurrency: undefined,
    connections: () => 1,
    run: async () => {
      check(!session.closed && !session.destroyed, `${label} HTTP/2: the session was closed`);
      const answers = await Promise.all(paths.map((path) => h2Get(session, path)));
      for (let i = 0; i < ITEMS; i++) checkItem(answers[i], i, `${label} HTTP/2`);
    },
  };
}

/** @param {Server} server @param {string} label @returns {Variant} */
function concurrentVariant(server, label) {
  const { agent, opened } = countingAgent(ITEMS);
  return {
    name: 'HTTP/1.1 concurrent',
    kind: 'concurrent',
    concurrency: undefined,
    connections: opened,
    run: async () => {
      const answers = await Promise.all(paths.map((path) => send(agent, server.port, 'GET', path)));
      for (let i = 0; i < ITEMS; i++) checkItem(answers[i], i, `${label} HTTP/1.1 concurrent`);
    },
  };
}

/** @param {Server} server @param {string} label @returns {Variant} */
function sequentialVariant(server, label) {
  const { agent, opened } = countingAgent(1);
  return {
    name: 'HTTP/1.1 sequential',
    kind: 'sequential',
    concurrency: undefined,
    connections: opened,
    run: async () => {
      for (let i = 0; i < ITEMS; i++) {
        checkItem(
          await send(agent, server.port, 'GET', paths[i]),
          i,
          `${label} HTTP/1.1 sequential`,
        );
      }
    },
  };
}

/**
 * The fixed cost of a batch (SPEC's clients send what one tick gathered, often one call):
 * `GET /items/1` as a batch of one, on its own keep-alive connection.
 * @param {Server} server @param {string} label @returns {Variant}
 */
function oneItemBatchVariant(server, label) {
  const { agent, opened } = countingAgent(1);
  const name = 'batch of 1 GET';
  return {
    name,
    kind: 'batch1',
    concurrency: undefined,
    items: 1,
    connections: opened,
    run: async () => {
      const answer = await send(agent, server.port, 'POST', '/batch', oneItemBatch);
      check(answer.status === 200, `${label} ${name}: status ${answer.status} ${answer.body}`);
      const responses = await decodeBatchResponse({
        contentType: answer.contentType,
        body: answer.body,
      });
      check(responses.length === 1, `${label} ${name}: ${responses.length} responses`);
      checkItem(responses[0], 0, `${label} ${name}`);
    },
  };
}

/**
 * The same `GET /items/1` sent directly, on its own keep-alive connection: what the batch
 * of one is held against.
 * @param {Server} server @param {string} label @returns {Variant}
 */
function oneGetVariant(server, label) {
  const { agent, opened } = countingAgent(1);
  return {
    name: '1 GET, direct',
    kind: 'one',
    concurrency: undefined,
    items: 1,
    connections: opened,
    run: async () => {
      checkItem(await send(agent, server.port, 'GET', paths[0]), 0, `${label} 1 GET, direct`);
    },
  };
}

// --- Measure ---------------------------------------------------------------------------------

/**
 * @typedef {object} Result
 * @property {Framework} framework
 * @property {'a' | 'b'} scenario
 * @property {Kind} kind
 * @property {number | undefined} concurrency
 * @property {number} p50 ns
 * @property {number} p90 ns
 * @property {number} iterations
 * @property {number} serverCpu µs per sub-request
 * @property {number} clientCpu µs per sub-request
 * @property {number} connections opened before timing
 * @property {number} newConnections opened during timing (should be 0)
 */

/** @param {number[]} sorted @param {number} q */
const percentile = (sorted, q) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];

/** @type {Result[]} */
const results = [];

/**
 * Warms up every variant (the first run is the answer check), then times them interleaved:
 * ROUNDS rounds, each running a block of every variant's iterations in turn, so a slow
 * spell of the machine falls on all of them. Server and client CPU are read around each
 * block.
 * @param {Framework} framework
 * @param {'a' | 'b'} scenario
 * @param {Server} server
 * @param {Variant[]} variants
 */
async function measureAll(framework, scenario, server, variants) {
  const states = [];
  for (const variant of variants) {
    /** @type {number[]} */
    const warm = [];
    const warmStart = performance.now();
    while (
      warm.length < WARMUP_MIN ||
      (variant.items === 1
        ? warm.length < WARMUP_ONE
        : warm.length < WARMUP_MAX && performance.now() - warmStart < WARMUP_MS)
    ) {
      const start = process.hrtime.bigint();
      await variant.run();
      warm.push(Number(process.hrtime.bigint() - start));
    }
    const target = Math.max(
      TIMED_MIN,
      Math.min(
        variant.items === 1 ? TIMED_MAX_ONE : TIMED_MAX,
        Math.round((TIMED_MS * 1e6) / median(warm)),
      ),
    );
    states.push({
      variant,
      target,
      block: Math.ceil(target / ROUNDS),
      /** @type {number[]} */ samples: [],
      serverCpu: 0,
      clientCpu: 0,
      connections: variant.connections(),
    });
  }
  while (states.some((state) => state.samples.length < state.target)) {
    for (const state of states) {
      const count = Math.min(state.block, state.target - state.samples.length);
      if (count <= 0) continue;
      // No forced collection here: a full gc() leaves a process several times costlier per
      // request for a while after it, and a slowed client spreads the 50 concurrent requests
      // out, so that the server pays an event-loop turn for each (its CPU per request rose
      // by 5–45 % in A/B runs). The baseline must be the strongest setup a user would run.
      const serverBefore = await server.cpu();
      const clientBefore = process.cpuUsage();
      for (let i = 0; i < count; i++) {
        const start = process.hrtime.bigint();
        await state.variant.run();
        state.samples.push(Number(process.hrtime.bigint() - start));
      }
      const client = process.cpuUsage(clientBefore);
      state.serverCpu += (await server.cpu()) - serverBefore;
      state.clientCpu += client.user + client.system;
    }
  }
  for (const state of states) {
    const sorted = state.samples.sort((a, b) => a - b);
    const items = sorted.length * (state.variant.items ?? ITEMS);
    const result = {
      framework,
      scenario,
      kind: state.variant.kind,
      concurrency: state.variant.concurrency,
      p50: median(sorted),
      p90: percentile(sorted, 0.9),
      iterations: sorted.length,
      serverCpu: state.serverCpu / items,
      clientCpu: state.clientCpu / items,
      connections: state.connections,
      newConnections: state.variant.connections() - state.connections,
    };
    results.push(result);
    if (result.newConnections > 0) {
      notes.push(
        `${SHORT[framework]} (${scenario}) ${state.variant.name}: ${result.newConnections} new connection(s) during the timed runs`,
      );
    }
  }
}

/** @type {Map<Framework, string>} */
const skipped = new Map();

/**
 * One server process for one framework and scenario: its variants, then close.
 * @param {Framework} framework
 * @param {'a' | 'b'} scenario
 */
async function runScenario(framework, scenario) {
  const delayMs = scenario === 'a' ? 0 : DELAY_MS;
  // (b): the GET batch on every /batch-c<N>; both: the writes on /batch-c1.
  const extra = scenario === 'b' ? CONCURRENCIES : [];
  const server = await startServer(framework, delayMs, extra.includes(1) ? extra : [1, ...extra]);
  const label = `${SHORT[framework]} (${scenario})`;
  /** @type {import('node:http2').ClientHttp2Session | undefined} */
  let session;
  try {
    /** @type {Variant[]} */
    const variants = [];
    if (server.batch) variants.push(batchVariant(server, label, undefined));
    else skipped.set(framework, server.reason ?? 'not built');
    if (server.h2Port !== null) {
      session = await h2Session(server.h2Port);
      variants.push(h2Variant(session, label));
    }
    variants.push(concurrentVariant(server, label), sequentialVariant(server, label));
    if (server.batch) {
      if (scenario === 'b') variants.push(jsonLinesVariant(server, label));
      for (const concurrency of extra) variants.push(batchVariant(server, label, concurrency));
      variants.push(writesVariant(server, label, undefined), writesVariant(server, label, 1));
    }
    if (scenario === 'a') {
      variants.push(oneGetVariant(server, label));
      if (server.batch) variants.push(oneItemBatchVariant(server, label));
    }
    const started = performance.now();
    await measureAll(framework, scenario, server, variants);
    console.log(
      `  measured ${label}: ${variants.length} variants in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
  } finally {
    session?.close();
    await server.close();
  }
}

const started = performance.now();
for (const framework of FRAMEWORKS) {
  for (const scenario of /** @type {const} */ (['a', 'b'])) await runScenario(framework, scenario);
}
const elapsed = (performance.now() - started) / 1000;

// --- Report ----------------------------------------------------------------------------------

/**
 * @param {Framework} framework @param {'a' | 'b'} scenario @param {Kind} kind
 * @param {number} [concurrency]
 */
const find = (framework, scenario, kind, concurrency) =>
  results.find(
    (r) =>
      r.framework === framework &&
      r.scenario === scenario &&
      r.kind === kind &&
      r.concurrency === concurrency,
  );

/** @param {number} us */
const formatUs = (us) => (us >= 10 ? us.toFixed(0) : us.toFixed(1));
/** Connections opened before timing, `+N` for any opened during it. @param {Result} r */
const connections = (r) => `${r.connections}${r.newConnections > 0 ? ` +${r.newConnections}` : ''}`;
/** @param {number} ratio */
const formatX = (ratio) => `${ratio.toFixed(2)}×`;

console.log(
  `\n${ITEMS} × GET /items/:id (JSON {id,title}) on ${HOST}, 0 ms RTT; each server in its own process. Warm-up ${WARMUP_MIN}–${WARMUP_MAX} iterations, then ~${TIMED_MS / 1000} s of timed iterations per cell (${TIMED_MIN}–${TIMED_MAX}), interleaved in ${ROUNDS} rounds.`,
);
console.log(
  `(a): the GET answers at once; (b): the GET awaits a ${DELAY_MS} ms timer first. p50/p90: wall time of the whole operation (all ${ITEMS} answered and checked). CPU: process.cpuUsage() user+system over the timed iterations ÷ sub-requests (server read over IPC). n: timed iterations. connections: TCP connections the client opened (HTTP/2: one session).`,
);

for (const framework of FRAMEWORKS) {
  /**
   * @param {string} label @param {'a' | 'b'} scenario
   * @param {(r: Result) => string} cell
   */
  const row = (label, scenario, cell) => [
    label,
    ...KINDS.map((kind) => {
      const r = find(framework, scenario, kind);
      if (r !== undefined) return cell(r);
      return (kind === 'batch' || (kind === 'jsonl' && scenario === 'b')) && skipped.has(framework)
        ? 'not built'
        : '–';
    }),
  ];
  printTable(
    `${LABELS[framework]}`,
    [{ header: '', align: 'left' }, ...KINDS.map((kind) => ({ header: KIND_LABELS[kind] }))],
    [
      row('(a) p50 / p90 ms', 'a', (r) => `${formatMs(r.p50)} / ${formatMs(r.p90)}`),
      row('(a) server CPU µs/sub-request', 'a', (r) => formatUs(r.serverCpu)),
      row('(a) client CPU µs/sub-request', 'a', (r) => formatUs(r.clientCpu)),
      row('(a) n', 'a', (r) => String(r.iterations)),
      row('(a) connections', 'a', connections),
      row(
        `(b) p50 / p90 ms, ${DELAY_MS} ms await`,
        'b',
        (r) => `${formatMs(r.p50)} / ${formatMs(r.p90)}`,
      ),
      row('(b) server CPU µs/sub-request', 'b', (r) => formatUs(r.serverCpu)),
      row('(b) n', 'b', (r) => String(r.iterations)),
      row('(b) connections', 'b', connections),
    ],
  );
  const conc = find(framework, 'b', 'concurrent');
  const h2 = find(framework, 'b', 'h2');
  for (const concurrency of CONCURRENCIES) {
    const r = find(framework, 'b', 'batch', concurrency);
    if (r === undefined) {
      console.log(
        `  (b) batch with concurrency ${concurrency}: ${skipped.get(framework) ?? 'not measured'}`,
      );
      continue;
    }
    const against = [
      conc ? `${formatX(r.p50 / conc.p50)} HTTP/1.1 concurrent` : '',
      h2 ? `${formatX(r.p50 / h2.p50)} HTTP/2` : '',
    ]
      .filter(Boolean)
      .join(', ');
    console.log(
      `  (b) batch with concurrency ${String(concurrency).padStart(2)}: p50 ${formatMs(r.p50)} ms, p90 ${formatMs(r.p90)} ms, server CPU ${formatUs(r.serverCpu)} µs/sub-request, n ${r.iterations}; p50 = ${against}`,
    );
  }
}

// Ratios of the default batch against each baseline, same run.
/** @type {string[][]} */
const ratioRows = [];
for (const framework of FRAMEWORKS) {
  for (const scenario of /** @type {const} */ (['a', 'b'])) {
    const batch = find(framework, scenario, 'batch');
    if (batch === undefined) continue;
    /** @param {'p50' | 'serverCpu'} metric */
    const cells = (metric) =>
      /** @type {const} */ (['h2', 'concurrent', 'sequential']).map((kind) => {
        const base = find(framework, scenario, kind);
        return base === undefined ? '–' : formatX(batch[metric] / base[metric]);
      });
    ratioRows.push([SHORT[framework], `(${scenario}) p50`, ...cells('p50')]);
    const lines = find(framework, scenario, 'jsonl');
    if (lines !== undefined) {
      ratioRows.push([
        SHORT[framework],
        `(${scenario}) p50, JSON Lines`,
        .../** @type {const} */ (['h2', 'concurrent', 'sequential']).map((kind) => {
          const base = find(framework, scenario, kind);
          return base === undefined ? '–' : formatX(lines.p50 / base.p50);
        }),
      ]);
    }
    if (scenario === 'a')
      ratioRows.push([SHORT[framework], `(${scenario}) server CPU`, ...cells('serverCpu')]);
  }
}
printTable(
  'batch (default options) ÷ baseline, same run',
  [
    { header: 'framework', align: 'left' },
    { header: 'metric', align: 'left' },
    { header: '÷ HTTP/2' },
    { header: '÷ HTTP/1.1 concurrent' },
    { header: '÷ HTTP/1.1 sequential' },
  ],
  ratioRows,
);

// Writes: the batch of 50 POSTs with the default options against `concurrency: 1`.
/** The writes goal: default-options p50 ≤ this × the concurrency-1 p50. */
const WRITES_MAX = 1.1;
/** @type {string[][]} */
const writeRows = [];
for (const framework of FRAMEWORKS) {
  for (const scenario of /** @type {const} */ (['a', 'b'])) {
    const byDefault = find(framework, scenario, 'writes');
    const one = find(framework, scenario, 'writes', 1);
    if (byDefault === undefined || one === undefined) {
      const why = skipped.get(framework) ?? 'not measured';
      writeRows.push([SHORT[framework], `(${scenario})`, why, why, '–', '–', '–']);
      continue;
    }
    writeRows.push([
      SHORT[framework],
      `(${scenario})`,
      `${formatMs(byDefault.p50)} / ${formatMs(byDefault.p90)}`,
      `${formatMs(one.p50)} / ${formatMs(one.p90)}`,
      formatX(byDefault.p50 / one.p50),
      `${formatUs(byDefault.serverCpu)} / ${formatUs(one.serverCpu)}`,
      `${byDefault.iterations} / ${one.iterations}`,
    ]);
  }
}
printTable(
  `writes keep their order: one batch of ${ITEMS} × POST /items (small JSON body; 201 at once in (a), after a ${DELAY_MS} ms await in (b)), default options vs { concurrency: 1 } (strictly one after another: what the engine did before); every item checked to have run alone and in order`,
  [
    { header: 'framework', align: 'left' },
    { header: 'scenario', align: 'left' },
    { header: 'default p50 / p90 ms' },
    { header: 'concurrency 1 p50 / p90 ms' },
    { header: 'p50 ÷ concurrency 1' },
    { header: 'server CPU µs/item default / c1' },
    { header: 'n default / c1' },
  ],
  writeRows,
);

// The fixed cost: a batch of one GET against the same GET sent directly, each on its own
// keep-alive connection, one after another.
/** @type {string[][]} */
const fixedRows = [];
for (const framework of FRAMEWORKS) {
  const one = find(framework, 'a', 'one');
  const batch1 = find(framework, 'a', 'batch1');
  if (one === undefined) continue;
  fixedRows.push([
    SHORT[framework],
    batch1 === undefined ? (skipped.get(framework) ?? 'not measured') : formatUs(batch1.serverCpu),
    formatUs(one.serverCpu),
    batch1 === undefined ? '–' : formatX(batch1.serverCpu / one.serverCpu),
    batch1 === undefined ? '–' : `${formatMs(batch1.p50)} / ${formatMs(one.p50)}`,
    `${batch1?.iterations ?? '–'} / ${one.iterations}`,
  ]);
}
printTable(
  `fixed cost (a): GET ${paths[0]} as a batch of one (JSON, default options) vs the same GET sent directly, each on its own keep-alive connection; server CPU per iteration`,
  [
    { header: 'framework', align: 'left' },
    { header: 'batch of 1 µs' },
    { header: '1 GET µs' },
    { header: 'batch ÷ GET' },
    { header: 'p50 ms batch / GET' },
    { header: 'n batch / GET' },
  ],
  fixedRows,
);

/**
 * @typedef {object} Goal
 * @property {Framework} framework
 * @property {'batch' | 'batch1'} [subject] what is held against the baseline @default 'batch'
 * @property {'a' | 'b'} scenario
 * @property {'p50' | 'serverCpu'} metric
 * @property {'h2' | 'concurrent' | 'one'} against
 * @property {number} max
 * @property {boolean} [info] printed, but not one of the goals
 */
/** @type {Goal[]} */
const goals = [
  ...FRAMEWORKS.map((framework) => ({
    framework,
    scenario: /** @type {const} */ ('b'),
    metric: /** @type {const} */ ('p50'),
    against: /** @type {const} */ ('concurrent'),
    max: 1.5,
  })),
  { framework: 'hono', scenario: 'b', metric: 'p50', against: 'h2', max: 1.2 },
  { framework: 'koa', scenario: 'b', metric: 'p50', against: 'h2', max: 1.2, info: true },
  { framework: 'hono', scenario: 'a', metric: 'serverCpu', against: 'concurrent', max: 0.25 },
  { framework: 'hono', scenario: 'a', metric: 'serverCpu', against: 'h2', max: 0.2 },
  { framework: 'hono', scenario: 'a', metric: 'p50', against: 'h2', max: 0.5 },
  { framework: 'koa', scenario: 'a', metric: 'serverCpu', against: 'concurrent', max: 0.5 },
  { framework: 'koa', scenario: 'a', metric: 'serverCpu', against: 'h2', max: 0.3 },
  { framework: 'koa', scenario: 'a', metric: 'p50', against: 'h2', max: 0.5 },
  { framework: 'express', scenario: 'a', metric: 'serverCpu', against: 'concurrent', max: 0.35 },
  { framework: 'fastify', scenario: 'a', metric: 'serverCpu', against: 'concurrent', max: 0.5 },
  { framework: 'fastify', scenario: 'a', metric: 'p50', against: 'h2', max: 0.5 },
  // The fixed cost: a batch of one costs the server ≤ 1.5× the same GET sent directly.
  .../** @type {const} */ (['hono', 'koa', 'express']).map((framework) => ({
    framework,
    subject: /** @type {const} */ ('batch1'),
    scenario: /** @type {const} */ ('a'),
    metric: /** @type {const} */ ('serverCpu'),
    against: /** @type {const} */ ('one'),
    max: 1.5,
  })),
].filter((goal) => FRAMEWORKS.includes(goal.framework));

console.log('\ngoals (batch with default options; ratios against baselines of the same run):');
for (const goal of goals) {
  const subject = goal.subject ?? 'batch';
  const batch = find(goal.framework, goal.scenario, subject);
  const base = find(goal.framework, goal.scenario, goal.against);
  const what = `${SHORT[goal.framework]} (${goal.scenario}) ${subject === 'batch' ? 'batch' : KIND_LABELS[subject]} ${goal.metric === 'p50' ? 'p50' : 'server CPU/sub-request'} ≤ ${goal.max}× ${KIND_LABELS[goal.against]}`;
  if (batch === undefined || base === undefined) {
    console.log(`  SKIP      ${what}: ${skipped.get(goal.framework) ?? 'not measured'}`);
    continue;
  }
  const ratio = batch[goal.metric] / base[goal.metric];
  const shown =
    goal.metric === 'p50'
      ? `${formatMs(batch.p50)} ms vs ${formatMs(base.p50)} ms`
      : `${formatUs(batch.serverCpu)} µs vs ${formatUs(base.serverCpu)} µs`;
  const verdict = ratio <= goal.max ? 'PASS' : 'MISS';
  console.log(
    `  ${(goal.info ? `(${verdict})` : verdict).padEnd(10)}${what}: ${shown} = ${formatX(ratio)}${goal.info ? ' [info]' : ''}`,
  );
}

for (const framework of FRAMEWORKS) {
  for (const scenario of /** @type {const} */ (['a', 'b'])) {
    const byDefault = find(framework, scenario, 'writes');
    const one = find(framework, scenario, 'writes', 1);
    const what = `${SHORT[framework]} (${scenario}) ${ITEMS}-POST batch p50 ≤ ${WRITES_MAX}× the concurrency-1 batch (writes not slower than before)`;
    if (byDefault === undefined || one === undefined) {
      console.log(`  SKIP      ${what}: ${skipped.get(framework) ?? 'not measured'}`);
      continue;
    }
    const ratio = byDefault.p50 / one.p50;
    console.log(
      `  ${(ratio <= WRITES_MAX ? 'PASS' : 'MISS').padEnd(10)}${what}: ${formatMs(byDefault.p50)} ms vs ${formatMs(one.p50)} ms = ${formatX(ratio)}`,
    );
  }
}

if (notes.length > 0) {
  console.log('\nnotes:');
  for (const note of notes) console.log(`  ${note}`);
}
console.log(
  `\nSingle run on a shared machine, client and server on its cores: compare ratios within one run, not figures across runs. Whole bench: ${elapsed.toFixed(1)} s.`,
);
