// @batch/client end to end, two parts.
//
// 1. What batching costs or saves: 20 GETs through `createBatchFetch` (one POST /batch)
//    against the same 20 as concurrent direct `fetch` calls, on loopback and behind a proxy
//    that delays every chunk by 25 ms each way; plus 20 sequential direct GETs behind the
//    proxy. The server is the real Express example app (apps/express-example/dist/server.js),
//    run as a child process with PORT=0; its URL is read from its start banner.
// 2. When each call resolves: 20 calls of which 2 hit a slow route (100 ms) and 18 answer
//    at once, batched (JSON, answered as JSON Lines; plain JSON; multipart) and direct. The
//    server is src/versus.server.mjs's Express 5 app (`GET /items/:id`, `GET /slow/:ms`,
//    `POST /batch` with @batch/express), forked as a child process.
//
//   pnpm --filter @batch/client build && node --expose-gc src/client.mjs
//
// The client is @batch/client's built dist, imported by path (this package does not depend
// on it). The proxies run in this process on 127.0.0.1. Every variant's answers are checked
// (once before timing in part 1, every iteration in part 2). A watchdog ends the bench (and
// the servers) if it runs past WATCHDOG_MS.

import { fork, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  check,
  collectGarbage,
  formatMs,
  formatRatio,
  gcExposed,
  measure,
  median,
  printTable,
} from './measure.mjs';

const HOST = '127.0.0.1';
const ITEMS = 20;
const TOKEN = 'Bearer bench';
/** Added to every chunk, in each direction, by the delay proxy. */
const DELAY_MS = 25;
const LOOPBACK = { warmup: 10, runs: 30 };
const PROXIED = { warmup: 2, runs: 10 };
const SEQUENTIAL = { warmup: 1, runs: 3 };
/** A browser's HTTP/1.1 connections per origin: the context row's limit of calls in flight. */
const BROWSER_CONNECTIONS = 6;
/** The whole bench must end well within this; past it the server is killed and it fails. */
const WATCHDOG_MS = 90_000;
/** Part 2: calls per iteration, which of them hit the slow route, and how slow it is. */
const SPREAD_CALLS = 20;
const SLOW_AT = [0, 10];
const SLOW_MS = 100;
const SPREAD_LOOPBACK = { warmup: 3, runs: 15 };
const SPREAD_PROXIED = { warmup: 2, runs: 10 };

const clientPath = fileURLToPath(
  new URL('../../../packages/client/dist/index.js', import.meta.url),
);
const serverPath = fileURLToPath(new URL('../../express-example/dist/server.js', import.meta.url));
const versusServerPath = fileURLToPath(new URL('versus.server.mjs', import.meta.url));
for (const [path, build] of [
  [clientPath, 'pnpm --filter @batch/client build'],
  [serverPath, 'pnpm --filter @batch/express-example build'],
]) {
  if (!existsSync(path)) {
    console.log(`SKIP: ${path} is not built (run \`${build}\` first)`);
    process.exit(0);
  }
}
/** @type {typeof import('../../../packages/client/dist/index.js')} */
const { createBatchFetch } = await import(pathToFileURL(clientPath).href);

const started = performance.now();

// --- The Express example app, in a child process ----------------------------------------

/** @type {import('node:child_process').ChildProcess | undefined} */
let child;

/**
 * Starts `node apps/express-example/dist/server.js` with PORT=0; resolves with its port,
 * read from the start banner (`… listening on http://localhost:<port>`).
 * @returns {Promise<number>}
 */
