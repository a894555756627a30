// @batch/node dispatch cost, Express 5 and Koa 3: server CPU and heap bytes allocated per
// sub-request of a 50-GET JSON batch (tiny JSON answers, `GET /items/:id`), A/B across builds.
//
//   node src/node-dispatch.mjs [inproc|http|all] [express5,koa3,express4]
//
//   inproc  the batch route is called in this process with a fake outer request/response
//           (no socket, no HTTP parsing): CPU µs per item (process.cpuUsage, so GC threads
//           count) and heap bytes allocated per item (heap growth + what each GC freed,
//           from v8.GCProfiler; no forced gc() in the loop: it made Node 20 run it 3–4× slower).
//   http    each build's app in its own child process on 127.0.0.1; the client (this
//           process) sends the 50 GETs as one batch, as 50 concurrent keep-alive HTTP/1.1
//           requests and (Koa; Express has no HTTP/2) as 50 streams on one h2c session;
//           server CPU per item over IPC, as src/versus.mjs does.
//
// BUILDS="old=/tmp/ab/old,new=/tmp/ab/new" compares builds: each is a folder holding
// node_modules/@batch/{core,node,express,koa} (package.json + dist), e.g. a copy taken before
// a change. "ws" (the default) is the workspace's own build. Builds alternate round by
// round (ROUNDS, default 8; order flipped every round), so a busy machine hits both alike;
// the table shows each build's median and the median of the per-round ratios.
// SPLIT=1 (http) serves the direct requests from another process than the batches.
// PROFILE=1 with `node --cpu-prof` profiles only the first build (inproc).
// HEAP_PROF=file.heapprofile samples every allocation of the timed rounds (collected objects
// too, unlike --heap-prof) through the inspector, for the first build only.
// SERVER_PROF=1 starts the http servers with --cpu-prof / --heap-prof into prof/node-dispatch/.
//
// Every batch answer is checked once per build and mode (status, 50 bodies), so a broken
// build crashes the bench rather than reporting a fast time.

import { fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { Agent, request as httpRequest, IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttp2Server, connect as http2Connect } from 'node:http2';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GCProfiler } from 'node:v8';
import { decodeBatchResponse, encodeBatchRequest } from '@batch/core';
import Router from '@koa/router';
import express5 from 'express';
import express4 from 'express4';
import Koa from 'koa';
import { check, median, printTable } from './measure.mjs';

const ITEMS = 50;
const HOST = '127.0.0.1';
const ROUNDS = Number(process.env.ROUNDS ?? 8);
/** Batches per build per round. */
const PER_ROUND = Number(process.env.PER_ROUND ?? 200);
const WARMUP = Number(process.env.WARMUP ?? 300);
const SPLIT = process.env.SPLIT === '1';

const paths = Array.from({ length: ITEMS }, (_, i) => `/items/${i + 1}`);
const expected = paths.map((_, i) => JSON.stringify({ id: i + 1, title: `Item ${i + 1}` }));
const batchBody = Buffer.from(
  encodeBatchRequest(
    'json',
    paths.map((path) => ({ method: 'GET', target: path })),
  ).body,
);
const batchType = 'application/json';

/** @typedef {{ name: string, root: string | null }} Build */
/** @returns {Build[]} */
function builds() {
  const spec = process.env.BUILDS ?? 'ws';
  return spec.split(',').map((entry) => {
    const [name, root] = entry.includes('=') ? entry.split('=') : [entry, undefined];
    return { name: /** @type {string} */ (name), root: root ? resolve(root) : null };
  });
}

/** @param {Build} build @param {'express' | 'koa'} pkg */
async function adapterOf(build, pkg) {
  if (build.root === null) return import(`@batch/${pkg}`);
  const file = join(build.root, 'node_modules', '@batch', pkg, 'dist', 'index.js');
  return import(pathToFileURL(file).href);
}

