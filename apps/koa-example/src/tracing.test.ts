import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The built server traces when OTEL_EXPORTER_OTLP_ENDPOINT is set: its spans reach an OTLP
 * receiver over HTTP, in JSON or protobuf (SPEC §4 "Observability").
 */
const serverPath = fileURLToPath(new URL('../dist/server.js', import.meta.url));

interface Export {
  type: string;
  body: Buffer;
}

let receiver: Server;
let endpoint: string;
const exports: Export[] = [];
const children: ChildProcess[] = [];

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
});
afterAll(() => {
  for (const child of children) child.kill();
  receiver.close();
});

/** Starts the built server with `env`; resolves with its base URL. */
function startServer(env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [serverPath], {
      env: {
        ...process.env,
        PORT: '0',
        DATABASE: ':memory:',
        OTEL_BSP_SCHEDULE_DELAY: '50',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    let banner = '';
    child.once('exit', (code) => reject(new Error(`the server exited (${code})`)));
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (text: string) => {
      banner += text;
      const match = /listening on (http:\/\/\S+)/.exec(banner);
      if (match !== null) resolve(match[1]!);
    });
  });
}

async function sendBatch(base: string): Promise<number[]> {
  const response = await fetch(`${base}/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer alice' },
    body: JSON.stringify({
      requests: [
        { method: 'GET', path: '/articles' },
        { method: 'POST', path: '/articles', body: { title: 'MoFo', url: 'http://mozilla.org' } },
        { method: 'GET', path: '/articles/1' },
      ],
    }),
  });
  expect(response.status).toBe(200);
  const { responses } = (await response.json()) as { responses: Array<{ status: number }> };
  return responses.map((item) => item.status);
}

async function until(found: () => boolean): Promise<void> {
  for (let tries = 0; tries < 200 && !found(); tries += 1) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

interface OtlpSpan {
  name: string;
  kind: number;
  spanId: string;
  parentSpanId?: string;
  attributes: Array<{ key: string; value: Record<string, unknown> }>;
}

function spansOf(exported: Export[]): Array<OtlpSpan & { scope: string; service: unknown }> {
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

describe('the Koa example traces over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set', () => {
  it('http/json: POST /batch → an INTERNAL span per item → the koa spans', async () => {
    exports.length = 0;
    const base = await startServer({
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: 'reading-list-test',
    });
    expect(await sendBatch(base)).toEqual([200, 201, 200]);
    // Koa names no route for app middleware: the batch span is `POST` (its items are named).
    const batchSpan = () =>
      spansOf(exports).find(
        (span) => span.scope === '@opentelemetry/instrumentation-http' && span.kind === 2,
      );
    await until(() => batchSpan() !== undefined && spansOf(exports).length >= 7);
    const spans = spansOf(exports);
    expect(exports.every((exported) => exported.type === 'application/json')).toBe(true);
    const batch = batchSpan()!;
    expect(batch.scope).toBe('@opentelemetry/instrumentation-http');
    expect(batch.service).toBe('reading-list-test');
    const items = spans.filter((span) => span.scope === '@batch/otel');
    expect(items.map((span) => [span.name, span.kind, span.parentSpanId])).toEqual([
      ['GET /articles', 1, batch.spanId],
      ['POST /articles', 1, batch.spanId],
      ['GET /articles/:id', 1, batch.spanId],
    ]);
    for (const item of items) {
      const children = spans.filter((span) => span.parentSpanId === item.spanId);
      expect(children.length).toBeGreaterThan(0);
      expect(children.every((span) => span.scope === '@opentelemetry/instrumentation-koa')).toBe(
        true,
      );
    }
  });

  it('http/protobuf (the default protocol)', async () => {
    exports.length = 0;
    const base = await startServer({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint });
    expect(await sendBatch(base)).toEqual([200, 201, 200]);
    const bytes = () => Buffer.concat(exports.map((exported) => exported.body)).toString('latin1');
    await until(
      () =>
        bytes().includes('GET /articles/:id') &&
        bytes().includes('@opentelemetry/instrumentation-http'),
    );
    expect(exports.every((exported) => exported.type === 'application/x-protobuf')).toBe(true);
    expect(bytes()).toContain('GET /articles/:id');
    expect(bytes()).toContain('@batch/otel');
  });
});
