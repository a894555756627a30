import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { batch } from '@batch/express';
import { batch as fastifyBatch } from '@batch/fastify';
import { batch as honoBatch } from '@batch/hono';
import { batch as koaBatch } from '@batch/koa';
import { createNodeBatchHandler } from '@batch/node';
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { getRequestListener } from '@hono/node-server';
import { httpInstrumentationMiddleware } from '@hono/otel';
import { context, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { getRPCMetadata } from '@opentelemetry/core';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { KoaInstrumentation } from '@opentelemetry/instrumentation-koa';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { Hono } from 'hono';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { batchTracing } from './index.js';

// The SDK and the instrumentations first, then the modules they patch (required, as an app
// that is traced loads them after its tracing setup).
const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();
registerInstrumentations({
  tracerProvider: provider,
  instrumentations: [
    new HttpInstrumentation(),
    new ExpressInstrumentation(),
    new KoaInstrumentation(),
  ],
});
const fastifyOtel = new FastifyOtelInstrumentation();
fastifyOtel.setTracerProvider(provider);
const require = createRequire(import.meta.url);
const http = require('node:http') as typeof import('node:http');
const express = require('express') as typeof import('express');
const Koa = require('koa') as typeof import('koa');
const { Router } = require('@koa/router') as typeof import('@koa/router');
const Fastify = require('fastify') as typeof import('fastify');

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const servers: Array<import('node:http').Server> = [];

async function listen(handler: Handler): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(() => exporter.reset());
afterAll(async () => {
  for (const server of servers) server.close();
  await provider.shutdown();
});

const ITEMS = {
  requests: [
    { id: 'a', method: 'GET', path: '/books/1' },
    {
      id: 'b',
      method: 'GET',
      path: '/books/2?full=1',
      headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    },
    { id: 'c', method: 'DELETE', path: '/books/3' },
  ],
};

/** Sends the 3-item batch; resolves when the batch's server span has ended. */
async function sendBatch(
  base: string,
  items: object = ITEMS,
): Promise<{ statuses: number[]; spans: ReadableSpan[] }> {
  const response = await fetch(`${base}/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(items),
  });
  expect(response.status).toBe(200);
  const answer = (await response.json()) as { responses: Array<{ status: number }> };
  // The server span ends when the answer is written: wait for it.
  for (let tries = 0; tries < 100; tries += 1) {
    const spans = exporter.getFinishedSpans();
    if (spans.some((span) => span.instrumentationScope.name.endsWith('instrumentation-http')))
      break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return {
    statuses: answer.responses.map((item) => item.status),
    spans: exporter.getFinishedSpans(),
  };
}

function parentId(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

/** The batch span, its three item spans in request order, and every span under each item. */
function tree(spans: ReadableSpan[]) {
  const servers = spans.filter(
    (span) =>
      span.kind === SpanKind.SERVER &&
      span.instrumentationScope.name === '@opentelemetry/instrumentation-http',
  );
  expect(servers).toHaveLength(1);
  const server = servers[0]!;
  const items = spans
    .filter(
      (span) =>
        span.instrumentationScope.name === '@batch/otel' &&
        parentId(span) === server.spanContext().spanId,
    )
    .sort((a, b) => (a.startTime[0] - b.startTime[0]) * 1e9 + a.startTime[1] - b.startTime[1]);
  const under = (span: ReadableSpan): ReadableSpan[] => {
    const children = spans.filter((child) => parentId(child) === span.spanContext().spanId);
    return children.flatMap((child) => [child, ...under(child)]);
  };
  return { server, items, under };
}

/**
 * The batch span keeps its name and route (`POST /batch`), the item spans are under it, and
 * under each item only the framework's own spans (`isScope`), one of them on the item's route.
 */
function expectFrameworkTree(spans: ReadableSpan[], isScope: (scope: string) => boolean) {
  const found = tree(spans);
  expect(found.server.name).toBe('POST /batch');
  expect(found.server.attributes['http.route']).toBe('/batch');
  expectItemSpans(found.items, true);
  for (const item of found.items) {
    const nested = found.under(item);
    expect(nested.length).toBeGreaterThan(0);
    expect(nested.every((span) => isScope(span.instrumentationScope.name))).toBe(true);
    expect(nested.map((span) => span.attributes['http.route'])).toContain('/books/:id');
  }
  return found;
}

function expectItemSpans(items: ReadableSpan[], routes: boolean, links = true): void {
  expect(items).toHaveLength(3);
  const [a, b, c] = items as [ReadableSpan, ReadableSpan, ReadableSpan];
  for (const item of items) expect(item.kind).toBe(SpanKind.INTERNAL);
  expect(a.name).toBe(routes ? 'GET /books/:id' : 'GET');
  expect(a.attributes).toEqual({
    'http.request.method': 'GET',
    'url.path': '/books/1',
    'http.response.status_code': 200,
    ...(routes ? { 'http.route': '/books/:id' } : {}),
  });
  expect(b.attributes).toMatchObject({ 'url.path': '/books/2', 'url.query': 'full=1' });
  if (links) {
    expect(b.links.map((link) => link.context.traceId)).toEqual([
      '0af7651916cd43dd8448eb211c80319c',
    ]);
    expect(b.links[0]!.context.spanId).toBe('b7ad6b7169203331');
  }
  expect(a.links).toEqual([]);
  expect(c.name).toBe(routes ? 'DELETE /books/:id' : 'DELETE');
  expect(c.attributes).toMatchObject({
    'http.request.method': 'DELETE',
    'http.response.status_code': 500,
    'error.type': '500',
  });
  expect(c.status.code).toBe(SpanStatusCode.ERROR);
  expect(a.status.code).toBe(SpanStatusCode.UNSET);
  // Every item span is in the batch's trace.
  const traceIds = new Set(items.map((item) => item.spanContext().traceId));
  expect(traceIds.size).toBe(1);
}

function expressApp(options: { traced: boolean }) {
  const app = express();
  app.post('/batch', batch(app, options.traced ? { aroundItem: batchTracing() } : {}));
  app.get('/books/:id', (req, res) => {
    res.json({ id: req.params.id });
  });
  app.delete('/books/:id', () => {
    throw new Error('no deleting');
  });
  app.use(
    (
      _error: unknown,
      _req: IncomingMessage,
      res: ServerResponse,
      _next: (error?: unknown) => void,
    ) => {
      res.statusCode = 500;
      res.end('failed');
    },
  );
  return app;
}

describe('batchTracing with the SDK and the real http and express instrumentations', () => {
  let traced: string;
  let untraced: string;
  beforeAll(async () => {
    traced = await listen(expressApp({ traced: true }));
    untraced = await listen(expressApp({ traced: false }));
  });

  it('Express: POST /batch → three INTERNAL item spans → the express spans of each item', async () => {
    const { statuses, spans } = await sendBatch(traced);
    expect(statuses).toEqual([200, 200, 500]);
    const { server, items, under } = expectFrameworkTree(spans, (scope) =>
      scope.includes('express'),
    );
    expect(server.attributes['http.response.status_code']).toBe(200);
    // The rest: the express span of the batch route itself, beside the items.
    const inItems = new Set(items.flatMap((item) => [item, ...under(item)]));
    const rest = spans.filter((span) => span !== server && !inItems.has(span));
    expect(rest.map((span) => [span.attributes['http.route'], parentId(span)])).toEqual([
      ['/batch', server.spanContext().spanId],
    ]);
  });

  it('without it, a sub-request renames the batch span (what the item route data prevents)', async () => {
    const { spans } = await sendBatch(untraced);
    const { server } = tree(spans);
    expect(server.attributes['http.route']).not.toBe('/batch');
    expect(server.name).not.toBe('POST /batch');
  });

  it('plain node:http: item spans under the batch span; route data written by the app stays the item’s', async () => {
    const app: Handler = (req, res) => {
      // What a framework's instrumentation does when it matches a route.
      const metadata = getRPCMetadata(context.active());
      if (metadata !== undefined) metadata.route = '/books/:id';
      res.statusCode = req.method === 'DELETE' ? 500 : 200;
      res.end('{}');
    };
    const handler = createNodeBatchHandler(app, { aroundItem: batchTracing() });
    const base = await listen((req, res) => {
      void handler(req, res);
    });
    const { statuses, spans } = await sendBatch(base);
    expect(statuses).toEqual([200, 200, 500]);
    const { server, items, under } = tree(spans);
    expect(server.name).toBe('POST');
    expect(server.attributes['http.route']).toBeUndefined();
    expectItemSpans(items, true);
    expect(spans).toHaveLength(4);
    for (const item of items) expect(under(item)).toEqual([]);
  });

  it('under no span (the batch request not traced) items are not traced, unless requireParentSpan is false', async () => {
    const answer = { status: 201, headers: [], body: new Uint8Array() };
    const item = {
      request: { method: 'POST', target: '/books', headers: [], body: new Uint8Array() },
      index: 0,
      batch: {
        method: 'POST',
        path: '/batch',
        headers: [],
        format: 'json' as const,
        native: undefined,
      },
    };
    expect(await batchTracing()(item, async () => answer)).toBe(answer);
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(await batchTracing({ requireParentSpan: false })(item, async () => answer)).toBe(answer);
    const [root, ...others] = exporter.getFinishedSpans();
    expect(others).toEqual([]);
    expect(root!.parentSpanContext).toBeUndefined();
    expect(root!.name).toBe('POST');
    expect(root!.attributes['http.response.status_code']).toBe(201);
  });
});

describe('batchTracing with Koa and @koa/router (instrumentation-koa)', () => {
  it('POST /batch → three INTERNAL item spans → the koa spans of each item', async () => {
    const app = new Koa();
    const router = new Router();
    router.post('/batch', koaBatch(app, { aroundItem: batchTracing() }));
    router.get('/books/:id', (ctx) => {
      ctx.body = { id: ctx.params.id };
    });
    router.delete('/books/:id', () => {
      throw new Error('no deleting');
    });
    app.use(router.routes());
    app.silent = true;
    const { statuses, spans } = await sendBatch(await listen(app.callback()));
    expect(statuses).toEqual([200, 200, 500]);
    expectFrameworkTree(spans, (scope) => scope.includes('koa'));
  });
});

describe('batchTracing with Fastify (@fastify/otel)', () => {
  it('POST /batch → three INTERNAL item spans → the fastify spans of each item', async () => {
    const app = Fastify();
    await app.register(fastifyOtel.plugin());
    await app.register(fastifyBatch, { path: '/batch', aroundItem: batchTracing() });
    app.get('/books/:id', async (request) => ({ id: (request.params as { id: string }).id }));
    app.delete('/books/:id', async () => {
      throw new Error('no deleting');
    });
    const address = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { statuses, spans } = await sendBatch(address);
      expect(statuses).toEqual([200, 200, 500]);
      expectFrameworkTree(spans, (scope) => scope === '@fastify/otel');
    } finally {
      await app.close();
    }
  });
});

describe('batchTracing with Hono (@hono/otel)', () => {
  it('POST /batch → three INTERNAL item spans → the hono span of each item', async () => {
    const app = new Hono();
    app.use(httpInstrumentationMiddleware());
    app.all('/batch/*', honoBatch(app, { aroundItem: batchTracing() }));
    app.get('/books/:id', (c) => c.json({ id: c.req.param('id') }));
    app.delete('/books/:id', () => {
      throw new Error('no deleting');
    });
    app.onError((_error, c) => c.text('failed', 500));
    // @hono/otel continues a trace from a request's `traceparent` over the active span: an
    // item with one of its own would leave the batch's trace (see the README), so none here.
    const requests = ITEMS.requests.map(({ headers: _headers, ...item }) => item);
    const { statuses, spans } = await sendBatch(await listen(getRequestListener(app.fetch)), {
      requests,
    });
    expect(statuses).toEqual([200, 200, 500]);
    const { server, items, under } = tree(spans);
    expect(server.name).toBe('POST');
    // Hono's instrumentation keeps the route on its own span, not in the route data: the
    // item spans are named by method alone.
    expectItemSpans(items, false, false);
    for (const item of items) {
      const nested = under(item);
      expect(nested.map((span) => [span.instrumentationScope.name, span.kind])).toEqual([
        ['@hono/otel', SpanKind.SERVER],
      ]);
      expect(nested[0]!.attributes['http.route']).toBe('/books/:id');
    }
  });
});