/** The app: `GET /items/:id` answers `{"id":…,"title":"Item …"}`; `POST /batch` the batch. */
async function makeApp(/** @type {string} */ framework, /** @type {Build} */ build) {
  const item = (/** @type {number} */ id) => ({ id, title: `Item ${id}` });
  if (framework === 'express5' || framework === 'express4') {
    const express = framework === 'express5' ? express5 : /** @type {any} */ (express4);
    const { batch } = await adapterOf(build, 'express');
    const app = express();
    app.get('/items/:id', (/** @type {any} */ req, /** @type {any} */ res) => {
      res.json(item(Number(req.params.id)));
    });
    app.post('/batch', batch(app));
    return /** @type {(req: any, res: any) => void} */ (app);
  }
  if (framework === 'koa3') {
    const { batch } = await adapterOf(build, 'koa');
    const app = new Koa();
    const router = new Router();
    router.get('/items/:id', (ctx) => {
      ctx.body = item(Number(ctx.params.id));
    });
    app.use(batch(app, { path: '/batch' }));
    app.use(router.routes());
    return app.callback();
  }
  throw new Error(`unknown framework ${framework}`);
}

/** Checks one batch answer: 50 items, each 200 with its JSON. */
async function checkBatch(/** @type {string} */ contentType, /** @type {Uint8Array} */ body) {
  const parts = await decodeBatchResponse({ contentType, body });
  check(parts.length === ITEMS, `batch answered ${parts.length} items`);
  const decoder = new TextDecoder();
  parts.forEach((part, i) => {
    check(part.status === 200, `item ${i} answered ${part.status}`);
    check(decoder.decode(part.body) === expected[i], `item ${i} body ${decoder.decode(part.body)}`);
  });
}

// --- in-process: a fake outer request and response ------------------------------------------

/** The outer connection: no I/O; what it is written is kept when `keep` is set. */
class FakeSocket extends EventEmitter {
  remoteAddress = '127.0.0.1';
  remotePort = 50000;
  remoteFamily = 'IPv4';
  localAddress = '127.0.0.1';
  localPort = 3000;
  encrypted = false;
  readable = true;
  writable = true;
  destroyed = false;
  writableCorked = 0;
  _writableState = { corked: 0 };
  /** @type {unknown} */
  _httpMessage = null;
  /** @type {Buffer[] | null} */
  keep = null;
  /** @param {any} data @param {any} encoding @param {any} callback */
  write(data, encoding, callback) {
    if (this.keep)
      this.keep.push(Buffer.from(data, typeof encoding === 'string' ? encoding : undefined));
    const cb = typeof encoding === 'function' ? encoding : callback;
    if (typeof cb === 'function') process.nextTick(cb);
    return true;
  }
  end() {
    return this;
  }
  destroy() {
    return this;
  }
  cork() {}
  uncork() {}
  setTimeout() {
    return this;
  }
}

/** Decodes an HTTP/1.1 response with a chunked body: [head, body]. @param {Buffer} raw */
function splitResponse(raw) {
  const end = raw.indexOf('\r\n\r\n');
  const head = raw.subarray(0, end).toString('latin1');
  let at = end + 4;
  if (!/transfer-encoding: chunked/i.test(head)) return { head, body: raw.subarray(at) };
  const parts = [];
  for (;;) {
    const line = raw.indexOf('\r\n', at);
    const size = Number.parseInt(raw.subarray(at, line).toString('latin1'), 16);
    if (size === 0) break;
    parts.push(raw.subarray(line + 2, line + 2 + size));
    at = line + 2 + size + 2;
  }
  return { head, body: Buffer.concat(parts) };
}

/** One batch through `app` in-process; resolves when the outer response finished. */
async function runBatch(/** @type {(req: any, res: any) => void} */ app, keep = false) {
  // Each batch in its own macrotask, as a server gets it: nextTick callbacks run in between.
  await new Promise(setImmediate);
  return new Promise((done) => {
    const socket = new FakeSocket();
    if (keep) socket.keep = [];
    const req = new IncomingMessage(/** @type {any} */ (socket));
    req.method = 'POST';
    req.url = '/batch';
    req.httpVersion = '1.1';
    req.httpVersionMajor = 1;
    req.httpVersionMinor = 1;
    req.headers = {
      host: 'localhost:3000',
      'content-type': batchType,
      'content-length': String(batchBody.length),
    };
    req.rawHeaders = [
      'Host',
      'localhost:3000',
      'Content-Type',
      batchType,
      'Content-Length',
      String(batchBody.length),
    ];
    req.push(batchBody);
    req.push(null);
    const res = new ServerResponse(req);
    res.assignSocket(/** @type {any} */ (socket));
    res.once('finish', () => {
      res.detachSocket(/** @type {any} */ (socket));
      done(socket.keep ? Buffer.concat(socket.keep) : null);
    });
    app(req, res);
  });
}

