// `Prefer: return=minimal` (SPEC §7), the Kinto documentation's "payload optimization for
// massive operations": a 1,000-item import — POST of one reading-list article each, into the
// example store — answered whole and answered minimal. Bytes on the wire (the answers' heads,
// chunk framing and bodies, as the client's socket read them) and the server's CPU per item.
//
//   pnpm --filter @batch/express-example build && node --expose-gc src/minimal.mjs
//
// The server is the real Express example app (apps/express-example/dist/server.js: SQLite
// in memory, its transaction hook, its default limits), run as a child process with PORT=0;
// its CPU time is read from /proc/<pid>/stat (Linux; elsewhere only bytes are printed). The
// import is sent as a Kinto client sends one: JSON batches with `defaults` (method, path),
// split at the server's `maxRequests` (read from its service info), one after another on one
// keep-alive connection. Whole and minimal imports alternate, ROUNDS each after a warm-up,
// and every answer is checked (201 each; a body whole, none minimal; `"failed": []`).
//
// Goal (issue 20): minimal ≤ 0.25× the bytes and ≤ 0.85× the CPU per item of whole answers.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { check, formatRatio, printTable, startWatchdog } from './measure.mjs';

const HOST = '127.0.0.1';
const TOKEN = 'Bearer bench';
const ITEMS = 1000;
const ROUNDS = Number(process.env.ROUNDS ?? 8);
const GOAL_BYTES = 0.25;
const GOAL_CPU = 0.85;

const serverPath = fileURLToPath(new URL('../../express-example/dist/server.js', import.meta.url));
if (!existsSync(serverPath)) {
  console.log(
    `SKIP: ${serverPath} is not built (run \`pnpm --filter @batch/express-example build\` first)`,
  );
  process.exit(0);
}

const children = new Set();
startWatchdog('minimal', 300_000, children);

/**
 * Starts the example server; resolves with the child and its port (from its start banner).
 * @returns {Promise<{ child: import('node:child_process').ChildProcess, port: number }>}
 */
function startServer() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [serverPath], {
      env: { ...process.env, PORT: '0', DATABASE: ':memory:' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.add(child);
    child.once('exit', () => children.delete(child));
    let banner = '';
    child.on('error', reject);
    child.once('exit', (code) => reject(new Error(`the example server exited (${code})`)));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (/** @type {string} */ text) => {
      banner += text;
      const match = /listening on http:\/\/[^:\s]+:(\d+)/.exec(banner);
      if (match !== null) resolve({ child, port: Number(match[1]) });
    });
  });
}

const ticksPerSecond = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * The process's CPU time (user + system, all threads) in microseconds, or undefined where
 * /proc is not there.
 * @param {number} pid
 */
function cpuMicros(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), from field 3 on.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime (14), stime (15)
    return (ticks * 1e6) / ticksPerSecond;
  } catch {
    return undefined;
  }
}

const { child, port } = await startServer();
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/**
 * One request; resolves with the status, the body and the bytes the socket read for it.
 * @param {string} method
 * @param {string} path
 * @param {Record<string, string>} headers
 * @param {Buffer} [payload]
 * @returns {Promise<{ status: number, headers: import('node:http').IncomingHttpHeaders, body: Buffer, wire: number }>}
 */
