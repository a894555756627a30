// Safe retries (SPEC §8, issue 21 "Measured"): what recording a keyed batch costs the server,
// what a replay costs, and the memory the default in-memory store holds.
//
//   node --expose-gc src/records.mjs
//   RECORDS_CPU_PROF=/tmp/prof node --expose-gc src/records.mjs   # --cpu-prof on the servers
//
// 1. Server CPU per item of a 50-write JSON batch with a fresh `Idempotency-Key` against the
//    same batch without one, on the same server: the records in the default in-memory store,
//    and in Redis (`@batch/redis` over node-redis 6, redis-server on loopback).
// 2. Server CPU of the replay (the same key again) against the first run.
// 3. RSS / heap growth after 10,000 keyed batches with the default store (64 MiB, 10,000
//    entries): what it holds, what it counts, what the process grew by.
//
// Servers: src/records.server.mjs in child processes (node:http + @batch/node, and Express 5
// + @batch/express), each with one cheap in-memory write route. The client is this process:
// one node:http keep-alive Agent. Every answer is checked (status, every item, the replay
// header) and the server's count of writes must grow by 50 per run and by 0 per replay; a
// failed check crashes the bench. A missed goal is printed as MISS, never fatal.

import { fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_MEMORY_STORE_MAX_BYTES,
  DEFAULT_MEMORY_STORE_MAX_ENTRIES,
  decodeBatchResponse,
  encodeBatchRequest,
} from '@batch/core';
import { createClient } from 'redis';
import { loadAdapter } from './apps.mjs';
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
const AUTHORIZATION = 'Bearer bench';
/** Timed rounds; each times one block of every variant, interleaved. */
const ROUNDS = 10;
/** Batches per variant per round. */
const BLOCK = 30;
const WARMUP_BATCHES = 60;
/** Part 3. */
const MEMORY_BATCHES = 10_000;
/** Keyed batches in flight at once in part 3 (both cores busy: client and server). */
const MEMORY_CONCURRENCY = 4;
const WATCHDOG_MS = 240_000;
const GOALS = { memory: 1.2, redis: 2 };
const FRAMEWORKS = /** @type {const} */ (['node', 'express']);
const LABELS = { node: 'node:http + @batch/node', express: 'Express 5 + @batch/express' };
const MiB = 2 ** 20;

// The servers import the built adapters and store: without them, SKIP (exit 0), as the
// other adapter benches do.
for (const name of /** @type {const} */ (['@batch/node', '@batch/express', '@batch/redis'])) {
  const loaded = name === '@batch/redis' ? await loadRedisStore() : await loadAdapter(name);
  if (loaded.error !== undefined) {
    console.log(
      `SKIP  ${name} ${loaded.error}: build it first (pnpm turbo run build --filter=@batch/bench...)`,
    );
    process.exit(0);
  }
}

const started = performance.now();
const children = /** @type {Set<import('node:child_process').ChildProcess>} */ (new Set());
startWatchdog('records', WATCHDOG_MS, children);

/** `@batch/redis`, which may not be built yet. */
async function loadRedisStore() {
  try {
    await import('@batch/redis');
    return { error: undefined };
  } catch (error) {
    return {
      error: `not built (${error instanceof Error ? error.message.split('\n')[0] : error})`,
    };
  }
}

// --- The batch -------------------------------------------------------------------------------

const batch = encodeBatchRequest(
  'json',
  Array.from({ length: ITEMS }, (_, n) => ({
    method: 'POST',
    target: '/items',
    headers: [['content-type', 'application/json']],
    body: JSON.stringify({ n, title: `Item ${n}`, tags: ['bench', 'records'] }),
  })),
);
let keys = 0;
/** A fresh key: a Structured Fields string, as @batch/client sends. */
const freshKey = () => `"bench-${process.pid}-${++keys}-${Math.random().toString(36).slice(2)}"`;

// --- Client ----------------------------------------------------------------------------------

const agent = new Agent({ keepAlive: true, maxSockets: MEMORY_CONCURRENCY });

/**
 * @typedef {object} Answer
 * @property {number} status
 * @property {import('node:http').IncomingHttpHeaders} headers
 * @property {Buffer} body
 */

/**
 * One batch on the keep-alive agent; resolves with the whole answer.
 * @param {number} port
 * @param {string} path
 * @param {string} [key] the Idempotency-Key header, when keyed
 * @returns {Promise<Answer>}
 */