/** @param {(req: any, res: any) => void} app */
async function checkInProcess(app, /** @type {string} */ label) {
  const raw = /** @type {Buffer} */ (await runBatch(app, true));
  const { head, body } = splitResponse(raw);
  const type = /content-type: *([^\r\n]*)/i.exec(head)?.[1] ?? '';
  check(head.startsWith('HTTP/1.1 200'), `${label}: ${head.split('\r\n')[0]}`);
  await checkBatch(type, body);
}

/** CPU µs and heap bytes allocated per item over `batches` batches. */
async function measureInProcess(/** @type {(req: any, res: any) => void} */ app, batches) {
  // No forced collection here: after a gc() V8 ran this loop 3–4× slower (and mostly idle)
  // on Node 20. What each GC in the window freed is counted instead.
  const profiler = new GCProfiler();
  profiler.start();
  const heap0 = process.memoryUsage().heapUsed;
  const cpu0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  for (let i = 0; i < batches; i++) await runBatch(app);
  const wall = Number(process.hrtime.bigint() - wall0) / 1e3;
  const cpu = process.cpuUsage(cpu0);
  const heap1 = process.memoryUsage().heapUsed;
  const stats = profiler.stop();
  let freed = 0;
  for (const gc of stats?.statistics ?? []) {
    freed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
  }
  const items = batches * ITEMS;
  return {
    cpu: (cpu.user + cpu.system) / items,
    wall: wall / items,
    bytes: (heap1 - heap0 + freed) / items,
  };
}

