/**
 * Fallback hops under the target's limits, over real HTTP: a Kimi test server enforcing tier 0 as
 * Moonshot does (1 concurrent, 3 per minute, 429 past them) takes the sessions that hop to it from a
 * dead GLM; a Kimi cooling down past a queued session's deadline sends it to GLM at once. The
 * runtime and the Kimi server share one fast clock, so a 60 s window passes in 2 s.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/core/clock.js';
import { loadProviders } from '../../../src/providers/config.js';
import { createRuntime } from '../../../src/runtime/runtime.js';
import type { Runtime, SessionRequest } from '../../../src/runtime/types.js';
import { createOpenAIServer, type OpenAIServer } from '../../../src/testing/openai-server.js';
import { fastClock } from '../../support/fast-clock.js';
import { tempDir } from '../../support/temp-dir.js';

const KEY = 'sk-hop-limits-0123456789abcdef';
const closing: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closing.splice(0)) await close();
});

async function rig(clock: Clock, kimiFile: Record<string, unknown>, enforce?: boolean) {
  const kimi: OpenAIServer = createOpenAIServer({
    apiKey: KEY,
    vendor: 'kimi',
    // Tier 0 as the server enforces it; its window is 50 s of the shared clock where the runtime
    // counts 60, so HTTP latency (hundreds of ms at 30x) cannot make them disagree.
    ...(enforce === true
      ? {
          enforce: {
            concurrency: 1,
            requestsPerMinute: 3,
            retryAfter: true,
            windowMs: 50_000,
            now: () => clock.now(),
          },
        }
      : {}),
  });
  const glm: OpenAIServer = createOpenAIServer({ apiKey: KEY, vendor: 'glm' });
  await Promise.all([kimi.start(), glm.start()]);
  closing.push(() => Promise.all([kimi.close(), glm.close()]));
  const dir = tempDir('troupe-hops-');
  const configPath = join(dir, 'providers.json');
  await writeFile(
    configPath,
    JSON.stringify({ kimi: { baseURL: kimi.baseURL, ...kimiFile }, glm: { baseURL: glm.baseURL } }),
  );
  const loaded = await loadProviders({
    env: { MOONSHOT_API_KEY: KEY, GLM_API_KEY: KEY },
    configPath,
  });
  closing.push(() => loaded.close());
  const runtime: Runtime = createRuntime({
    providers: loaded.providers,
    router: loaded.registry.router,
    clock,
    limits: { perProvider: loaded.perProviderLimits, providers: loaded.providerLimits },
    defaults: { queueTimeoutMs: 600_000, timeoutMs: 600_000, maxAttempts: 1 },
  });
  closing.unshift(() => runtime.shutdown({ deadlineMs: 1000 }));
  return { kimi, glm, runtime };
}

const chats = (server: OpenAIServer) => server.requests.filter((r) => r.path.endsWith('/chat/completions'));

/** Kimi answers a 429 asking for 60 s: the provider cools down for a minute. */
async function coolKimi(runtime: Runtime): Promise<void> {
  const limited = await runtime.submit({
    provider: 'kimi',
    model: 'fault:429:retry-after=60',
    messages: [{ role: 'user', content: 'spend the minute' }],
  }).result;
  expect(limited.ok || limited.error.code).toBe('RATE_LIMITED');
}