function startServer() {
  return new Promise((resolve, reject) => {
    const server = spawn(process.execPath, [serverPath], {
      env: { ...process.env, PORT: '0', DATABASE: ':memory:' }, // a fresh store: ids from 1
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    child = server;
    let banner = '';
    server.on('error', reject);
    server.once('exit', (code) => reject(new Error(`the example server exited (${code})`)));
    server.stdout.setEncoding('utf8');
    server.stdout.on('data', (/** @type {string} */ text) => {
      banner += text;
      const match = /listening on http:\/\/[^:\s]+:(\d+)/.exec(banner);
      if (match !== null) resolve(Number(match[1]));
    });
  });
}

/** Stops the child server (SIGTERM: it closes its connections and exits). */
function stopServer() {
  return new Promise((resolve) => {
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
      resolve(undefined);
      return;
    }
    child.once('exit', () => resolve(undefined));
    child.kill('SIGTERM');
  });
}

// --- src/versus.server.mjs's Express app (part 2), in a child process ---------------------

/** @type {import('node:child_process').ChildProcess | undefined} */
let spreadChild;

/**
 * Forks `src/versus.server.mjs express 0` (GET /items/:id at once, GET /slow/:ms, POST
 * /batch with @batch/express) and waits for its `ready` message.
 * @returns {Promise<{ port: number } | { skip: string }>}
 */
function startSpreadServer() {
  return new Promise((resolve, reject) => {
    const server = fork(versusServerPath, ['express', '0', ''], {
      execArgv: ['--no-warnings'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    spreadChild = server;
    server.once('exit', (code) => reject(new Error(`versus.server.mjs exited (${code})`)));
    server.on('message', (/** @type {any} */ message) => {
      if (message.type !== 'ready') return;
      resolve(message.batch ? { port: message.port } : { skip: message.reason ?? 'not built' });
    });
  });
}

/** Closes the forked server (its `close` message: it closes its sockets and exits). */
function stopSpreadServer() {
  return new Promise((resolve) => {
    const server = spreadChild;
    if (server === undefined || server.exitCode !== null || server.signalCode !== null) {
      resolve(undefined);
      return;
    }
    server.removeAllListeners('exit');
    server.once('exit', () => resolve(undefined));
    server.send({ type: 'close' });
  });
}

const watchdog = setTimeout(() => {
  console.error(`\nclient: still running after ${WATCHDOG_MS / 1000} s; killing the servers`);
  child?.kill('SIGKILL');
  spreadChild?.kill('SIGKILL');
  process.exit(1);
}, WATCHDOG_MS);
watchdog.unref();

// --- The delay proxy -----------------------------------------------------------------------

/**
 * A TCP proxy on 127.0.0.1 (port 0) to `127.0.0.1:<target>` that holds every chunk
 * `delayMs` before passing it on, in both directions (so each round trip gains
 * 2 × `delayMs`; chunks keep their order). Connection setup itself is not delayed.
 * @param {number} target
 * @param {number} delayMs
 * @returns {Promise<{ port: number, close: () => Promise<void> }>}
 */
async function startDelayProxy(target, delayMs) {
  /** @type {Set<import('node:net').Socket>} */
  const sockets = new Set();
  /**
   * @param {import('node:net').Socket} from
   * @param {import('node:net').Socket} to
   */
  const forward = (from, to) => {
    from.on('data', (chunk) => {
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, delayMs);
    });
    from.on('end', () => {
      setTimeout(() => to.end(), delayMs);
    });
  };
  const proxy = createServer((downstream) => {
    const upstream = createConnection({ host: HOST, port: target });
    for (const socket of [downstream, upstream]) {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        downstream.destroy();
        upstream.destroy();
      });
    }
    forward(downstream, upstream);
    forward(upstream, downstream);
  });
  await new Promise((resolve, reject) => {
    proxy.once('error', reject);
    proxy.listen(0, HOST, () => resolve(undefined));
  });
  const address = /** @type {import('node:net').AddressInfo} */ (proxy.address());
  return {
    port: address.port,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        proxy.close(() => resolve());
      }),
  };
}

// --- The calls -------------------------------------------------------------------------------

const paths = Array.from({ length: ITEMS }, (_, i) => `/articles/${i + 1}`);
const AUTH = { authorization: TOKEN };

/**
 * Counts the HTTP requests a `fetch` sends (the batch client's, here).
 * @param {typeof fetch} inner
 */
function countingFetch(inner) {
  const counter = { count: 0 };
  /** @type {typeof fetch} */
  const fetch = (input, init) => {
    counter.count++;
    return inner(input, init);
  };
  return { fetch, counter };
}

/**
 * Reads the answers and checks them: each 200 with the article of its id.
 * @param {Response[]} responses
 * @param {string} label
 */
async function readAll(responses, label) {
  const bodies = await Promise.all(responses.map((response) => response.json()));
  responses.forEach((response, i) => {
    check(response.status === 200, `${label}: item ${i} status ${response.status}`);
    check(bodies[i].id === i + 1, `${label}: item ${i} body ${JSON.stringify(bodies[i])}`);
  });
  return bodies;
}

/**
 * The three ways of getting the 20 articles from `base`.
 * @param {string} base
 */