/** With HEAP_PROF set: samples allocations, collected ones included; returns how to stop. */
async function startHeapProfile() {
  const file = process.env.HEAP_PROF;
  if (!file) return async () => {};
  const { Session } = await import('node:inspector');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  const post = (/** @type {string} */ method, params = {}) =>
    new Promise((ok, fail) =>
      session.post(method, params, (error, result) => (error ? fail(error) : ok(result))),
    );
  await post('HeapProfiler.startSampling', {
    samplingInterval: 512,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  return async () => {
    const { profile } = /** @type {any} */ (await post('HeapProfiler.stopSampling'));
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

async function inProcess(/** @type {string[]} */ frameworks) {
  const list = builds();
  const rows = [];
  for (const framework of frameworks) {
    const apps = [];
    for (const build of process.env.PROFILE ? list.slice(0, 1) : list) {
      const app = await makeApp(framework, build);
      await checkInProcess(app, `${framework} ${build.name}`);
      for (let i = 0; i < WARMUP; i++) await runBatch(app);
      apps.push({
        build,
        app,
        cpu: /** @type {number[]} */ ([]),
        wall: /** @type {number[]} */ ([]),
        bytes: /** @type {number[]} */ ([]),
      });
    }
    const stopHeapProfile = await startHeapProfile();
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? apps : [...apps].reverse();
      for (const entry of order) {
        const { cpu, wall, bytes } = await measureInProcess(entry.app, PER_ROUND);
        entry.cpu.push(cpu);
        entry.wall.push(wall);
        entry.bytes.push(bytes);
      }
    }
    await stopHeapProfile();
    const base = apps[0];
    for (const entry of apps) {
      const ratios = entry.cpu.map((cpu, i) => cpu / /** @type {number} */ (base?.cpu[i]));
      rows.push([
        framework,
        entry.build.name,
        median(entry.cpu).toFixed(1),
        `${Math.min(...entry.cpu).toFixed(1)}–${Math.max(...entry.cpu).toFixed(1)}`,
        median(entry.wall).toFixed(1),
        (median(entry.bytes) / 1024).toFixed(2),
        entry === base ? '' : `${median(ratios).toFixed(2)}×`,
      ]);
    }
  }
  printTable(
    `in-process, ${ITEMS}-GET batch, ${ROUNDS} rounds × ${PER_ROUND} batches per build (alternating)`,
    [
      { header: 'framework', align: 'left' },
      { header: 'build', align: 'left' },
      { header: 'CPU µs/item (median)' },
      { header: 'range' },
      { header: 'wall µs/item' },
      { header: 'heap KB/item' },
      { header: `CPU ÷ ${list[0]?.name}` },
    ],
    rows,
  );
}

// --- over HTTP: a server per build in a child process ---------------------------------------

async function serverChild(/** @type {string} */ framework, /** @type {string} */ buildSpec) {
  const [name, root] = buildSpec.split('=');
  const app = await makeApp(framework, { name: /** @type {string} */ (name), root: root || null });
  const { createServer } = await import('node:http');
  const server = createServer(app);
  server.keepAliveTimeout = 120_000;
  // h2c for Koa (Express has no HTTP/2 support).
  const h2 = framework === 'koa3' ? createHttp2Server(/** @type {any} */ (app)) : null;
  const listen = (/** @type {any} */ s) =>
    new Promise((ok) => s.listen(0, HOST, () => ok(s.address().port)));
  const port = await listen(server);
  const h2Port = h2 ? await listen(h2) : null;
  process.send?.({ type: 'ready', port, h2Port });
  process.on('message', (/** @type {any} */ message) => {
    if (message.type === 'cpu') process.send?.({ type: 'cpu', usage: process.cpuUsage() });
    else if (message.type === 'close') process.exit(0);
  });
  process.on('disconnect', () => process.exit(0));
}

/** @param {Agent} agent @param {number} port @param {string} method @param {string} path */
function send(agent, port, method, path, body = /** @type {Buffer | null} */ (null)) {
  return /** @type {Promise<{ status: number, type: string, body: Buffer }>} */ (
    new Promise((resolvePromise, reject) => {
      const headers = body ? { 'content-type': batchType, 'content-length': body.length } : {};
      const req = httpRequest({ agent, host: HOST, port, method, path, headers }, (res) => {
        /** @type {Buffer[]} */
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('end', () =>
          resolvePromise({
            status: res.statusCode ?? 0,
            type: res.headers['content-type'] ?? '',
            body: Buffer.concat(chunks),
          }),
        );
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body ?? undefined);
    })
  );
}

async function startServer(/** @type {string} */ framework, /** @type {Build} */ build) {
  const prof = process.env.SERVER_PROF
    ? [
        '--cpu-prof',
        '--cpu-prof-dir=prof/node-dispatch',
        '--heap-prof',
        '--heap-prof-dir=prof/node-dispatch',
      ]
    : [];
  const child = fork(
    fileURLToPath(import.meta.url),
    ['server', framework, `${build.name}=${build.root ?? ''}`],
    {
      execArgv: [...process.execArgv.filter((arg) => !arg.startsWith('--cpu-prof')), ...prof],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  /** @type {Map<string, (message: any) => void>} */
  const waiting = new Map();
  child.on('message', (/** @type {any} */ message) => waiting.get(message.type)?.(message));
  const next = (/** @type {string} */ type) => new Promise((ok) => waiting.set(type, ok));
  const { port, h2Port } = /** @type {any} */ (await next('ready'));
  const cpu = async () => {
    const answer = next('cpu');
    child.send({ type: 'cpu' });
    const { usage } = /** @type {any} */ (await answer);
    return usage.user + usage.system;
  };
  const batchAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  const concurrentAgent = new Agent({ keepAlive: true, maxSockets: ITEMS });
  const batch = () => send(batchAgent, port, 'POST', '/batch', batchBody);
  const concurrent = () =>
    Promise.all(paths.map((path) => send(concurrentAgent, port, 'GET', path)));
  const session = h2Port === null ? null : await h2Session(h2Port);
  const h2 = session === null ? null : () => Promise.all(paths.map((path) => h2Get(session, path)));
  const close = async () => {
    batchAgent.destroy();
    concurrentAgent.destroy();
    session?.close();
    const exited = new Promise((ok) => child.once('exit', ok));
    child.send({ type: 'close' });
    await exited;
  };
  return { build, batch, concurrent, h2, cpu, close };
}

/** An h2c session to `port`, connected. @param {number} port */
function h2Session(port) {
  return /** @type {Promise<import('node:http2').ClientHttp2Session>} */ (
    new Promise((ok, fail) => {
      const session = http2Connect(`http://${HOST}:${port}`);
      session.once('error', fail);
      session.once('connect', () => ok(session));
    })
  );
}

/** One GET as a new stream of `session`. @param {import('node:http2').ClientHttp2Session} session @param {string} path */
function h2Get(session, path) {
  return /** @type {Promise<{ status: number, body: Buffer }>} */ (
    new Promise((ok, fail) => {
      const stream = session.request({ ':path': path }, { endStream: true });
      let status = 0;
      /** @type {Buffer[]} */
      const chunks = [];
      stream.on('response', (headers) => {
        status = Number(headers[':status']);
      });
      stream.on('data', (chunk) => chunks.push(chunk));
      stream.on('error', fail);
      stream.on('end', () => ok({ status, body: Buffer.concat(chunks) }));
    })
  );
}

async function overHttp(/** @type {string[]} */ frameworks) {
  const list = builds();
  const rows = [];
  const perRound = Math.max(10, Math.round(PER_ROUND / 4));
  for (const framework of frameworks) {
    const servers = [];
    for (const build of list) {
      const server = await startServer(framework, build);
      // SPLIT=1: the direct requests go to a server process of their own, so that their
      // objects (Express: a hidden class per request on Node 20/22) do not share inline
      // caches with the sub-requests. Default: one process serves both, as a real server does.
      const direct = SPLIT ? await startServer(framework, build) : server;
      const first = await server.batch();
      check(first.status === 200, `${framework} ${build.name}: batch ${first.status}`);
      await checkBatch(first.type, first.body);
      const answers = await direct.concurrent();
      for (const [i, answer] of answers.entries())
        check(answer.body.toString() === expected[i], `direct ${i}`);
      for (const [i, answer] of ((await direct.h2?.()) ?? []).entries())
        check(answer.body.toString() === expected[i], `h2 ${i}`);
      for (let i = 0; i < WARMUP / 3; i++) {
        await server.batch();
        await direct.concurrent();
        await direct.h2?.();
      }
      servers.push({
        server,
        direct,
        batch: /** @type {number[]} */ ([]),
        concurrent: /** @type {number[]} */ ([]),
        h2: /** @type {number[]} */ ([]),
      });
    }
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? servers : [...servers].reverse();
      for (const entry of order) {
        for (const kind of /** @type {const} */ (['batch', 'concurrent', 'h2'])) {
          const target = kind === 'batch' ? entry.server : entry.direct;
          const call = target[kind];
          if (call === null) continue;
          const cpu0 = await target.cpu();
          for (let i = 0; i < perRound; i++) await call();
          entry[kind].push(((await target.cpu()) - cpu0) / perRound / ITEMS);
        }
      }
    }
    const base = servers[0];
    for (const entry of servers) {
      const ratios = entry.batch.map((cpu, i) => cpu / /** @type {number} */ (base?.batch[i]));
      const vsConcurrent = entry.batch.map(
        (cpu, i) => cpu / /** @type {number} */ (entry.concurrent[i]),
      );
      const vsH2 = entry.batch.map((cpu, i) => cpu / /** @type {number} */ (entry.h2[i]));
      rows.push([
        framework,
        entry.server.build.name,
        median(entry.batch).toFixed(1),
        median(entry.concurrent).toFixed(1),
        entry.h2.length > 0 ? median(entry.h2).toFixed(1) : '–',
        `${median(vsConcurrent).toFixed(2)}×`,
        entry.h2.length > 0 ? `${median(vsH2).toFixed(2)}×` : '–',
        entry === base ? '' : `${median(ratios).toFixed(2)}×`,
      ]);
      await entry.server.close();
      if (entry.direct !== entry.server) await entry.direct.close();
    }
  }
  printTable(
    `over HTTP (server CPU${SPLIT ? ', direct requests on a server of their own' : ''}), ${ITEMS} GETs, ${ROUNDS} rounds × ${perRound} per kind per build (alternating)`,
    [
      { header: 'framework', align: 'left' },
      { header: 'build', align: 'left' },
      { header: 'batch µs/item' },
      { header: 'HTTP/1.1 ×50 concurrent µs/item' },
      { header: 'HTTP/2 ×50 streams µs/item' },
      { header: 'batch ÷ concurrent' },
      { header: 'batch ÷ HTTP/2' },
      { header: `batch ÷ ${list[0]?.name}` },
    ],
    rows,
  );
}

const [mode = 'all', arg2, arg3] = process.argv.slice(2);
if (mode === 'server') {
  await serverChild(/** @type {string} */ (arg2), /** @type {string} */ (arg3));
} else {
  const frameworks = (arg2 ?? 'express5,koa3').split(',');
  if (mode === 'inproc' || mode === 'all') await inProcess(frameworks);
  if (mode === 'http' || mode === 'all') await overHttp(frameworks);
}
