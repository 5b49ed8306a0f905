/**
 * `RuntimeObserver` on a real runtime whose probe (the one call after a provider's cooldown) is an
 * answer read whole that stalls mid-body, over real HTTP against the local fault server. The
 * provider's headers came: the provider took the call, so the runtime counts the probe answered
 * and opens the provider (`outcomeOf`: any answer but a 429), whether the session then moves on to
 * a fallback or ends `timedOut`. The observer must judge it so: until 2026-12-07 it took every idle
 * timeout for the runtime's own idle deadline of a stream (a call that never answered), kept the
 * provider probing, and reported the calls that then started at once as a `cooldownHolds` breach.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createOpenAICompatibleProvider } from '../../../src/providers/openai-compatible.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Runtime, SessionRequest } from '../../../src/runtime/types.js';
import { RuntimeObserver } from '../../../src/testing/invariants.js';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';

const KEY = 'sk-observer-stall-0123456789';
let server: OpenAIServer;
let providers: ReturnType<typeof createOpenAICompatibleProvider>[];

beforeAll(async () => {
  server = createOpenAIServer({ apiKey: KEY });
  await server.start();
  providers = ['first', 'second'].map((name) =>
    createOpenAICompatibleProvider({ name, baseURL: server.baseURL, apiKey: KEY }),
  );
});
afterAll(async () => {
  await Promise.all(providers.map((p) => p.close()));
  await server.close();
});
beforeEach(() => server.reset());

const tag = () => `tag=${Math.random().toString(36).slice(2)}`;
const ask = (model: string, more: Partial<SessionRequest> = {}): SessionRequest => ({
  model,
  messages: [{ role: 'user', content: 'a whole answer, please' }],
  ...more,
});

/** A 429 cools `first` down; the stalled probe ends (`fallback` or not); two calls then start at once. */
async function probeStalls(fallback: boolean) {
  const runtime: Runtime = createRuntime({
    providers,
    limits: { maxConcurrent: 4 },
    defaults: { provider: 'first', maxAttempts: 1, timeoutMs: 20_000, queueTimeoutMs: 20_000 },
  });
  const observer = new RuntimeObserver(runtime, {
    maxConcurrent: 4,
    fairnessEvery: 8,
    perProvider: {},
    historySize: 1000,
  });
  try {
    const limited = await runtime.submit(ask(`fault:429:retry-after-ms=200:${tag()}`)).result;
    expect(limited.metadata.code).toBe('RATE_LIMITED');
    const probe = await runtime.submit(
      ask(`fault:stall:${tag()}`, fallback ? { fallbacks: [{ provider: 'second', model: 'echo-1' }] } : {}),
      { idleTimeoutMs: 300 },
    ).result;
    // Its call went to `first` after the cooldown and stalled there.
    expect(probe.metadata.route?.[0]?.outcome ?? probe.metadata.code).toBe('TIMED_OUT');
    expect(probe.metadata.state).toBe(fallback ? 'done' : 'timedOut');
    // `first` is open: both calls go at once, neither waits for the other to answer.
    const both = [1, 2].map(() => runtime.submit(ask(`fault:ok:latency=400:${tag()}`)).result);
    const results = await Promise.all(both);
    expect(results.map((r) => r.metadata.state)).toEqual(['done', 'done']);
  } finally {
    await runtime.shutdown({ deadlineMs: 100 });
    observer.unsubscribe();
  }
  return observer.checkEnd([]).map((v) => `${v.invariant}: ${v.detail}`);
}

describe('an observed probe whose whole answer stalls', () => {
  it('opens its provider when the session moves on to its fallback', async () => {
    expect(await probeStalls(true)).toEqual([]);
  });

  it('opens its provider when the session ends timed out', async () => {
    expect(await probeStalls(false)).toEqual([]);
  });
});
