/**
 * `troupe serve --otel` says when no OpenTelemetry SDK is registered: the API alone drops every
 * span, and before this check the flag started without a word.
 */
import { trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterEach, expect, it } from 'vitest';
import { otelTracer } from '../../../src/cli/serve.js';

afterEach(() => trace.disable());

it('reports no SDK while only the API is loaded, and one once a provider is registered', async () => {
  expect((await otelTracer()).sdk).toBe(false);

  const exporter = new InMemorySpanExporter();
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
  );
  const otel = await otelTracer();
  expect(otel.sdk).toBe(true);
  otel.tracer.startSpan('probe').end();
  expect(exporter.getFinishedSpans().map((span) => span.name)).toEqual(['probe']);
});