function sendBatch(port, path, key) {
  /** @type {Record<string, string>} */
  const headers = { 'content-type': batch.contentType, authorization: AUTHORIZATION };
  if (key !== undefined) headers['idempotency-key'] = key;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ agent, host: HOST, port, method: 'POST', path, headers }, (res) => {
      /** @type {Buffer[]} */
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks),
        }),
      );
    });
    req.on('error', reject);
    req.end(batch.body);
  });
}

/**
 * Checks a batch answer: 200, replayed or not as expected, 50 items each 201 with its own
 * `n`. Returns the ids the writes got (a replay must give the first run's).
 * @param {Answer} answer
 * @param {boolean} replayed
 * @param {string} label
 */
async function checkAnswer(answer, replayed, label) {
  check(answer.status === 200, `${label}: status ${answer.status} ${answer.body}`);
  const header = answer.headers['idempotent-replayed'];
  check(
    replayed ? header === 'true' : header === undefined,
    `${label}: Idempotent-Replayed ${header}`,
  );
  const responses = await decodeBatchResponse({
    contentType: answer.headers['content-type'],
    body: answer.body,
  });
  check(responses.length === ITEMS, `${label}: ${responses.length} answers`);
  return responses.map((response, n) => {
    check(response.status === 201, `${label}: item ${n} status ${response.status}`);
    const json = JSON.parse(Buffer.from(response.body).toString());
    check(json.n === n, `${label}: item ${n} answered ${JSON.stringify(json)}`);
    return /** @type {number} */ (json.id);
  });
}

// --- Redis -----------------------------------------------------------------------------------

/** A free loopback port. @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

/**
 * `REDIS_URL` when set; else Debian's `redis-server` on a free loopback port, nothing
 * persisted (as `startRedisServer()` of @batch/test-suite does). `undefined`, with the
 * reason printed, when there is neither.
 * @returns {Promise<{ url: string, stop: () => void } | undefined>}
 */