function variantsFor(base) {
  const counted = countingFetch(globalThis.fetch);
  const batchFetch = createBatchFetch({
    endpoint: `${base}/batch`,
    fetch: counted.fetch,
    headers: AUTH,
  });
  return {
    counter: counted.counter,
    batched: async () =>
      readAll(await Promise.all(paths.map((path) => batchFetch(base + path))), 'batched'),
    direct: async () =>
      readAll(
        await Promise.all(paths.map((path) => fetch(base + path, { headers: AUTH }))),
        'direct',
      ),
    /** At most BROWSER_CONNECTIONS direct calls in flight, each read before the next starts. */
    limited: async () => {
      /** @type {{ id: number }[]} */
      const bodies = [];
      let next = 0;
      const worker = async () => {
        while (next < paths.length) {
          const i = next++;
          const response = await fetch(base + paths[i], { headers: AUTH });
          check(response.status === 200, `limited: item ${i} status ${response.status}`);
          bodies[i] = await response.json();
        }
      };
      await Promise.all(Array.from({ length: BROWSER_CONNECTIONS }, worker));
      bodies.forEach((body, i) => {
        check(body.id === i + 1, `limited: item ${i} body ${JSON.stringify(body)}`);
      });
      return bodies;
    },
    sequential: async () => {
      /** @type {{ id: number }[]} */
      const bodies = [];
      for (const [i, path] of paths.entries()) {
        const response = await fetch(base + path, { headers: AUTH });
        check(response.status === 200, `sequential: item ${i} status ${response.status}`);
        bodies.push(await response.json());
        check(bodies[i]?.id === i + 1, `sequential: item ${i} body ${JSON.stringify(bodies[i])}`);
      }
      return bodies;
    },
  };
}

// --- Part 2: when each call resolves -------------------------------------------------------

const spreadPaths = Array.from({ length: SPREAD_CALLS }, (_, i) =>
  SLOW_AT.includes(i) ? `/slow/${SLOW_MS}` : `/items/${i + 1}`,
);
const spreadExpected = spreadPaths.map((_, i) =>
  SLOW_AT.includes(i)
    ? JSON.stringify({ slept: SLOW_MS })
    : JSON.stringify({ id: i + 1, title: `Item ${i + 1}` }),
);
const instantAt = spreadPaths.map((_, i) => i).filter((i) => !SLOW_AT.includes(i));

/**
 * @typedef {object} SpreadVariant
 * @property {string} name
 * @property {(url: string) => Promise<Response>} call
 * @property {RegExp} [contentType] what the batch response's Content-Type must match
 * @property {{ count: number, contentType: string | null }} [counter] batch requests sent
 */

/**
 * The ways of making the 20 calls against `base`: batched three ways, and direct.
 * @param {string} base
 * @returns {SpreadVariant[]}
 */
function spreadVariantsFor(base) {
  /** @param {string} name @param {RegExp} contentType @param {object} options */
  const batched = (name, contentType, options) => {
    const counter = { count: 0, contentType: /** @type {string | null} */ (null) };
    /** @type {typeof fetch} */
    const counted = async (input, init) => {
      counter.count++;
      const response = await globalThis.fetch(input, init);
      counter.contentType = response.headers.get('content-type');
      return response;
    };
    const batchFetch = createBatchFetch({
      endpoint: `${base}/batch`,
      fetch: counted,
      serviceInfo: false,
      maxBatchSize: 100,
      ...options,
    });
    return { name, call: (/** @type {string} */ url) => batchFetch(url), contentType, counter };
  };
  return [
    batched('batched: JSON → JSON Lines (default)', /^application\/jsonl\b/, {}),
    batched('batched: JSON, Accept: application/json', /^application\/json\b/, {
      headers: { accept: 'application/json' },
    }),
    batched('batched: multipart', /^multipart\/mixed\b/, { format: 'multipart' }),
    { name: 'direct: 20 concurrent fetch calls', call: (url) => globalThis.fetch(url) },
  ];
}

/**
 * One iteration: the 20 calls at once; when each resolved (ns after the first call was
 * made), then every answer checked (200, the exact body) and, for a batched variant, that
 * one batch request was sent with the expected Content-Type back.
 * @param {SpreadVariant} variant
 * @param {string} base
 * @returns {Promise<number[]>}
 */
async function spreadIteration(variant, base) {
  const before = variant.counter?.count ?? 0;
  /** @type {number[]} */
  const times = new Array(SPREAD_CALLS);
  const start = process.hrtime.bigint();
  const responses = await Promise.all(
    spreadPaths.map((path, i) =>
      variant.call(base + path).then((response) => {
        times[i] = Number(process.hrtime.bigint() - start);
        return response;
      }),
    ),
  );
  const bodies = await Promise.all(responses.map((response) => response.text()));
  responses.forEach((response, i) => {
    check(
      response.status === 200 && bodies[i] === spreadExpected[i],
      `${variant.name}: call ${i} (${spreadPaths[i]}): ${response.status} ${bodies[i]}`,
    );
  });
  if (variant.counter !== undefined) {
    const sent = variant.counter.count - before;
    check(sent === 1, `${variant.name}: ${sent} batch requests for one iteration`);
    check(
      variant.contentType?.test(variant.counter.contentType ?? '') === true,
      `${variant.name}: the batch answered Content-Type ${variant.counter.contentType}`,
    );
  }
  return times;
}