describe('fallback hops under their target’s limits, over HTTP', () => {
  it('sessions hopping to Kimi tier 0 from a dead GLM: all answered, no 429, never two at once on Kimi', async () => {
    const clock = fastClock(30);
    const { kimi, glm, runtime } = await rig(clock, { tier: 0 }, true);
    // GLM is down (503 to every call); each session's chain goes on to Kimi, which has one slot.
    const ask = (i: number): SessionRequest => ({
      provider: 'glm',
      model: 'fault:503',
      messages: [{ role: 'user', content: `hop ${i}` }],
      fallbacks: [{ provider: 'kimi', model: 'moonshot-v1-8k' }],
    });
    const handles = Array.from({ length: 6 }, (_, i) => runtime.submit(ask(i)));
    // While they wait for Kimi, Kimi's in-flight figure never passes its slot, and every hop
    // counts there, not under GLM.
    let kimiRunningMax = 0;
    let sawWaiting = false;
    const watch = setInterval(() => {
      const kimiRow = runtime.status().providers.find((p) => p.name === 'kimi');
      kimiRunningMax = Math.max(kimiRunningMax, kimiRow?.running ?? 0);
      for (const s of runtime.sessions()) {
        if (s.provider === 'kimi' && s.state === 'running' && s.waitingFor !== undefined) sawWaiting = true;
      }
    }, 5);
    const results = await Promise.all(handles.map((h) => h.result));
    clearInterval(watch);
    expect(results.map((r) => r.ok)).toEqual([true, true, true, true, true, true]);
    for (const r of results) {
      expect(r.metadata.route?.map((h) => [h.provider, h.outcome])).toEqual([
        ['glm', 'PROVIDER_UNAVAILABLE'],
        ['kimi', 'done'],
      ]);
    }
    expect(chats(glm)).toHaveLength(6);
    expect(chats(kimi)).toHaveLength(6);
    expect(kimi.rateLimited).toBe(0);
    expect(kimi.maxInFlight).toBe(1);
    expect(kimiRunningMax).toBe(1);
    expect(sawWaiting).toBe(true);
    // Three a minute: the last three waited at Kimi's gate for the next window.
    const done = results.map((r) => r.metadata.totalMs).sort((a, b) => a - b);
    expect(done[5]).toBeGreaterThanOrEqual(50_000);
    // The wait counts against each session's run time, and the route accounts for it.
    for (const r of results) expect(r.metadata.route?.reduce((t, h) => t + h.ms, 0)).toBe(r.metadata.runMs);
  }, 30_000);

  it('a Kimi cooling down past a queued session’s deadline sends it to GLM at once', async () => {
    const clock = fastClock(1);
    const { kimi, glm, runtime } = await rig(clock, {});
    await coolKimi(runtime);
    const request: SessionRequest = {
      provider: 'kimi',
      model: 'moonshot-v1-8k',
      messages: [{ role: 'user', content: 'in a hurry' }],
      fallbacks: [{ provider: 'glm', model: 'glm-4.6' }],
    };
    // One that may wait the minute does; one whose queue deadline comes first moves on now.
    const patient = runtime.submit(request, { queueTimeoutMs: 120_000 });
    const started = Date.now();
    const hurried = await runtime.submit(request, { queueTimeoutMs: 5_000 }).result;
    // Not after waiting out its 5 s queue deadline.
    expect(Date.now() - started).toBeLessThan(4_500);
    expect(hurried.ok).toBe(true);
    expect(hurried.metadata).toMatchObject({ provider: 'glm', model: 'glm-4.6', state: 'done', attempts: 1 });
    expect(hurried.metadata.route).toEqual([
      { provider: 'kimi', model: 'moonshot-v1-8k', outcome: 'RATE_LIMITED', ms: 0 },
      { provider: 'glm', model: 'glm-4.6', outcome: 'done', ms: hurried.metadata.runMs },
    ]);
    expect(chats(kimi)).toHaveLength(1);
    expect(chats(glm)).toHaveLength(1);
    // The one 429 Kimi answered counts as a provider error; moving on from its cooldown does not.
    expect(runtime.metrics().providerErrors).toEqual({ RATE_LIMITED: 1 });
    expect(runtime.session(patient.id)).toMatchObject({ state: 'queued', waitingFor: 'cooldown' });
    patient.cancel('test over');
  }, 30_000);

  it('a hop into a Kimi cooling down past the run deadline goes on to the target after it at once', async () => {
    const clock = fastClock(1);
    const { kimi, glm, runtime } = await rig(clock, {});
    await coolKimi(runtime);
    // GLM's first model is down: the hop to Kimi meets its cooldown, which outlasts the 5 s run.
    const started = Date.now();
    const moved = await runtime.submit(
      {
        provider: 'glm',
        model: 'fault:503',
        messages: [{ role: 'user', content: 'in a hurry' }],
        fallbacks: [
          { provider: 'kimi', model: 'moonshot-v1-8k' },
          { provider: 'glm', model: 'glm-4.6' },
        ],
      },
      { timeoutMs: 5_000 },
    ).result;
    // Not after waiting out its 5 s run deadline on Kimi.
    expect(Date.now() - started).toBeLessThan(4_500);
    expect(moved.ok).toBe(true);
    expect(moved.metadata).toMatchObject({ provider: 'glm', model: 'glm-4.6', state: 'done', attempts: 2 });
    expect(moved.metadata.route?.map((h) => [h.provider, h.model, h.outcome])).toEqual([
      ['glm', 'fault:503', 'PROVIDER_UNAVAILABLE'],
      ['kimi', 'moonshot-v1-8k', 'RATE_LIMITED'],
      ['glm', 'glm-4.6', 'done'],
    ]);
    expect(moved.metadata.route?.reduce((t, h) => t + h.ms, 0)).toBe(moved.metadata.runMs);
    expect(chats(kimi)).toHaveLength(1);
    expect(chats(glm)).toHaveLength(2);
    // Kimi's 429 and GLM's 503 are provider errors; moving on from the cooldown is not one.
    expect(runtime.metrics().providerErrors).toEqual({ RATE_LIMITED: 1, PROVIDER_UNAVAILABLE: 1 });
  }, 30_000);
});
