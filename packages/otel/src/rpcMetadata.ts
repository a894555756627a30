import { type Context, createContextKey, type Span } from '@opentelemetry/api';

/**
 * The route data an HTTP server span keeps in its context, exactly as `@opentelemetry/core`
 * defines it (`RPCMetadata`, `getRPCMetadata`, `setRPCMetadata`): the instrumentation of
 * Express, Koa, Fastify and others finds it in the active context and writes the matched
 * route into it (`route`), and `@opentelemetry/instrumentation-http` names its server span
 * from it when the request ends. Declared here over the same context key (context keys are
 * `Symbol.for(description)`), so that only `@opentelemetry/api` is needed.
 */
export interface HttpRpcMetadata {
  type: 'http';
  span: Span;
  route?: string;
}

const RPC_METADATA_KEY = createContextKey('OpenTelemetry SDK Context Key RPC_METADATA');

/** The context's route data, or `undefined` (no HTTP server span above it). */
export function getRpcMetadata(context: Context): HttpRpcMetadata | undefined {
  return context.getValue(RPC_METADATA_KEY) as HttpRpcMetadata | undefined;
}

/** `context` with route data of its own: what a framework writes into it stays there. */
export function setRpcMetadata(context: Context, metadata: HttpRpcMetadata): Context {
  return context.setValue(RPC_METADATA_KEY, metadata);
}
