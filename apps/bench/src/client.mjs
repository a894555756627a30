// @batch/client end to end: 20 GETs through `createBatchFetch` (one POST /batch) against
// the same 20 as concurrent direct `fetch` calls, on loopback and behind a proxy that
// delays every chunk by 25 ms each way; plus 20 sequential direct GETs behind the proxy.
//
//   pnpm --filter @batch/client build && node --expose-gc src/client.mjs
//
// The server is the real Express example app (apps/express-example/dist/server.js), run as
// a child process with PORT=0; its URL is read from its start banner. The client is
// @batch/client's built dist, imported by path (this package does not depend on it). The
// proxy runs in this process on 127.0.0.1. Every variant's answers are checked once before
// it is timed. A watchdog ends the bench (and the server) if it runs past WATCHDOG_MS.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { check, formatMs, formatRatio, gcExposed, measure, printTable } from './measure.mjs';

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
const WATCHDOG_MS = 60_000;

const clientPath = fileURLToPath(
  new URL('../../../packages/client/dist/index.js', import.meta.url),
);
const serverPath = fileURLToPath(new URL('../../express-example/dist/server.js', import.meta.url));
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
      env: { ...process.env, PORT: '0' },
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

const watchdog = setTimeout(() => {
  console.error(`\nclient: still running after ${WATCHDOG_MS / 1000} s; killing the server`);
  child?.kill('SIGKILL');
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
    `medians of wall time per iteration (all ${ITEMS} answers read and checked); client: globalThis.fetch (undici, keep-alive), ${gcExposed ? 'GC before each variant' : 'no --expose-gc'}. Whole bench: ${((performance.now() - started) / 1000).toFixed(1)} s.`,
  );
} finally {
  await proxy?.close();
  await stopServer();
}