/**
 * The statistics of one iteration, from when each call resolved.
 * @param {number[]} times
 */
function spreadStats(times) {
  return {
    first: Math.min(...times),
    middle: median(times),
    last: Math.max(...times),
    instantMedian: median(instantAt.map((i) => times[i])),
    lastInstant: Math.max(...instantAt.map((i) => times[i])),
    slow: Math.max(...SLOW_AT.map((i) => times[i])),
  };
}
/** @typedef {ReturnType<typeof spreadStats>} SpreadStats */

/**
 * Warms every variant up, then times them interleaved (one iteration of each in turn, per
 * round, so a slow spell of the machine falls on all of them). Answers, per variant, the
 * p50 over the timed iterations of each statistic.
 * @param {SpreadVariant[]} variants
 * @param {string} base
 * @param {{ warmup: number, runs: number }} counts
 * @returns {Promise<SpreadStats[]>}
 */
async function measureSpread(variants, base, counts) {
  for (const variant of variants) {
    for (let i = 0; i < counts.warmup; i++) await spreadIteration(variant, base);
  }
  /** @type {SpreadStats[][]} */
  const samples = variants.map(() => []);
  for (let round = 0; round < counts.runs; round++) {
    collectGarbage();
    for (const [v, variant] of variants.entries()) {
      samples[v].push(spreadStats(await spreadIteration(variant, base)));
    }
  }
  return samples.map((list) => {
    /** @param {keyof SpreadStats} key */
    const p50 = (key) => median(list.map((stats) => stats[key]));
    return {
      first: p50('first'),
      middle: p50('middle'),
      last: p50('last'),
      instantMedian: p50('instantMedian'),
      lastInstant: p50('lastInstant'),
      slow: p50('slow'),
    };
  });
}

/**
 * Part 2, on loopback and behind a delay proxy: prints its table and goal lines.
 * @returns {Promise<void>}
 */
async function runSpread() {
  const server = await startSpreadServer();
  if ('skip' in server) {
    console.log(`\nSKIP: resolution times (src/versus.server.mjs express): ${server.skip}`);
    return;
  }
  const spreadProxy = await startDelayProxy(server.port, DELAY_MS);
  try {
    /** @type {string[][]} */
    const rows = [];
    /** @type {string[]} */
    const goals = [];
    for (const [setting, base, counts] of /** @type {const} */ ([
      ['loopback', `http://${HOST}:${server.port}`, SPREAD_LOOPBACK],
      [`proxy +${DELAY_MS} ms each way`, `http://${HOST}:${spreadProxy.port}`, SPREAD_PROXIED],
    ])) {
      const variants = spreadVariantsFor(base);
      const results = await measureSpread(variants, base, counts);
      variants.forEach((variant, v) => {
        const r = results[v];
        rows.push([
          setting,
          variant.name,
          formatMs(r.first),
          formatMs(r.middle),
          formatMs(r.last),
          `${formatMs(r.instantMedian)} / ${formatMs(r.lastInstant)}`,
          formatMs(r.slow),
          formatRatio(r.lastInstant, r.slow),
        ]);
      });
      const lines = results[0];
      const direct = results[variants.length - 1];
      const ratio = lines.lastInstant / lines.slow;
      goals.push(
        `  ${(ratio <= 0.5 ? 'MET' : 'MISSED').padEnd(8)}${setting}: batched (JSON Lines), the last instant call resolves by half the slow calls' time: ${formatMs(lines.lastInstant)} ms vs ${formatMs(lines.slow)} ms = ${formatRatio(lines.lastInstant, lines.slow)} (≤ 0.50×); direct: ${formatMs(direct.lastInstant)} ms vs ${formatMs(direct.slow)} ms`,
      );
    }
    printTable(
      `when each call resolves: ${SPREAD_CALLS} calls at once, calls ${SLOW_AT.join(' and ')} GET /slow/${SLOW_MS} (answers after ${SLOW_MS} ms), the other ${instantAt.length} GET /items/N (answer at once); Express 5 + @batch/express (src/versus.server.mjs); ms after the calls are made, p50 over the timed iterations`,
      [
        { header: 'setting', align: 'left' },
        { header: 'variant', align: 'left' },
        { header: 'first call' },
        { header: 'median call' },
        { header: 'last call' },
        { header: 'instant calls: median / last' },
        { header: 'slow calls' },
        { header: 'last instant ÷ slow' },
      ],
      rows,
    );
    console.log('\ngoal (JSON Lines: instant calls do not wait for the slow ones):');
    for (const goal of goals) console.log(goal);
    console.log(
      `a call resolves when its fetch promise does (the Response); its body is read and checked afterwards. Loopback: ${SPREAD_LOOPBACK.warmup} warm-up + ${SPREAD_LOOPBACK.runs} timed iterations per variant, proxy: ${SPREAD_PROXIED.warmup} + ${SPREAD_PROXIED.runs}, the variants interleaved. createBatchFetch reads a JSON Lines answer as it streams (each call resolves when its line arrives); plain JSON and multipart answers are read whole, then every call resolves.`,
    );
  } finally {
    await spreadProxy.close();
    await stopSpreadServer();
  }
}