async function startRedis() {
  const external = process.env.REDIS_URL;
  if (external !== undefined && external !== '') return { url: external, stop: () => {} };
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bench-redis-'));
  const args = ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no'];
  const child = spawn('redis-server', [...args, '--dir', dir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const stop = () => {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  };
  const ready = await new Promise((resolve) => {
    let output = '';
    child.once('error', (error) => resolve(`redis-server: ${error.message}`));
    child.once('exit', (code) => resolve(`redis-server exited (${code}): ${output.trim()}`));
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('Ready to accept connections')) resolve(true);
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
  });
  if (ready !== true) {
    stop();
    console.log(`Redis: ${ready}; its rows are skipped (install redis-server or set REDIS_URL)`);
    return undefined;
  }
  return { url: `redis://${HOST}:${port}`, stop };
}

// --- Servers ---------------------------------------------------------------------------------

const serverScript = fileURLToPath(new URL('records.server.mjs', import.meta.url));
const profileDir = process.env.RECORDS_CPU_PROF;

/**
 * @typedef {object} Server
 * @property {number} port
 * @property {boolean} redis
 * @property {() => Promise<number>} cpu
 * @property {(what: string, extra?: object) => Promise<any>} ask
 * @property {() => Promise<void>} close
 */

/**
 * Forks one records.server.mjs and waits until it listens.
 * @param {string} framework
 * @param {string | undefined} redisUrl
 * @returns {Promise<Server>}
 */
async function startServer(framework, redisUrl) {
  const execArgv = ['--expose-gc', '--no-deprecation'];
  if (profileDir) execArgv.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`);
  const child = fork(serverScript, [framework, redisUrl ?? '-'], {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  /** @type {Map<number, (value: any) => void>} */
  const pending = new Map();
  let asked = 0;
  const server = await forkedServer(child, framework, children, (message) => {
    if (message.type === 'answer') {
      pending.get(message.id)?.(message.value);
      pending.delete(message.id);
    }
  });
  server.ask = (/** @type {string} */ what, extra = {}) =>
    new Promise((resolve) => {
      const id = ++asked;
      pending.set(id, resolve);
      child.send({ type: 'ask', id, what, ...extra });
    });
  return server;
}

// --- Part 1 and 2: CPU per item ----------------------------------------------------------------

/**
 * @typedef {object} Variant
 * @property {string} name
 * @property {string} path
 * @property {'unkeyed' | 'keyed' | 'replay'} kind
 * @property {'memory' | 'redis' | 'off'} store
 * @property {Variant} [of] a replay's keyed variant (its keys, and its first-run ids)
 * @property {{ key: string, ids: number[] }[]} runs keyed: this round's keys; replays take them
 * @property {number[]} samples wall ns per batch
 * @property {number} cpu server µs, summed
 * @property {number} redisCpu redis-server µs, summed
 * @property {number} batches
 */

/** @returns {Variant} */
const variant = (
  /** @type {string} */ name,
  /** @type {string} */ path,
  /** @type {Variant['kind']} */ kind,
  /** @type {Variant['store']} */ store,
  /** @type {Variant | undefined} */ of = undefined,
) => ({ name, path, kind, store, of, runs: [], samples: [], cpu: 0, redisCpu: 0, batches: 0 });

/** @param {boolean} redis */
function variantsFor(redis) {
  const keyedMemory = variant('keyed (in-memory store)', '/batch', 'keyed', 'memory');
  const list = [
    variant('unkeyed (baseline)', '/batch', 'unkeyed', 'memory'),
    keyedMemory,
    variant('replay (in-memory store)', '/batch', 'replay', 'memory', keyedMemory),
  ];
  if (redis) {
    const keyedRedis = variant('keyed (Redis store)', '/batch-redis', 'keyed', 'redis');
    list.push(
      keyedRedis,
      variant('replay (Redis store)', '/batch-redis', 'replay', 'redis', keyedRedis),
    );
  }
  list.push(variant('info: unkeyed, idempotency: false', '/batch-off', 'unkeyed', 'off'));
  return list;
}

/**
 * One batch of a variant, checked. Keyed runs remember their key and ids for the replay.
 * @param {Server} server
 * @param {Variant} v
 * @param {number} i index in the block
 * @returns {Promise<number>} wall ns
 */
async function runOne(server, v, i) {
  const replayOf = v.kind === 'replay' ? /** @type {Variant} */ (v.of).runs[i] : undefined;
  const key = v.kind === 'keyed' ? freshKey() : replayOf?.key;
  const start = process.hrtime.bigint();
  const answer = await sendBatch(server.port, v.path, key);
  const ns = Number(process.hrtime.bigint() - start);
  const ids = await checkAnswer(answer, v.kind === 'replay', v.name);
  if (v.kind === 'keyed') v.runs.push({ key: /** @type {string} */ (key), ids });
  if (replayOf !== undefined)
    check(ids.join() === replayOf.ids.join(), `${v.name}: replayed other answers than the run's`);
  return ns;
}

/** redis-server's own user + system CPU so far, µs (`INFO cpu`). @param {any} client */
async function redisCpu(client) {
  if (client === undefined) return 0;
  const info = await client.info('cpu');
  const field = (/** @type {string} */ name) =>
    Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}

/**
 * Runs `count` batches of a variant; with `timed`, adds its wall times, the server's CPU and
 * Redis's to the variant. Checks the server's write count: +50 per run, +0 per replay.
 * @param {Server} server
 * @param {Variant} v
 * @param {number} count
 * @param {boolean} timed
 * @param {any} redisClient
 */
async function runBlock(server, v, count, timed, redisClient) {
  if (v.kind === 'keyed') v.runs = [];
  const writesBefore = await server.ask('writes');
  const redisBefore = v.store === 'redis' ? await redisCpu(redisClient) : 0;
  const cpuBefore = await server.cpu();
  /** @type {number[]} */
  const samples = [];
  for (let i = 0; i < count; i++) samples.push(await runOne(server, v, i));
  const cpu = (await server.cpu()) - cpuBefore;
  const redis = v.store === 'redis' ? (await redisCpu(redisClient)) - redisBefore : 0;
  const writes = (await server.ask('writes')) - writesBefore;
  const expected = v.kind === 'replay' ? 0 : count * ITEMS;
  check(writes === expected, `${v.name}: ${writes} writes ran, not ${expected}`);
  if (!timed) return;
  v.samples.push(...samples);
  v.cpu += cpu;
  v.redisCpu += redis;
  v.batches += count;
}

/** @param {number[]} values @param {number} q */
const percentile = (values, q) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
};
/** @param {number} us */
const formatUs = (us) => (us >= 10 ? us.toFixed(1) : us.toFixed(2));
/** µs of server CPU per item. @param {Variant} v */
const perItem = (v) => v.cpu / (v.batches * ITEMS);

/** @type {Map<string, Variant[]>} */
const results = new Map();
const redisServer = await startRedis();
const redisClient = redisServer ? createClient({ url: redisServer.url }) : undefined;
if (redisClient !== undefined) {
  redisClient.on('error', () => {});
  await redisClient.connect();
}

