/**
 * Limits in providers' own units as every instance of a cluster sees them, over a real Redis:
 * `status().limits` (remaining requests and tokens in the window, the cooldown) read from the
 * shared state by an instance that ran nothing, with the Prometheus gauges built on it; and a
 * queued session held back by a limit says so while it waits and when it times out, as in memory.
 * Against the local OpenAI-compatible server over real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetricsExporter } from '../../src/observe/metrics.js';
import { createOpenAICompatibleProvider } from '../../src/providers/openai-compatible.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import type { Runtime, RuntimeOptions } from '../../src/runtime/types.js';

type ProviderLimits = NonNullable<NonNullable<RuntimeOptions['limits']>['providers']>[string];

import { redisBackend } from '../../src/scale/redis-backend.js';
import { createOpenAIServer, type OpenAIServer } from '../../src/testing/openai-server.js';
import { type RedisServer, startRedis } from '../support/redis.js';

let redis: RedisServer;
let server: OpenAIServer;
let prefixSeq = 0;
const runtimes: Runtime[] = [];
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  redis = await startRedis();
  server = createOpenAIServer({
    respond: () => ({ content: 'ok', usage: { prompt_tokens: 100, completion_tokens: 50 } }),
  });
  await server.start();
});
afterAll(async () => {
  for (const runtime of runtimes) await runtime.shutdown({ deadlineMs: 100 });
  for (const close of closers) await close();
  await server?.close();
  await redis?.stop();
});

const LIMITS = { requestsPerMinute: 3, tokensPerMinute: 100_000 };

/** Two instances on one prefix: one runs sessions, the other (a front) only submits and reads. */
async function pair(limits: ProviderLimits = LIMITS): Promise<{ worker: Runtime; front: Runtime }> {
  const prefix = `ls${++prefixSeq}`;
  const start = async (work: boolean) => {
    const provider = createOpenAICompatibleProvider({ name: 'local', baseURL: server.baseURL, apiKey: 'k' });
    closers.push(() => provider.close());
    const options: RuntimeOptions = {
      providers: [provider],
      limits: { providers: { local: limits } },
      defaults: { provider: 'local', model: 'fault:ok', maxAttempts: 1 },
      backend: await redisBackend({ url: redis.url, prefix, work }),
    };
    const runtime = createRuntime(options);
    await runtime.ready;
    runtimes.push(runtime);
    return runtime;
  };
  const [worker, front] = await Promise.all([start(true), start(false)]);
  return { worker: worker as Runtime, front: front as Runtime };
}

const ask = (runtime: Runtime, model = 'fault:ok', queueTimeoutMs = 10_000) =>
  runtime.submit({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 50 }, { queueTimeoutMs });

describe('limits in providers units on Redis, as every instance sees them', () => {
  it('status().limits on an instance that ran nothing shows what the window has left', async () => {
    const { worker, front } = await pair();
    await expect.poll(() => front.status().limits?.local?.remaining.requestsPerMinute).toBe(3);
    const results = await Promise.all([ask(worker).result, ask(front).result]);
    expect(results.every((r) => r.ok)).toBe(true);
    // Both ran on the worker; the front reads the shared windows within its refresh. Each call's
    // estimate is reconciled with the 150 tokens it reported, a write that may land after its result
    // (and after a refresh that already saw both requests): polled together.
    await expect
      .poll(() => {
        const remaining = front.status().limits?.local?.remaining;
        return [remaining?.requestsPerMinute, remaining?.tokensPerMinute];
      })
      .toEqual([1, LIMITS.tokensPerMinute - 2 * 150]);
    const left = front.status().limits?.local;
    expect(left?.remaining.tokensPerDay).toBeNull();
    expect(left?.cooldown).toBe('open');
    const text = await createMetricsExporter(front, { kind: 'cluster' }).scrape();
    expect(text).toContain('troupe_limit_remaining{provider="local",unit="requests_per_minute"} 1');
    expect(text).toContain('troupe_provider_cooling_down{provider="local"} 0');
  });

  it('a cooldown started by one instance shows on another, with until when', async () => {
    const { worker, front } = await pair();
    const before = Date.now();
    const limited = await ask(worker, 'fault:429:retry-after=30').result;
    expect(limited.ok === false && limited.error.code).toBe('RATE_LIMITED');
    // The front reads the shared state once a second (LimitsView): poll past one refresh.
    await expect.poll(() => front.status().limits?.local?.cooldown, { timeout: 2500 }).toBe('coolingDown');
    const until = front.status().limits?.local?.cooldownUntil ?? 0;
    expect(until).toBeGreaterThanOrEqual(before + 29_000);
    expect(until).toBeLessThanOrEqual(Date.now() + 31_000);
    const text = await createMetricsExporter(front, { kind: 'cluster' }).scrape();
    expect(text).toContain('troupe_provider_cooling_down{provider="local"} 1');
    // Counted by the instance whose call got the 429, as in memory.
    await expect.poll(() => worker.metrics().limits?.cooldowns).toBe(1);
    expect(worker.metrics().limits?.rateLimited).toBe(1);
    expect(front.metrics().limits?.cooldowns).toBe(0);
  });

  it('a session held back by requestsPerMinute says so while queued and when its queue deadline passes', async () => {
    const { worker, front } = await pair();
    const first = await Promise.all([1, 2, 3].map(() => ask(worker).result));
    expect(first.every((r) => r.ok)).toBe(true);
    // The window is spent: these wait, the queue held by requestsPerMinute for about a minute.
    const held = [ask(front, 'fault:ok', 3000), ask(front, 'fault:ok', 3000)];
    await expect
      .poll(() => held.map((h) => front.session(h.id)?.waitingFor), { timeout: 2500 })
      .toEqual(['requestsPerMinute', 'requestsPerMinute']);
    for (const handle of held) {
      const result = await handle.result;
      expect(result.ok).toBe(false);
      if (result.ok) continue;
      expect(result.error.code).toBe('TIMED_OUT');
      expect(result.error.message).toContain('to start within 3000 ms of queueing');
      expect(result.error.message).toContain("held back by its provider's requestsPerMinute limit");
      expect(result.metadata.waitingFor).toBe('requestsPerMinute');
    }
    expect(server.requests.length).toBeGreaterThanOrEqual(3);
    expect(worker.metrics().limits?.waits.requestsPerMinute).toBeGreaterThanOrEqual(1);
  });

  it("a session held back by a limit of its model names it; the provider's other models go on", async () => {
    const small = 'fault:ok:tag=small';
    const { worker, front } = await pair({ models: { [small]: { requestsPerMinute: 1 } } });
    expect((await ask(worker, small).result).ok).toBe(true);
    const held = ask(front, small, 4000);
    // Only that model's window is spent: a session of another model of the provider still runs.
    await expect.poll(() => worker.metrics().limits?.waits.requestsPerMinute, { timeout: 2000 }).toBe(1);
    expect((await ask(front, 'fault:ok:tag=other', 2000).result).ok).toBe(true);
    // The front, which leased nothing, reads the hold of that configured model once a second.
    await expect.poll(() => front.session(held.id)?.waitingFor, { timeout: 2500 }).toBe('requestsPerMinute');
    const result = await held.result;
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('TIMED_OUT');
    expect(result.error.message).toContain("held back by its provider's requestsPerMinute limit");
    expect(result.metadata.waitingFor).toBe('requestsPerMinute');
  });
});
