/**
 * OpenTelemetry spans per session, recorded by the real SDK (`@opentelemetry/sdk-trace-base`) into
 * its in-memory exporter, through the real API's global tracer.
 */
import { trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createModelRegistry } from '../../../src/providers/registry.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { RuntimeOptions } from '../../../src/runtime/types.js';
import { ScriptedProvider } from '../../../src/testing/scripted-provider.js';

const flush = () => new Promise((resolve) => setImmediate(resolve));
const ask = { messages: [{ role: 'user' as const, content: 'a secret prompt' }] };

let exporter: InMemorySpanExporter;
beforeEach(() => {
  exporter = new InMemorySpanExporter();
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
  );
});
afterEach(() => trace.disable());

function setup(extra: Partial<RuntimeOptions> = {}) {
  const provider = new ScriptedProvider('p');
  const clock = new SimulatedClock();
  clock.set(1_700_000_000_000);
  const runtime = createRuntime({
    providers: [provider],
    clock,
    defaults: { model: 'm', backoffBaseMs: 100, maxAttempts: 3 },
    random: () => 0.5,
    ...extra,
  });
  return { provider, clock, runtime };
}

describe('OpenTelemetry tracing', () => {
  it('one span per session: metadata as attributes, attempts and retries as events, status OK', async () => {
    const { provider, clock, runtime } = setup({ tracer: trace.getTracer('troupe') });
    const handle = runtime.submit(ask, { label: 'chat', priority: 3, requestId: 'req-7' });
    await flush();
    provider.pending()[0]!.settle('retryable');
    await flush();
    clock.increment(1_000);
    await flush();
    provider.pending()[0]!.settle('ok');
    const result = await handle.result;
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(1);
    const span = spans[0]!;
    expect(span.name).toBe('troupe.session');
    expect(span.attributes).toMatchObject({
      'troupe.session.id': handle.id,
      'troupe.request.id': 'req-7',
      'troupe.provider': 'p',
      'troupe.model': 'm',
      'troupe.label': 'chat',
      'troupe.priority': 3,
      'troupe.state': 'done',
      'troupe.attempts': 2,
      'troupe.total_ms': result.metadata.totalMs,
      'gen_ai.usage.input_tokens': 1,
      'gen_ai.usage.output_tokens': 2,
    });
    expect(span.status.code).toBe(1);
    expect(span.events.map((e) => e.name)).toEqual(['attempt', 'retry', 'attempt']);
    expect(span.events[1]?.attributes).toMatchObject({
      // The attempt the retry will be.
      'troupe.attempt': 2,
      'troupe.error.code': 'PROVIDER_UNAVAILABLE',
    });
    expect(span.events[1]?.attributes?.['troupe.retry.delay_ms']).toBeGreaterThan(0);
    // Times are the runtime's clock: the span lasts the session's whole life.
    const ms = (t: [number, number]) => t[0] * 1e3 + t[1] / 1e6;
    expect(ms(span.startTime)).toBe(1_700_000_000_000);
    expect(ms(span.endTime) - ms(span.startTime)).toBe(result.metadata.totalMs);
    // Nothing of the conversation goes into a span.
    expect(JSON.stringify({ a: span.attributes, e: span.events })).not.toContain('secret');
    await runtime.shutdown();
  });

  it('a fallback hop is a span event: from, to and the error that moved the session', async () => {
    const p = new ScriptedProvider('p');
    const q = new ScriptedProvider('q');
    const registry = createModelRegistry([
      { name: 'p', configured: true, models: [{ id: 'small', contextWindow: 100_000 }] },
      { name: 'q', configured: true, models: [{ id: 'big', contextWindow: 100_000 }] },
    ]);
    const clock = new SimulatedClock();
    const runtime = createRuntime({
      providers: [p, q],
      clock,
      router: registry.router,
      random: () => 0,
      tracer: trace.getTracer('troupe'),
    });
    const handle = runtime.submit({
      ...ask,
      provider: 'p',
      model: 'small',
      fallbacks: [{ provider: 'q', model: 'big' }],
    });
    await flush();
    p.pending()[0]?.settle('retryable');
    await flush();
    clock.increment(0);
    await flush();
    q.pending()[0]?.settle('ok');
    expect((await handle.result).metadata).toMatchObject({ provider: 'q', model: 'big' });
    const [span] = exporter.getFinishedSpans();
    const fallback = span?.events.find((e) => e.name === 'fallback');
    expect(fallback?.attributes).toEqual({
      'troupe.fallback.from.provider': 'p',
      'troupe.fallback.from.model': 'small',
      'troupe.fallback.to.provider': 'q',
      'troupe.fallback.to.model': 'big',
      'troupe.error.code': 'PROVIDER_UNAVAILABLE',
    });
    expect(span?.attributes).toMatchObject({ 'troupe.provider': 'q', 'troupe.model': 'big' });
    await runtime.shutdown();
  });

  it('a failed session ends its span with status ERROR and the error code', async () => {
    const { provider, runtime } = setup({ tracer: trace.getTracer('troupe') });
    const handle = runtime.submit(ask);
    await flush();
    provider.pending()[0]!.settle('fatal');
    await handle.result;
    const [span] = exporter.getFinishedSpans();
    expect(span?.status).toEqual({ code: 2, message: 'AUTH_FAILED' });
    expect(span?.attributes['troupe.error.code']).toBe('AUTH_FAILED');
    await runtime.shutdown();
  });

  it('off by default: with an SDK registered and no tracer given, no span is created', async () => {
    const { provider, runtime } = setup();
    const handles = [runtime.submit(ask), runtime.submit(ask)];
    await flush();
    for (const call of provider.pending()) call.settle('ok');
    await Promise.all(handles.map((h) => h.result));
    await runtime.shutdown();
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });

  it('with the API and no SDK, the tracer is a no-op and sessions run as ever', async () => {
    trace.disable();
    const { provider, runtime } = setup({ tracer: trace.getTracer('troupe') });
    const handle = runtime.submit(ask);
    await flush();
    provider.pending()[0]!.settle('ok');
    expect((await handle.result).metadata.state).toBe('done');
    await runtime.shutdown();
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });
});
