/**
 * The `model` label of troupe_tokens_total and troupe_cost_total is bounded. A model id comes from
 * the caller, and a provider that takes any id answers with usage, so every new id was a series
 * kept for the life of the process: 50 calls with 1 MB ids made /metrics 100 MB. Past
 * `MAX_MODEL_LABELS` distinct ids, or for an id longer than `MAX_MODEL_LABEL_LENGTH`, a session
 * counts under `(other)`; ids already seen keep their own series.
 */
import { expect, it } from 'vitest';
import {
  createMetricsExporter,
  MAX_MODEL_LABEL_LENGTH,
  MAX_MODEL_LABELS,
  OTHER_MODEL,
} from '../../src/observe/metrics.js';
import { createSimulatedProvider } from '../../src/providers/simulated.js';
import { createRuntime } from '../../src/runtime/runtime.js';

it('keeps at most MAX_MODEL_LABELS model series, of ids at most MAX_MODEL_LABEL_LENGTH long; the rest count as (other)', async () => {
  const runtime = createRuntime({
    providers: [createSimulatedProvider({ name: 'sim', latencyMs: { min: 0, max: 0 } })],
  });
  const exporter = createMetricsExporter(runtime);
  try {
    const ask = (model: string) =>
      runtime.submit({ provider: 'sim', model, messages: [{ role: 'user', content: 'hi' }] }).result;
    // One character over the length bound: `(other)`.
    const long = `l${'q'.repeat(MAX_MODEL_LABEL_LENGTH)}`;
    expect((await ask(long)).ok).toBe(true);
    // At the length bound: its own series.
    const atLength = 'a'.repeat(MAX_MODEL_LABEL_LENGTH);
    expect((await ask(atLength)).ok).toBe(true);
    for (let i = 0; i < MAX_MODEL_LABELS + 20; i += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, j) => ask(`model-${i + j}`)));
    }
    // Seen before the bound was reached: still its own series.
    await ask('model-0');

    const text = await exporter.scrape();
    const models = new Set(
      [...text.matchAll(/^troupe_tokens_total\{provider="sim",model="([^"]*)",kind="prompt"\}/gm)].map(
        (m) => m[1],
      ),
    );
    expect(models.size).toBe(MAX_MODEL_LABELS + 1);
    expect(models.has(OTHER_MODEL)).toBe(true);
    expect(models.has(long)).toBe(false);
    expect(models.has(atLength)).toBe(true);
    expect(models.has('model-0')).toBe(true);
    expect(text.length).toBeLessThan(200_000);
  } finally {
    exporter.close();
    await runtime.shutdown({ deadlineMs: 0 });
  }
});

it('reports the live 2025-era MCP sessions, the inspector’s dropped events and the HTTP front’s unsent and held bytes when it is told how to count them, and nothing otherwise', async () => {
  const runtime = createRuntime({
    providers: [createSimulatedProvider({ name: 'sim', latencyMs: { min: 0, max: 0 } })],
  });
  let open = 3;
  let dropped = 0;
  let unsent = 0;
  let held = 0;
  const counted = createMetricsExporter(
    runtime,
    { kind: 'instance' },
    {
      mcpSessions: () => open,
      inspectorDroppedEvents: () => dropped,
      httpUnsentBytes: () => unsent,
      httpHeldBytes: () => held,
    },
  );
  const plain = createMetricsExporter(runtime);
  try {
    expect(await counted.scrape()).toMatch(/^troupe_mcp_sessions 3$/m);
    expect(await counted.scrape()).toMatch(/^troupe_inspector_dropped_events 0$/m);
    open = 0;
    dropped = 1234;
    expect(await counted.scrape()).toMatch(/^troupe_mcp_sessions 0$/m);
    expect(await counted.scrape()).toMatch(/^troupe_inspector_dropped_events 1234$/m);
    expect(await counted.scrape()).toMatch(/^troupe_http_unsent_bytes 0$/m);
    expect(await counted.scrape()).toMatch(/^troupe_http_held_bytes 0$/m);
    unsent = 5_000_123;
    held = 6_000_456;
    expect(await counted.scrape()).toMatch(/^troupe_http_unsent_bytes 5000123$/m);
    expect(await counted.scrape()).toMatch(/^troupe_http_held_bytes 6000456$/m);
    for (const name of ['mcp_sessions', 'inspector_dropped_events', 'http_unsent_bytes', 'http_held_bytes'])
      expect(await plain.scrape()).not.toContain(`troupe_${name}`);
  } finally {
    counted.close();
    plain.close();
    await runtime.shutdown({ deadlineMs: 0 });
  }
});
