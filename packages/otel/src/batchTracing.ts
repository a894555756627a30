import type { AroundItemInfo, HeaderList, SubResponse } from '@batch/core';
import {
  type Attributes,
  context,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { getRpcMetadata, type HttpRpcMetadata, setRpcMetadata } from './rpcMetadata.js';

/** Options of `batchTracing`. */
export interface BatchTracingOptions {
  /**
   * Where the tracer comes from.
   * @default the global tracer provider (`trace.getTracerProvider()`), whose tracer follows
   * an SDK registered after the batch route was created
   */
  tracerProvider?: TracerProvider;
  /**
   * The kind of each sub-request's span. `INTERNAL` because the batch request already has
   * the SERVER span (HTTP semantic conventions: one server span per received request);
   * `SERVER` for backends that only show server spans as requests.
   * @default SpanKind.INTERNAL
   */
  kind?: SpanKind;
  /**
   * Items are traced only under a span (the batch request's), as the framework
   * instrumentations do: `false` makes each item a root span when the batch request is not
   * traced.
   * @default true
   */
  requireParentSpan?: boolean;
  /**
   * Whether a sub-request's own `traceparent` header (one that differs from the batch
   * request's) becomes a link of its span: the trace the client meant that item to join.
   * @default true
   */
  links?: boolean;
}

/** The hook `BatchOptions.aroundItem` takes. */
export type AroundItem = (
  item: AroundItemInfo,
  run: () => Promise<SubResponse>,
) => Promise<SubResponse>;

const TRACER_NAME = '@batch/otel';

/** HTTP methods the semantic conventions name; any other is `_OTHER`. */
const KNOWN_METHODS = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'QUERY',
  'TRACE',
]);

const headerGetter: TextMapGetter<HeaderList> = {
  keys: (headers) => headers.map(([name]) => name),
  get: (headers, key) => {
    for (const [name, value] of headers) if (name.toLowerCase() === key) return value;
    return undefined;
  },
};

function headerValue(headers: HeaderList, lowerName: string): string | undefined {
  return headerGetter.get(headers, lowerName) as string | undefined;
}

/**
 * Traces a batch with OpenTelemetry (SPEC §4 "Observability"): pass it as the batch
 * route's `aroundItem` option. Each sub-request gets a span of its own — a child of the
 * batch request's server span (the one `@opentelemetry/instrumentation-http` keeps in the
 * route data, even when a framework's handler span is active; else the active span), kind
 * `INTERNAL`, named and attributed by
 * the HTTP server semantic conventions (`GET /books/:id`; `http.request.method`, `url.path`,
 * `url.query`, `http.route` when the framework's instrumentation reports it,
 * `http.response.status_code`, `error.type` from 500 on) — and runs inside that span's
 * context, so the framework's own spans nest under it. Each item also gets route data of
 * its own, so a sub-request's route never renames the batch span (`POST /batch` stays).
 *
 * Only `@opentelemetry/api` is used: with no SDK registered (or when the batch request
 * itself is not traced) no span is made and an item costs two context look-ups.
 *
 * ```ts
 * app.use('/batch', batch(app, { aroundItem: batchTracing() }));
 * ```
 */
export function batchTracing(options: BatchTracingOptions = {}): AroundItem {
  const kind = options.kind ?? SpanKind.INTERNAL;
  const links = options.links ?? true;
  const requireParentSpan = options.requireParentSpan ?? true;
  const tracerOf = tracerSource(options.tracerProvider);
  return (item, run) => {
    const parent = context.active();
    // The batch request's server span is the parent, even under a framework's handler span.
    const batchRoute = getRpcMetadata(parent);
    const parentSpan = batchRoute === undefined ? trace.getSpan(parent) : batchRoute.span;
    // Nothing to nest under (no SDK: always) and nothing to protect: the item as it is.
    if (parentSpan === undefined && requireParentSpan) return run();
    const { request } = item;
    const method = KNOWN_METHODS.has(request.method) ? request.method : '_OTHER';
    const query = request.target.indexOf('?');
    const attributes: Attributes = {
      'http.request.method': method,
      'url.path': query === -1 ? request.target : request.target.slice(0, query),
    };
    if (query !== -1) attributes['url.query'] = request.target.slice(query + 1);
    if (method === '_OTHER') attributes['http.request.method_original'] = request.method;
    const spanLinks = links ? linksOf(item) : undefined;
    const span = tracerOf().startSpan(
      method === '_OTHER' ? 'HTTP' : method,
      spanLinks === undefined ? { kind, attributes } : { kind, attributes, links: spanLinks },
      batchRoute === undefined ? parent : trace.setSpan(parent, batchRoute.span),
    );
    // Nothing recorded and no route data to protect: run the item as it is.
    if (!span.isRecording() && batchRoute === undefined) return run();
    const route: HttpRpcMetadata = { type: 'http', span };
    const itemContext = setRpcMetadata(trace.setSpan(parent, span), route);
    let answered: Promise<SubResponse>;
    try {
      answered = context.with(itemContext, run);
    } catch (error) {
      failSpan(span, error);
      throw error;
    }
    return answered.then(
      (answer) => {
        endSpan(span, method, route.route, answer.status);
        return answer;
      },
      (error: unknown) => {
        failSpan(span, error);
        throw error;
      },
    );
  };
}

/**
 * The tracer, looked up once per provider: the global provider's tracer is a proxy that
 * follows an SDK registered later, and is looked up again if the global provider changes.
 */
function tracerSource(provider: TracerProvider | undefined): () => Tracer {
  if (provider !== undefined) {
    const tracer = provider.getTracer(TRACER_NAME);
    return () => tracer;
  }
  let global: TracerProvider | undefined;
  let tracer: Tracer | undefined;
  return () => {
    const current = trace.getTracerProvider();
    if (current !== global || tracer === undefined) {
      global = current;
      tracer = current.getTracer(TRACER_NAME);
    }
    return tracer;
  };
}

/** The item's own `traceparent`, as a link — not the one it inherited from the batch request. */
function linksOf({ request, batch }: AroundItemInfo): Link[] | undefined {
  const traceparent = headerValue(request.headers, 'traceparent');
  if (traceparent === undefined || traceparent === headerValue(batch.headers, 'traceparent'))
    return undefined;
  const linked = trace.getSpanContext(
    propagation.extract(ROOT_CONTEXT, request.headers, headerGetter),
  );
  return linked === undefined || !trace.isSpanContextValid(linked)
    ? undefined
    : [{ context: linked }];
}

function endSpan(span: Span, method: string, route: string | undefined, status: number): void {
  if (route !== undefined) {
    span.setAttribute('http.route', route);
    span.updateName(method === '_OTHER' ? `HTTP ${route}` : `${method} ${route}`);
  }
  span.setAttribute('http.response.status_code', status);
  if (status >= 500) {
    span.setAttribute('error.type', String(status));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}

function failSpan(span: Span, error: unknown): void {
  span.recordException(error instanceof Error ? error : String(error));
  span.setAttribute(
    'error.type',
    error instanceof Error && error.constructor.name !== '' ? error.constructor.name : '_OTHER',
  );
  span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}
