/**
 * troupe_provider_errors_total counts the error that moved a session to its next fallback target,
 * under the provider it left. It counted only retried and final errors: with kimi answering 503 to
 * every call and a fallback to another provider answering, /metrics showed no kimi error at all
 * (three such calls through `troupe serve` against local test servers).
 */
import { expect, it } from 'vitest';
import { createMetricsExporter } from '../../src/observe/metrics.js';
import { createSimulatedProvider } from '../../src/providers/simulated.js';
import { createRuntime } from '../../src/runtime/runtime.js';

it('counts the provider error a session fell back from, under the provider it left', async () => {
  const runtime = createRuntime({
    providers: [
      createSimulatedProvider({
        name: 'down',
        latencyMs: { min: 0, max: 0 },
        failureRate: 1,
        failureModes: ['unavailable'],
      }),
      createSimulatedProvider({ name: 'up', latencyMs: { min: 0, max: 0 } }),
    ],
    defaults: { maxAttempts: 1 },
  });
  const exporter = createMetricsExporter(runtime);
  try {
    for (let i = 0; i < 3; i++) {
      const result = await runtime.submit({
        provider: 'down',
        model: 'sim-fast',
        messages: [{ role: 'user', content: 'hi' }],
        fallbacks: [{ provider: 'up', model: 'sim-fast' }],
      }).result;
      expect(result.metadata).toMatchObject({ state: 'done', provider: 'up' });
    }
    const text = await exporter.scrape();
    expect(text).toContain('troupe_provider_errors_total{provider="down",code="PROVIDER_UNAVAILABLE"} 3');
    expect(text).not.toMatch(/^troupe_provider_errors_total\{provider="up"/m);
    expect(text).toContain('troupe_sessions_total{state="done",provider="up"} 3');
  } finally {
    exporter.close();
    await runtime.shutdown();
  }
});

// An audit (2026-12-04): a session moved on past a provider's cooldown made no call there, yet
// /metrics counted its move as one more RATE_LIMITED of that provider (metrics() did not).
it('does not count a move past a cooldown, which made no call, as a provider error', async () => {
  const runtime = createRuntime({
    providers: [
      createSimulatedProvider({
        name: 'cool',
        latencyMs: { min: 0, max: 0 },
        failureRate: 1,
        failureModes: ['rate_limited'],
        retryAfterMs: 60_000,
      }),
      createSimulatedProvider({ name: 'up', latencyMs: { min: 0, max: 0 } }),
    ],
    defaults: { maxAttempts: 1 },
  });
  const exporter = createMetricsExporter(runtime);
  try {
    const ask = { provider: 'cool', model: 'sim-fast', messages: [{ role: 'user' as const, content: 'hi' }] };
    // The one 429: cool cools down for a minute.
    expect((await runtime.submit(ask).result).metadata.state).toBe('failed');
    for (let i = 0; i < 3; i++) {
      const moved = await runtime.submit(
        { ...ask, fallbacks: [{ provider: 'up', model: 'sim-fast' }] },
        { queueTimeoutMs: 5_000 },
      ).result;
      expect(moved.metadata.route?.map((h) => [h.provider, h.outcome])).toEqual([
        ['cool', 'RATE_LIMITED'],
        ['up', 'done'],
      ]);
    }
    const text = await exporter.scrape();
    expect(text).toContain('troupe_provider_errors_total{provider="cool",code="RATE_LIMITED"} 1');
    expect(runtime.metrics().providerErrors).toEqual({ RATE_LIMITED: 1 });
  } finally {
    exporter.close();
    await runtime.shutdown();
  }
});