function call(method, path, headers, payload) {
  return new Promise((resolve, reject) => {
    let before = 0;
    const req = httpRequest({ host: HOST, port, method, path, agent, headers }, (res) => {
      /** @type {Buffer[]} */
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          wire: (req.socket?.bytesRead ?? 0) - before,
        }),
      );
    });
    req.on('socket', (socket) => {
      before = socket.bytesRead;
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const info = await call('GET', '/', { accept: 'application/json' });
const maxRequests = JSON.parse(info.body.toString()).batch?.maxRequests ?? 100;

let imported = 0;
/** The next `count` articles of the import, as a reading list holds them. */
function nextArticles(count) {
  return Array.from({ length: count }, () => {
    const n = ++imported;
    return {
      title: `Reading list article ${n}: notes on HTTP request batching`,
      url: `https://blog.example.org/2026/12/reading-list-article-${n}`,
    };
  });
}

/**
 * Imports ITEMS articles in batches of `maxRequests`; checks every answer.
 * @param {boolean} minimal
 * @returns {Promise<{ wire: number, micros: number | undefined }>}
 */
async function importArticles(minimal) {
  const cpuBefore = cpuMicros(/** @type {number} */ (child.pid));
  let wire = 0;
  for (let sent = 0; sent < ITEMS; sent += maxRequests) {
    const articles = nextArticles(Math.min(maxRequests, ITEMS - sent));
    const payload = Buffer.from(
      JSON.stringify({
        defaults: { method: 'POST', path: '/articles' },
        requests: articles.map((body) => ({ body })),
      }),
    );
    const answer = await call(
      'POST',
      '/batch',
      {
        authorization: TOKEN,
        'content-type': 'application/json',
        'content-length': String(payload.length),
        ...(minimal ? { prefer: 'return=minimal' } : {}),
      },
      payload,
    );
    wire += answer.wire;
    check(answer.status === 200, `batch answered ${answer.status}`);
    check(
      (answer.headers['preference-applied'] === 'return=minimal') === minimal,
      'Preference-Applied',
    );
    const { responses, failed } = JSON.parse(answer.body.toString());
    check(responses.length === articles.length, 'one answer per article');
    check(Array.isArray(failed) && failed.length === 0, '"failed": []');
    for (const response of responses) {
      check(response.status === 201, `an article answered ${response.status}`);
      check(typeof response.headers.Location === 'string', 'Location kept');
      check('body' in response === !minimal, minimal ? 'no body' : 'a body');
    }
  }
  const cpuAfter = cpuMicros(/** @type {number} */ (child.pid));
  return {
    wire,
    micros: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
  };
}

// Warm-up: one import each.
await importArticles(false);
await importArticles(true);

const totals = {
  whole: { wire: 0, micros: 0, cpu: true },
  minimal: { wire: 0, micros: 0, cpu: true },
};
for (let round = 0; round < ROUNDS; round++) {
  for (const minimal of round % 2 === 0 ? [false, true] : [true, false]) {
    const result = await importArticles(minimal);
    const total = minimal ? totals.minimal : totals.whole;
    total.wire += result.wire;
    if (result.micros === undefined) total.cpu = false;
    else total.micros += result.micros;
  }
}

const perItem = ROUNDS * ITEMS;
const bytesWhole = totals.whole.wire / perItem;
const bytesMinimal = totals.minimal.wire / perItem;
const cpuKnown = totals.whole.cpu && totals.minimal.cpu;
const cpuWhole = totals.whole.micros / perItem;
const cpuMinimal = totals.minimal.micros / perItem;
printTable(
  `1,000-item import into the Express example app (batches of ${maxRequests}, ${ROUNDS} imports each, alternating)`,
  [
    { header: 'answer', align: 'left' },
    { header: 'bytes/item' },
    { header: 'bytes ratio' },
    { header: 'server CPU µs/item' },
    { header: 'CPU ratio' },
  ],
  [
    ['whole', bytesWhole.toFixed(1), '1.00×', cpuKnown ? cpuWhole.toFixed(1) : 'n/a', '1.00×'],
    [
      'Prefer: return=minimal',
      bytesMinimal.toFixed(1),
      formatRatio(bytesMinimal, bytesWhole),
      cpuKnown ? cpuMinimal.toFixed(1) : 'n/a',
      cpuKnown ? formatRatio(cpuMinimal, cpuWhole) : 'n/a',
    ],
  ],
);
const verdict = (/** @type {boolean} */ met) => (met ? 'MET' : 'MISSED');
console.log(
  `\ngoal bytes: minimal ≤ ${GOAL_BYTES}× whole — ${(bytesMinimal / bytesWhole).toFixed(2)}×, ${verdict(bytesMinimal <= GOAL_BYTES * bytesWhole)}`,
);
console.log(
  cpuKnown
    ? `goal CPU:   minimal ≤ ${GOAL_CPU}× whole — ${(cpuMinimal / cpuWhole).toFixed(2)}×, ${verdict(cpuMinimal <= GOAL_CPU * cpuWhole)}`
    : 'goal CPU:   SKIP (no /proc to read the server’s CPU time)',
);

agent.destroy();
child.kill('SIGTERM');
await new Promise((resolve) =>
  child.exitCode === null ? child.once('exit', resolve) : resolve(0),
);