for (const framework of FRAMEWORKS) {
  const server = await startServer(framework, redisServer?.url);
  check(server.redis === (redisServer !== undefined), `${framework}: Redis store not mounted`);
  const variants = variantsFor(server.redis);
  for (const v of variants) await runBlock(server, v, WARMUP_BATCHES, false, redisClient);
  // Units: a keyed variant with its replay right after it; the order of the units rotates
  // from round to round, so that no variant always follows the same one (GC debt carries over).
  const units = variants
    .filter((v) => v.kind !== 'replay')
    .map((v) => [v, ...variants.filter((replay) => replay.of === v)]);
  for (let round = 0; round < ROUNDS; round++) {
    for (let u = 0; u < units.length; u++) {
      for (const v of units[(u + round) % units.length])
        await runBlock(server, v, BLOCK, true, redisClient);
    }
  }
  await server.close();
  results.set(framework, variants);
}
const partOneSeconds = (performance.now() - started) / 1000;

// --- Part 3: memory under 10,000 keyed batches -------------------------------------------------

const memoryServer = await startServer('node', undefined);
for (let i = 0; i < WARMUP_BATCHES; i++) await sendBatch(memoryServer.port, '/batch');
const memoryBefore = await memoryServer.ask('memory', { gc: true });
let peakRss = memoryBefore.rss;
/** @type {string[]} */
const memoryKeys = [];
const memoryStart = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: MEMORY_CONCURRENCY }, async () => {
    while (next < MEMORY_BATCHES) {
      const i = next++;
      const key = freshKey();
      memoryKeys.push(key);
      const answer = await sendBatch(memoryServer.port, '/batch', key);
      if (i % 100 === 0) await checkAnswer(answer, false, `memory batch ${i}`);
      else
        check(
          answer.status === 200 && !answer.headers['idempotent-replayed'],
          `memory batch ${i}: ${answer.status}`,
        );
      if (i % 500 === 0)
        peakRss = Math.max(peakRss, (await memoryServer.ask('memory', { gc: false })).rss);
    }
  }),
);
const memorySeconds = (performance.now() - memoryStart) / 1000;
const memoryAfter = await memoryServer.ask('memory', { gc: true });
peakRss = Math.max(peakRss, memoryAfter.rss);
const memoryWrites = await memoryServer.ask('writes');
check(
  memoryWrites === (WARMUP_BATCHES + MEMORY_BATCHES) * ITEMS,
  `memory: ${memoryWrites} writes ran, not ${(WARMUP_BATCHES + MEMORY_BATCHES) * ITEMS}`,
);
const heldNow = await memoryServer.ask('held', {
  keys: memoryKeys.map((key) => key.slice(1, -1)),
  authorization: AUTHORIZATION,
});
check(heldNow.records > 0, 'memory: the store holds none of the keyed batches (scope changed?)');
await memoryServer.close();
agent.destroy();
await redisClient?.quit();
redisServer?.stop();

// --- Report ----------------------------------------------------------------------------------

for (const framework of FRAMEWORKS) {
  const variants = /** @type {Variant[]} */ (results.get(framework));
  const baseline = variants[0];
  printTable(
    `${LABELS[framework]}: one JSON batch of ${ITEMS} × POST /items (cheap in-memory write, 201 + small JSON), ${ROUNDS} rounds × ${BLOCK} batches per variant, interleaved (order rotated each round)`,
    [
      { header: 'variant', align: 'left' },
      { header: 'p50 ms' },
      { header: 'p90 ms' },
      { header: 'srv CPU µs/item' },
      { header: '× unkeyed' },
      { header: 'Redis CPU µs/item' },
      { header: 'batches' },
    ],
    variants.map((v) => [
      v.name,
      formatMs(median(v.samples)),
      formatMs(percentile(v.samples, 0.9)),
      formatUs(perItem(v)),
      formatRatio(perItem(v), perItem(baseline)),
      v.store === 'redis' ? formatUs(v.redisCpu / (v.batches * ITEMS)) : '',
      String(v.batches),
    ]),
  );
}
console.log(
  `\nsrv CPU: the server process's user+system CPU (process.cpuUsage over IPC, before and after each block) ÷ items; it includes the GC's threads and, for Redis, node-redis. Redis CPU: redis-server's own (INFO cpu), not in srv CPU.\nA fresh Idempotency-Key per keyed batch; a replay sends a key of the round's keyed block again. Every answer checked; writes counted on the server (+${ITEMS} per run, +0 per replay).`,
);

