import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitForOutput } from './waitForOutput.js';

/** What `tracingTest` checks of one example app. */
export interface TracingTarget {
  /** The framework, as the app's banner names it (`reading-list (Express) listening on …`). */
  framework: string;
  /** The app's directory: `node dist/server.js` is started there. */
  appDir: string;
  /** The name of the batch request's span (`POST /batch`, or `POST` where no route names it). */
  batchSpan: string;
  /** The instrumentation scope of the batch request's span. @default '@opentelemetry/instrumentation-http' */
  batchScope?: string;
  /** The instrumentation scopes of the spans the framework makes under each item's span (all of them). */
  nestedScopes: string[];
  /**
   * The names of the items' spans, when the batch's `spans` are not (routes as the
   * framework writes them: Hono's keep their patterns).
   * @default the batch's `spans`
   */
  itemSpans?: string[];
  /**
   * The batch to send (at least two items: the second is given a `traceparent` of its own),
   * its headers (besides `content-type` and the client's `traceparent`), the items' statuses
   * and the names of their spans.
   * @default the reading-list batch: `GET /articles`, `POST /articles`, `GET /articles/1`
   */
  batch?: {
    headers: Record<string, string>;
    requests: Array<Record<string, unknown>>;
    statuses: number[];
    spans: string[];
  };
}

/** One OTLP export the receiver got. */
interface Export {
  type: string;
  body: Buffer;
}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  links?: Array<{ traceId: string; spanId: string }>;
}

/** A span as exported over OTLP/JSON, with its instrumentation scope and service name. */
type ExportedSpan = OtlpSpan & { scope: string; service: string | undefined };

const SERVER = 2;
const INTERNAL = 1;
/** The client's span: the batch request carries it, every span of the batch is in its trace. */
const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';
/** An item's own `traceparent`: a link of its span, never its parent. */
const ITEM_TRACE = '0af7651916cd43dd8448eb211c80319c';
const ITEM_SPAN = 'b7ad6b7169203331';
const ITEM_TRACEPARENT = `00-${ITEM_TRACE}-${ITEM_SPAN}-01`;

const READING_LIST_BATCH: NonNullable<TracingTarget['batch']> = {
  headers: { authorization: 'Bearer alice' },
  requests: [
    { method: 'GET', path: '/articles' },
    { method: 'POST', path: '/articles', body: { title: 'MoFo', url: 'http://mozilla.org' } },
    { method: 'GET', path: '/articles/1' },
  ],
  statuses: [200, 201, 200],
  spans: ['GET /articles', 'POST /articles', 'GET /articles/:id'],
};

function spansOf(exported: Export[]): ExportedSpan[] {
  return exported.flatMap(({ body }) => {
    const { resourceSpans } = JSON.parse(body.toString()) as {
      resourceSpans: Array<{
        resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
        scopeSpans: Array<{ scope: { name: string }; spans: OtlpSpan[] }>;
      }>;
    };
    return resourceSpans.flatMap(({ resource, scopeSpans }) =>
      scopeSpans.flatMap(({ scope, spans }) =>
        spans.map((span) => ({
          ...span,
          scope: scope.name,
          service: resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue,
        })),
      ),
    );
  });
}

/** Loaded first in the server: records every module it imports (`RECORD_MODULES_FILE`). */
const RECORD_MODULES = fileURLToPath(new URL('./recordModules.mjs', import.meta.url));
/** What tracing loads: the SDK, the exporters, the instrumentations (not the API). */
const TRACING_MODULE = /\/@opentelemetry\/(?!api\/)|\/@hono\/otel\/|\/@fastify\/otel\//;

