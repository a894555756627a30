// @batch/fastify: sub-requests through `app.routing(req, res)` (what the adapter does, on
// @batch/node's messages) against `app.inject()` (light-my-request's mock request/response).
// Server CPU per sub-request of a 50-GET JSON batch over loopback HTTP, the server in its own
// process (CPU read over IPC); both variants on one app, interleaved in rounds. And the floor:
// the same 50 GETs as 50 `app.inject()` calls in the server, no batch at all.
//
//   node --expose-gc src/fastify-dispatch.mjs          (from apps/bench; build @batch/fastify first)
//
// Every answer of the first and last batch of each variant is checked.

import { fork } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { fileURLToPath } from 'node:url';
import { decodeBatchResponse, encodeBatchRequest } from '@batch/core';
import { check, forkedServer, median, printTable, startWatchdog } from './measure.mjs';

const ITEMS = 50;
const RUNS = Number(process.env.RUNS ?? 1000);
const ROUNDS = 10;
const HOST = '127.0.0.1';
const paths = Array.from({ length: ITEMS }, (_, i) => `/items/${i + 1}`);
const expected = paths.map((_, i) => JSON.stringify({ id: i + 1, title: `Item ${i + 1}` }));

if (process.argv[2] === 'server') {
  const { default: Fastify } = await import('fastify');
  const { batch } = await import('@batch/fastify');
  const { createBatchHandler } = await import('@batch/core');
  const { chunksOf, settleNodeOutput } = await import('@batch/node');
  const { headerPairs } = await import('@batch/node/incoming');
  const app = Fastify();
  app.get('/items/:id', async (request) => {
    const id = Number(/** @type {any} */ (request.params).id);
    return { id, title: `Item ${id}` };
  });
  await app.register(batch, { path: '/batch' });
  // The same engine, its dispatcher `app.inject()`.
  const injecting = createBatchHandler({
    dispatch: async (sub) => {
      const response = await app.inject({
        method: /** @type {any} */ (sub.method),
        url: sub.target,
        headers: Object.fromEntries(
          sub.headers.map(([name, value]) => [name.toLowerCase(), value]),
        ),
        ...(sub.body.length > 0 ? { payload: Buffer.from(sub.body) } : {}),
      });
      /** @type {[string, string][]} */
      const headers = [];
      for (const [name, value] of Object.entries(response.headers)) {
        for (const each of Array.isArray(value) ? value : [value])
          headers.push([name, String(each)]);
      }
      return { status: response.statusCode, headers, body: response.rawPayload };
    },
  });
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    scope.post('/batch-inject', async (request, reply) => {
      const output = await injecting.handle({
        method: 'POST',
        path: '/batch-inject',
        headers: headerPairs(request.raw.rawHeaders),
        body: chunksOf(/** @type {any} */ (request.body)),
      });
      const answer = await settleNodeOutput(output);
      return reply.code(answer.status).headers(answer.headers).send(answer.body);
    });
  });
  app.get('/inject-50', async () => {
    for (const path of paths) await app.inject({ method: 'GET', url: path });
    return { ok: true };
  });
  await app.listen({ port: 0, host: HOST });
  process.on('message', (/** @type {any} */ message) => {
    if (message.type === 'cpu') process.send?.({ type: 'cpu', usage: process.cpuUsage() });
    else if (message.type === 'close') app.close().then(() => process.exit(0));
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ type: 'ready', port: /** @type {any} */ (app.server.address()).port });
} else {
  const children = new Set();
  const watchdog = startWatchdog('fastify-dispatch', 300_000, children);
  const child = fork(fileURLToPath(import.meta.url), ['server'], { stdio: 'inherit' });
  const server = await forkedServer(child, 'fastify-dispatch', children);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const body = encodeBatchRequest(
    'json',
    paths.map((path) => ({ method: 'GET', target: path })),
  );
  /** @param {string} method @param {string} path @param {Uint8Array} [payload] */
  const call = (method, path, payload) =>
    new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: HOST,
          port: server.port,
          method,
          path,
          agent,
          headers: payload
            ? { 'content-type': body.contentType, 'content-length': payload.length }
            : {},
        },
        (res) => {
          /** @type {Buffer[]} */
          const chunks = [];
          res.on('data', (chunk) => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              type: res.headers['content-type'],
              body: new Uint8Array(Buffer.concat(chunks)),
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  const variants = [
    { name: 'batch, routing (@batch/fastify)', run: () => call('POST', '/batch', body.body) },
    { name: 'batch, inject', run: () => call('POST', '/batch-inject', body.body) },
    { name: '50 × app.inject(), no batch', run: () => call('GET', '/inject-50') },
  ];
  const checkBatch = async (/** @type {any} */ answer) => {
    const parts = await decodeBatchResponse({ contentType: answer.type, body: answer.body });
    check(parts.length === ITEMS, `${parts.length} items`);
    for (const [i, part] of parts.entries())
      check(new TextDecoder().decode(part.body) === expected[i], `item ${i}`);
  };
  const results = variants.map(() => ({ cpu: 0, wall: /** @type {number[]} */ ([]) }));
  for (const [i, variant] of variants.entries()) {
    if (i < 2) await checkBatch(await variant.run());
    for (let n = 0; n < 200; n++) await variant.run();
  }
  const perRound = Math.ceil(RUNS / ROUNDS);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, variant] of variants.entries()) {
      const result = /** @type {{ cpu: number, wall: number[] }} */ (results[i]);
      const before = await server.cpu();
      for (let n = 0; n < perRound; n++) {
        const start = process.hrtime.bigint();
        await variant.run();
        result.wall.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
      result.cpu += (await server.cpu()) - before;
    }
  }
  for (const variant of variants.slice(0, 2)) await checkBatch(await variant.run());
  const base = /** @type {{ cpu: number }} */ (results[0]).cpu;
  printTable(
    `Fastify: ${ITEMS} GETs per operation, server CPU per sub-request (${perRound * ROUNDS} operations each)`,
    [
      { header: 'variant', align: 'left' },
      { header: 'server CPU µs/item' },
      { header: '÷ routing' },
      { header: 'p50 ms' },
    ],
    variants.map((variant, i) => {
      const result = /** @type {{ cpu: number, wall: number[] }} */ (results[i]);
      return [
        variant.name,
        (result.cpu / (perRound * ROUNDS) / ITEMS).toFixed(1),
        `${(result.cpu / base).toFixed(2)}×`,
        median(result.wall).toFixed(2),
      ];
    }),
  );
  agent.destroy();
  await server.close();
  clearTimeout(watchdog);
}
