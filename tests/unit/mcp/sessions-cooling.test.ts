/**
 * The `sessions` tool's `limits_left.models_cooling_until` (`src/mcp/tools/sessions.ts`): at most
 * `MODELS_COOLING_SHOWN` models by id, the soonest to end, and `models_cooling_not_shown` counting
 * the rest. Until 2026-12-05 it listed every model cooling down, however many callers had been
 * refused on: one answer's size had no bound there.
 */
import { expect, it } from 'vitest';
import { createMcpContext } from '../../../src/mcp/context.js';
import { MODELS_COOLING_SHOWN, sessionsTool } from '../../../src/mcp/tools/sessions.js';
import { createSimulatedProvider } from '../../../src/providers/simulated.js';
import { createRuntime } from '../../../src/runtime/runtime.js';

it('lists the 20 models cooling down soonest to end, and counts the rest', async () => {
  const runtime = createRuntime({
    // A minute's cooldown each, so none ends before the read.
    providers: [createSimulatedProvider({ name: 'gw', latencyMs: { min: 0, max: 0 }, retryAfterMs: 60_000 })],
    defaults: { model: 'sim-fast', maxAttempts: 1 },
    limits: { providers: { gw: { cooldownScope: 'model' } } },
  });
  const mcp = createMcpContext({ runtime });
  try {
    const count = MODELS_COOLING_SHOWN + 5;
    for (let i = 0; i < count; i++) {
      const handle = runtime.submit({
        model: `m${i}`,
        messages: [{ role: 'user', content: 'hi' }],
        extra: { simulate: 'rate_limited' },
      });
      expect((await handle.result).ok).toBe(false);
      // The next refusal in a later millisecond, so each cooldown ends at a time of its own: on a
      // fast machine six refusals fell in one, and the last model tied into the first 20.
      const at = Date.now();
      while (Date.now() === at) await new Promise((resolve) => setImmediate(resolve));
    }
    const outcome = await sessionsTool.run({}, mcp, { signal: new AbortController().signal });
    const gw = (outcome.structured.limits_left as Record<string, Record<string, unknown>>).gw;
    const until = gw?.models_cooling_until as Record<string, number>;
    expect(Object.keys(until)).toHaveLength(MODELS_COOLING_SHOWN);
    expect(gw?.models_cooling_not_shown).toBe(5);
    // The soonest to end: none left out ends before one listed, and the last refused is left out.
    const all = Object.entries(runtime.status().limits?.gw?.models ?? {});
    expect(all).toHaveLength(count);
    const left = all.filter(([model]) => !(model in until)).map(([, at]) => at);
    expect(left).toHaveLength(5);
    expect(Math.max(...Object.values(until))).toBeLessThanOrEqual(Math.min(...left));
    expect(until).not.toHaveProperty(`m${count - 1}`);
    expect(outcome.text).toContain('; 5 more model(s) cooling down, not listed');
  } finally {
    mcp.close();
    await runtime.shutdown({ deadlineMs: 0 });
  }
});