async function until(found: () => boolean): Promise<void> {
  for (let tries = 0; tries < 400 && !found(); tries += 1) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * The tracing test of an example app (SPEC §4 "Observability"): its built server, started
 * with `OTEL_EXPORTER_OTLP_ENDPOINT`, sends its spans to an OTLP receiver over HTTP, in JSON
 * (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`) or protobuf (the default), honouring
 * `OTEL_SERVICE_NAME`. A batch that carries a client's `traceparent` gives one tree in the
 * client's trace: the batch request's span (its name kept), under it a span per item (kind
 * INTERNAL, named by its route; an item's own `traceparent` a link), and under each item
 * only the framework's own spans — never one that left for the trace of a `traceparent`.
 * Without the variable, none of the SDK, the exporters and the instrumentations is loaded.
 */
export function tracingTest(target: TracingTarget): void {
  const batch = target.batch ?? READING_LIST_BATCH;
  const itemSpans = target.itemSpans ?? batch.spans;
  const batchScope = target.batchScope ?? '@opentelemetry/instrumentation-http';
  // The second item carries a traceparent of its own.
  const requests = batch.requests.map((request, index) =>
    index === 1
      ? {
          ...request,
          headers: {
            ...(request.headers as Record<string, string> | undefined),
            traceparent: ITEM_TRACEPARENT,
          },
        }
      : request,
  );

  describe(`the ${target.framework} example traces over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set`, () => {
    let receiver: Server;
    let endpoint: string;
    let dir: string;
    const exports: Export[] = [];

    beforeAll(async () => {
      receiver = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
          const type = req.headers['content-type'] ?? '';
          if (req.url === '/v1/traces') exports.push({ type, body: Buffer.concat(chunks) });
          res.writeHead(200, { 'content-type': type });
          res.end(type.includes('json') ? '{}' : '');
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
      dir = await mkdtemp(join(tmpdir(), 'batch-tracing-'));
    });
    afterAll(async () => {
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
      await rm(dir, { recursive: true, force: true });
    });

    /** The URLs of the modules the last server started by `withServer` imported. */
    const loadedModules = async () =>
      (await readFile(join(dir, 'modules.txt'), 'utf8')).split('\n').filter(Boolean);

    /** Runs `test` against the built server started with `env`, and stops the server. */
    const withServer = async (
      env: Record<string, string>,
      test: (url: string) => Promise<void>,
    ) => {
      await rm(join(dir, 'modules.txt'), { force: true });
      const child = spawn(process.execPath, ['--import', RECORD_MODULES, 'dist/server.js'], {
        cwd: target.appDir,
        env: {
          ...process.env,
          PORT: '0',
          DATABASE: ':memory:',
          OTEL_BSP_SCHEDULE_DELAY: '50',
          RECORD_MODULES_FILE: join(dir, 'modules.txt'),
          ...env,
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise((resolve) => child.once('close', resolve));
      try {
        const banner = new RegExp(`\\(${target.framework}\\) listening on (http://\\S+)`);
        await test(await waitForOutput(child, (output) => banner.exec(output)?.[1]));
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
      }
    };

    const sendBatch = async (url: string): Promise<void> => {
      const response = await fetch(`${url}/batch`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`,
          ...batch.headers,
        },
        body: JSON.stringify({ requests }),
      });
      expect(response.status).toBe(200);
      const { responses } = (await response.json()) as { responses: Array<{ status: number }> };
      expect(responses.map((item) => item.status)).toEqual(batch.statuses);
    };

    it('http/json: the batch span → an INTERNAL span per item → the framework spans, in the client’s trace', async () => {
      exports.length = 0;
      const env = {
        OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_SERVICE_NAME: 'reading-list-test',
      };
      await withServer(env, async (url) => {
        await sendBatch(url);
        const batchSpan = () => spansOf(exports).find((span) => span.parentSpanId === CLIENT_SPAN);
        const items = () => spansOf(exports).filter((span) => span.scope === '@batch/otel');
        // The batch span ends last (an item's spans end before it does).
        await until(() => batchSpan() !== undefined && items().length === itemSpans.length);
      });
      const spans = spansOf(exports);
      expect(exports.every((exported) => exported.type === 'application/json')).toBe(true);
      // The batch request's span continues the client's: the one span under it.
      const roots = spans.filter((span) => span.parentSpanId === CLIENT_SPAN);
      expect(roots.map((span) => [span.name, span.kind, span.scope])).toEqual([
        [target.batchSpan, SERVER, batchScope],
      ]);
      const batchSpan = roots[0]!;
      expect(batchSpan.service).toBe('reading-list-test');
      const items = spans.filter((span) => span.scope === '@batch/otel');
      expect(items.map((span) => [span.name, span.kind, span.parentSpanId])).toEqual(
        itemSpans.map((name) => [name, INTERNAL, batchSpan.spanId]),
      );
      // The item's own traceparent is a link; the others have none.
      const links = items.map((item) =>
        (item.links ?? []).map((link) => [link.traceId, link.spanId]),
      );
      expect(links).toEqual(
        items.map((_, index) => (index === 1 ? [[ITEM_TRACE, ITEM_SPAN]] : [])),
      );
      const under = (parent: ExportedSpan): ExportedSpan[] =>
        spans
          .filter((span) => span.parentSpanId === parent.spanId)
          .flatMap((child) => [child, ...under(child)]);
      // Under each item, the framework's spans (and only those).
      for (const item of items) {
        const scopes = new Set(under(item).map((span) => span.scope));
        expect([...scopes].sort()).toEqual([...target.nestedScopes].sort());
      }
      // One tree in the client's trace: every span of it is under the batch span, and none
      // left for the trace of the item's own traceparent.
      const tree = [batchSpan, ...under(batchSpan)];
      expect(spans.filter((span) => span.traceId === CLIENT_TRACE && !tree.includes(span))).toEqual(
        [],
      );
      expect(tree.filter((span) => span.traceId !== CLIENT_TRACE)).toEqual([]);
      expect(spans.filter((span) => span.traceId === ITEM_TRACE)).toEqual([]);
    });

    it('http/protobuf (the default protocol)', async () => {
      exports.length = 0;
      const names = [target.batchSpan, ...itemSpans, batchScope, '@batch/otel'];
      const bytes = () =>
        Buffer.concat(exports.map((exported) => exported.body)).toString('latin1');
      await withServer({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint }, async (url) => {
        await sendBatch(url);
        await until(() => names.every((name) => bytes().includes(name)));
      });
      expect(exports.every((exported) => exported.type === 'application/x-protobuf')).toBe(true);
      expect(exports.length).toBeGreaterThan(0);
      for (const name of names) expect(bytes()).toContain(name);
      // What the next test checks is absent without the variable is seen here.
      expect(
        (await loadedModules()).some((url) => url.includes('/@opentelemetry/sdk-trace-node/')),
      ).toBe(true);
    });

    it('sends the spans still buffered when it stops (SIGTERM)', async () => {
      exports.length = 0;
      // Nothing leaves on the processor's schedule: what arrives was sent as the server stopped.
      const env = { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '600000' };
      await withServer(env, sendBatch);
      const names = [target.batchSpan, ...itemSpans];
      const bytes = Buffer.concat(exports.map((exported) => exported.body)).toString('latin1');
      for (const name of names) expect(bytes).toContain(name);
    });

    it('loads no SDK, exporter or instrumentation without OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
      const env = { OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' };
      await withServer(env, sendBatch);
      const loaded = await loadedModules();
      expect(loaded.some((url) => url.includes('/dist/server.js'))).toBe(true);
      expect(loaded.filter((url) => TRACING_MODULE.test(url))).toEqual([]);
    });
  });
}
