import { register } from 'node:module';

/** What `startTracing` loads: only when tracing is on (dynamic imports, never otherwise). */
export type LoadInstrumentations = () => Promise<
  Array<import('@opentelemetry/instrumentation').Instrumentation>
>;

/** How `startTracing` traces, beyond the `OTEL_*` variables. */
export interface StartTracingOptions {
  /**
   * Whether the HTTP instrumentation makes the server span of each received request: `false`
   * where the framework's own instrumentation makes it and continues the caller's
   * `traceparent` itself (`@hono/otel`). Outgoing requests are traced either way.
   * @default true
   */
  incomingRequests?: boolean;
}

/** The OTLP protocols over HTTP (`OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL`). */
export type OtlpHttpProtocol = 'http/json' | 'http/protobuf';

/**
 * Whether the environment asks for traces, and over which protocol: `undefined` unless
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set and
 * `OTEL_SDK_DISABLED` is not `true`. The protocol defaults to `http/protobuf`, as the
 * specification says; `grpc` is refused (these apps export over HTTP only).
 */
export function tracingProtocol(env: NodeJS.ProcessEnv): OtlpHttpProtocol | undefined {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint || env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const protocol = (
    env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ||
    env.OTEL_EXPORTER_OTLP_PROTOCOL ||
    'http/protobuf'
  ).trim();
  if (protocol !== 'http/json' && protocol !== 'http/protobuf') {
    throw new Error(
      `OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported here: use http/protobuf or http/json`,
    );
  }
  return protocol;
}

/**
 * Starts OpenTelemetry tracing when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (SPEC §4
 * "Observability"): the SDK, an OTLP exporter over HTTP (`http/protobuf` or `http/json`,
 * `OTEL_EXPORTER_OTLP_PROTOCOL`), the HTTP instrumentation and the framework's own
 * (`instrumentations`). The exporter, the batch span processor, the sampler and the resource
 * honour the standard `OTEL_*` variables (`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`,
 * `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_TRACES_SAMPLER`, `OTEL_BSP_*`, …). Without the variable
 * nothing is loaded and it resolves `undefined`.
 *
 * `options.incomingRequests: false` leaves the server spans to the framework's instrumentation.
 *
 * Call it before the app's modules are imported (`await import('./app.js')` after it):
 * instrumentations patch modules as they load. Resolves with a function that flushes and
 * stops the SDK.
 */
export async function startTracing(
  serviceName: string,
  instrumentations: LoadInstrumentations,
  env: NodeJS.ProcessEnv = process.env,
  options: StartTracingOptions = {},
): Promise<(() => Promise<void>) | undefined> {
  const protocol = tracingProtocol(env);
  if (protocol === undefined) return undefined;
  // ESM imports of instrumented packages (express, koa, …) go through this hook.
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  const [sdk, resources, http, instrumentation, exporterModule, loaded] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation'),
    protocol === 'http/json'
      ? import('@opentelemetry/exporter-trace-otlp-http')
      : import('@opentelemetry/exporter-trace-otlp-proto'),
    instrumentations(),
  ]);
  const resource = resources
    .resourceFromAttributes({ 'service.name': serviceName })
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new sdk.NodeTracerProvider({
    resource,
    spanProcessors: [new sdk.BatchSpanProcessor(new exporterModule.OTLPTraceExporter())],
  });
  provider.register();
  instrumentation.registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new http.HttpInstrumentation({
        disableIncomingRequestInstrumentation: options.incomingRequests === false,
      }),
      ...loaded,
    ],
  });
  return () => provider.shutdown();
}
