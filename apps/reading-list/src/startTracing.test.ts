import { describe, expect, it } from 'vitest';
import { startTracing, tracingProtocol } from './startTracing.js';

describe('startTracing', () => {
  it('loads nothing and resolves undefined without OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
    let loaded = false;
    const load = async () => {
      loaded = true;
      return [];
    };
    expect(await startTracing('test', load, {})).toBeUndefined();
    expect(
      await startTracing('test', load, {
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_SDK_DISABLED: 'true',
      }),
    ).toBeUndefined();
    expect(loaded).toBe(false);
  });

  it('reads the protocol from the standard variables: http/protobuf by default, grpc refused', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    expect(tracingProtocol({})).toBeUndefined();
    expect(tracingProtocol(endpoint)).toBe('http/protobuf');
    expect(tracingProtocol({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' })).toBe(
      'http/protobuf',
    );
    expect(tracingProtocol({ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toBe(
      'http/json',
    );
    expect(
      tracingProtocol({
        ...endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
      }),
    ).toBe('http/protobuf');
    expect(() => tracingProtocol({ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(
      /grpc is not supported/,
    );
  });
});
