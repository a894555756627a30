import { httpInstrumentationMiddleware } from '@hono/otel';
import {
  type Context,
  context,
  type Span,
  type SpanOptions,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';

/**
 * Hono's OpenTelemetry middleware (`@hono/otel`): a `SERVER` span per request, named
 * `{method} {route}`, continuing the trace of the request's `traceparent` — with each
 * sub-request of a batch kept under its item's span, and its route reported to it.
 *
 * `@hono/otel` takes a request's `traceparent` header over the active span. Right for a
 * request from a socket (the batch request: its span continues the client's), wrong for a
 * sub-request: it runs inside its item's span (`@batch/otel`) and carries a `traceparent`
 * — the batch request's, inherited, or its own — that would take its span out of the item,
 * to the client's span or into another trace. So here a request that already runs inside a
 * span stays under that span; only a request that arrives outside every span continues its
 * `traceparent`. (An item's own `traceparent` is still a link of the item's span.)
 *
 * The route Hono matched goes into the route data of the context (`@opentelemetry/core`'s
 * `RPCMetadata`), as the Express, Koa and Fastify instrumentations do, so that each item's
 * span is named by it (`GET /articles/:id`): `@batch/otel` gives every item route data of
 * its own.
 */
export function honoTracing(): MiddlewareHandler {
  const otel = httpInstrumentationMiddleware({
    tracer: underActiveSpan(trace.getTracer('@hono/otel')),
  });
  return (c, next) =>
    otel(c, async () => {
      await next();
      const route = getRPCMetadata(context.active());
      if (route?.type === RPCType.HTTP) route.route = routePath(c);
    });
}

/** The parent of a new span: the active span when there is one, else the context given. */
function parentOf(given: Context | undefined): Context {
  const active = context.active();
  return given === undefined || trace.getSpan(active) !== undefined ? active : given;
}

/** `tracer`, whose spans start under the active span, whatever parent context they were given. */
function underActiveSpan(tracer: Tracer): Tracer {
  return {
    startSpan: (name, options, parent) => tracer.startSpan(name, options, parentOf(parent)),
    // (name, fn) | (name, options, fn) | (name, options, parent, fn)
    startActiveSpan: ((name: string, ...rest: unknown[]) => {
      const fn = rest.pop() as (span: Span) => unknown;
      const [options = {}, parent] = rest as [SpanOptions?, Context?];
      return tracer.startActiveSpan(name, options, parentOf(parent), fn);
    }) as Tracer['startActiveSpan'],
  };
}