// --- Run -------------------------------------------------------------------------------------

/** @type {Awaited<ReturnType<typeof startDelayProxy>> | undefined} */
let proxy;
try {
  const appPort = await startServer();
  const loopback = `http://${HOST}:${appPort}`;
  for (let i = 1; i <= ITEMS; i++) {
    const response = await fetch(`${loopback}/articles`, {
      method: 'POST',
      headers: { ...AUTH, 'content-type': 'application/json' },
      body: JSON.stringify({ title: `article ${i}`, url: `https://example.org/${i}` }),
    });
    const article = await response.json();
    check(response.status === 201 && article.id === i, `create ${i}: ${response.status}`);
  }
  proxy = await startDelayProxy(appPort, DELAY_MS);
  const proxied = `http://${HOST}:${proxy.port}`;

  /** @type {string[][]} */
  const rows = [];
  /** @type {string[]} */
  const notes = [];
  for (const [setting, base, counts] of /** @type {const} */ ([
    ['loopback', loopback, LOOPBACK],
    [`proxy +${DELAY_MS} ms each way`, proxied, PROXIED],
  ])) {
    const variants = variantsFor(base);
    // Checked once, before timing: one POST /batch (after the one GET / for the limit).
    await variants.batched();
    check(variants.counter.count === 2, `${setting}: ${variants.counter.count} requests`);
    await variants.direct();
    const before = variants.counter.count;
    const batched = await measure(variants.batched, counts);
    const requests = (variants.counter.count - before) / (counts.warmup + counts.runs);
    check(requests === 1, `${setting}: ${requests} batch requests per iteration`);
    const direct = await measure(variants.direct, counts);
    rows.push([
      setting,
      `${counts.warmup} + ${counts.runs}`,
      formatMs(batched.median),
      formatMs(direct.median),
      formatRatio(batched.median, direct.median),
      `${formatMs(batched.min)} / ${formatMs(direct.min)}`,
    ]);
    if (base === proxied) {
      // For context: the same 20 one after another (20 round trips), and at most 6 at once
      // (ceil(20 / 6) = 4 round trips), as a browser's HTTP/1.1 connection limit would do.
      const limited = await measure(variants.limited, PROXIED);
      notes.push(
        `direct, at most ${BROWSER_CONNECTIONS} in flight behind the proxy (${PROXIED.warmup} + ${PROXIED.runs} runs): median ${formatMs(limited.median)} ms = ${formatRatio(limited.median, batched.median)} the batched median`,
      );
      const sequential = await measure(variants.sequential, SEQUENTIAL);
      notes.push(
        `direct sequential behind the proxy (${SEQUENTIAL.warmup} + ${SEQUENTIAL.runs} runs): median ${formatMs(sequential.median)} ms = ${formatRatio(sequential.median, batched.median)} the batched median`,
      );
    }
  }

  printTable(
    `${ITEMS} GETs of /articles/1..${ITEMS} on the Express example app: createBatchFetch (one POST /batch, JSON) vs ${ITEMS} concurrent direct fetch calls`,
    [
      { header: 'setting', align: 'left' },
      { header: 'warm-up + runs' },
      { header: 'batched ms' },
      { header: 'direct ms' },
      { header: 'batched/direct' },
      { header: 'min batched / direct' },
    ],
    rows,
  );
  console.log('');
  for (const note of notes) console.log(note);
  console.log(
    `medians of wall time per iteration (all ${ITEMS} answers read and checked); client: globalThis.fetch (undici, keep-alive), ${gcExposed ? 'GC before each variant' : 'no --expose-gc'}.`,
  );
  await proxy.close();
  proxy = undefined;
  await stopServer();

  await runSpread();
  console.log(`\nWhole bench: ${((performance.now() - started) / 1000).toFixed(1)} s.`);
} finally {
  await proxy?.close();
  await stopServer();
  await stopSpreadServer();
}
