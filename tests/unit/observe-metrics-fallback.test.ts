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