const growth = (/** @type {string} */ field) => (memoryAfter[field] - memoryBefore[field]) / MiB;
printTable(
  `memory: ${MEMORY_BATCHES.toLocaleString('en')} keyed batches of ${ITEMS} writes (fresh keys, ${MEMORY_CONCURRENCY} in flight) on node:http + @batch/node, default in-memory store; ${memorySeconds.toFixed(1)} s`,
  [{ header: 'figure', align: 'left' }, { header: 'value' }],
  [
    ['RSS before (after GC)', `${(memoryBefore.rss / MiB).toFixed(1)} MiB`],
    ['RSS growth, after GC', `${growth('rss').toFixed(1)} MiB`],
    [
      'RSS growth, peak (sampled every 500 batches)',
      `${((peakRss - memoryBefore.rss) / MiB).toFixed(1)} MiB`,
    ],
    ['heapUsed growth, after GC', `${growth('heapUsed').toFixed(1)} MiB`],
    ['arrayBuffers growth, after GC', `${growth('arrayBuffers').toFixed(1)} MiB`],
    [
      'records held of the 10,000',
      `${heldNow.records.toLocaleString('en')} (bound ${DEFAULT_MEMORY_STORE_MAX_ENTRIES.toLocaleString('en')} entries)`,
    ],
    [
      'bytes the store counts for them',
      `${(heldNow.bytes / MiB).toFixed(1)} MiB (bound ${DEFAULT_MEMORY_STORE_MAX_BYTES / MiB} MiB)`,
    ],
    [
      'heap + arrayBuffers growth ÷ counted bytes',
      formatRatio(
        memoryAfter.heapUsed -
          memoryBefore.heapUsed +
          memoryAfter.arrayBuffers -
          memoryBefore.arrayBuffers,
        heldNow.bytes,
      ),
    ],
  ],
);

const verdict = (/** @type {boolean} */ ok) => (ok ? 'PASS' : 'MISS');
console.log('\ngoals (issue 21 "Measured")');
for (const framework of FRAMEWORKS) {
  const variants = /** @type {Variant[]} */ (results.get(framework));
  const find = (/** @type {string} */ kind, /** @type {string} */ store) =>
    variants.find((v) => v.kind === kind && v.store === store);
  const baseline = variants[0];
  for (const store of /** @type {const} */ (['memory', 'redis'])) {
    const keyed = find('keyed', store);
    const replay = find('replay', store);
    const label = `${LABELS[framework]}, ${store === 'memory' ? 'in-memory store' : 'Redis store'}`;
    if (keyed === undefined || replay === undefined) {
      console.log(`  SKIP  ${label}: no Redis`);
      continue;
    }
    const ratio = perItem(keyed) / perItem(baseline);
    console.log(
      `  ${verdict(ratio <= GOALS[store])}  ${label}: keyed ${formatUs(perItem(keyed))} µs/item vs unkeyed ${formatUs(perItem(baseline))} = ${ratio.toFixed(2)}× (goal ≤ ${GOALS[store]}×); p50 ${formatRatio(median(keyed.samples), median(baseline.samples))}`,
    );
    const replayRatio = perItem(replay) / perItem(keyed);
    console.log(
      `  ${verdict(replayRatio < 1)}  ${label}: replay ${formatUs(perItem(replay))} µs/item vs first run ${formatUs(perItem(keyed))} = ${replayRatio.toFixed(2)}× (goal < 1×); p50 ${formatRatio(median(replay.samples), median(keyed.samples))}`,
    );
  }
}
const retained = growth('rss');
console.log(
  `  ${verdict(retained <= DEFAULT_MEMORY_STORE_MAX_BYTES / MiB)}  memory: RSS growth after ${MEMORY_BATCHES.toLocaleString('en')} keyed batches ${retained.toFixed(1)} MiB (after GC; peak ${((peakRss - memoryBefore.rss) / MiB).toFixed(1)} MiB) vs the store's bound ${DEFAULT_MEMORY_STORE_MAX_BYTES / MiB} MiB / ${DEFAULT_MEMORY_STORE_MAX_ENTRIES.toLocaleString('en')} entries`,
);
console.log(
  `\nWhole bench: ${((performance.now() - started) / 1000).toFixed(1)} s (CPU parts ${partOneSeconds.toFixed(1)} s, memory ${memorySeconds.toFixed(1)} s).`,
);
